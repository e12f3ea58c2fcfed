"""The live handoff desk in two real headless Chromiums against the real stack (`taxbot serve`, real Rasa):
a taxpayer asks the widget for 转人工; an agent, logged in to the console in the other browser, sees it
appear in the queue without reloading, claims it and replies; the reply appears in the taxpayer's widget;
the agent hands the conversation back and the taxpayer's next question is answered by the bot again.

Screenshots of every step go to test-artifacts/handoff/.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from taxbot.conversations.gateway import WITH_AGENT
from taxbot.staff.handoffs import BACK_TO_BOT
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Stack
from tests.e2e.test_staff_console import PASSWORD, log_in, staff_cli
from tests.e2e.test_web_widget import (
    UNAVAILABLE,
    SiteHandler,
    ask,
    messages,
    no_errors,
    open_browser,
    replies,
    settled,
    static_site,
    wait,
)

pytestmark = pytest.mark.e2e

ARTIFACTS = REPO_ROOT / "test-artifacts" / "handoff"
AGENT = "desk-agent"
REPLY = "您好，我是人工坐席。个人出租住房的房产税，北京市按租金收入的4%计征。"
QUESTION = "小规模纳税人增值税征收率是多少"


@pytest.fixture(scope="module")
def agent_browser(stack: Stack, tmp_path_factory) -> Iterator[WebDriver]:
    staff_cli(stack, "add-user", AGENT, "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    driver = open_browser(tmp_path_factory.mktemp("chromium-agent"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def taxpayer_browser(tmp_path_factory) -> Iterator[WebDriver]:
    driver = open_browser(tmp_path_factory.mktemp("chromium-taxpayer"))
    yield driver
    driver.quit()


QUEUE_ROWS = "#handoff-queue tr[data-id]"


def settle(driver: WebDriver, find: Callable[[WebDriver], Any], timeout: float = 20) -> Any:
    """``find(driver)`` until it gives something truthy; the console re-renders its lists as events arrive
    and forms reload the page, so an element that went stale meanwhile is simply looked up again."""
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=ignored).until(find)


def notice_says(text: str) -> Callable[[WebDriver], bool]:
    return lambda d: text in d.find_element(By.ID, "handoff-notice").text


def shot(driver: WebDriver, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{step}.png"))


def test_agent_takes_over_a_widget_conversation_and_hands_it_back(
    stack: Stack, agent_browser: WebDriver, taxpayer_browser: WebDriver
) -> None:
    agent, taxpayer = agent_browser, taxpayer_browser
    log_in(agent, stack.base_url, AGENT)
    agent.find_element(By.LINK_TEXT, "人工接管").click()
    wait(agent, 20).until(ec.presence_of_element_located((By.ID, "handoff-queue")))
    agent.execute_script("window.__samePage = true;")  # gone if the page reloads
    # the stack is shared with other e2e tests: their handoffs may be waiting too
    earlier = {r.get_attribute("data-id") for r in agent.find_elements(By.CSS_SELECTOR, QUEUE_ROWS)}
    shot(agent, "1-agent-queue")

    taxpayer.get(stack.base_url + "/")
    before = replies(taxpayer)
    taxpayer.find_element(By.CSS_SELECTOR, ".tx-human").click()
    wait(taxpayer).until(lambda d: settled(d, before))
    assert "转接人工坐席" in messages(taxpayer)[-1].text
    no_errors(taxpayer)
    shot(taxpayer, "2-taxpayer-asks-for-human")

    # the new handoff appears in the agent's queue by itself
    row_id, row_text = settle(
        agent,
        lambda d: next(
            (
                (r.get_attribute("data-id"), r.text)
                for r in d.find_elements(By.CSS_SELECTOR, QUEUE_ROWS)
                if r.get_attribute("data-id") not in earlier
            ),
            False,
        ),
    )
    assert "网页" in row_text and "纳税人要求转人工" in row_text and "等待接管" in row_text
    assert agent.execute_script("return window.__samePage === true"), "the queue page was reloaded"
    shot(agent, "3-agent-queue-live")

    settle(
        agent, lambda d: d.find_element(By.CSS_SELECTOR, f'{QUEUE_ROWS}[data-id="{row_id}"] a').click() or 1
    )
    wait(agent, 20).until(ec.element_to_be_clickable((By.ID, "claim"))).click()
    box = wait(agent, 20).until(ec.presence_of_element_located((By.ID, "reply-text")))
    settle(agent, notice_says("已接管"))
    box.send_keys(REPLY)
    agent.find_element(By.ID, "send-reply").click()
    settle(agent, notice_says("网页对话窗口会显示这条消息"))  # the page after the form's redirect
    shot(agent, "4-agent-replied")

    # the reply reaches the taxpayer's widget, as 人工坐席
    entry = wait(taxpayer, 30).until(
        lambda d: next(
            (m for m in d.find_elements(By.CSS_SELECTOR, ".tx-msg-agent") if REPLY in m.text), None
        )
    )
    assert "人工坐席" in entry.text
    shot(taxpayer, "5-taxpayer-sees-agent")
    before = replies(taxpayer)
    ask(taxpayer, "好的，谢谢")  # while the agent has it, the bot stays silent
    assert WITH_AGENT in messages(taxpayer)[-1].text
    transcript = settle(
        agent,
        lambda d: next(
            (t.text for t in d.find_elements(By.CSS_SELECTOR, "#transcript .turn") if "好的，谢谢" in t.text),
            None,
        ),
    )
    assert "纳税人" in transcript

    # back to the bot: the taxpayer is told, and the next question gets the bot's answer
    agent.find_element(By.ID, "release").click()
    agent.switch_to.alert.accept()
    settle(agent, notice_says("已交还机器人"))
    shot(agent, "6-agent-released")
    wait(taxpayer, 30).until(lambda d: any(BACK_TO_BOT in m.text for m in messages(d)))
    ask(taxpayer, QUESTION)
    answer = messages(taxpayer)[-1]
    assert WITH_AGENT not in answer.text and "人工坐席" not in answer.text
    assert answer.find_elements(By.CSS_SELECTOR, ".tx-cite"), answer.text
    no_errors(taxpayer)
    shot(taxpayer, "7-taxpayer-bot-again")

    # the conversation, agent reply included, survives a reload of the taxpayer's page
    taxpayer.refresh()
    wait(taxpayer, 20).until(
        lambda d: any(REPLY in m.text for m in d.find_elements(By.CSS_SELECTOR, ".tx-msg-agent"))
    )
    assert replies(taxpayer) >= before


def test_a_failed_send_offers_retry_with_the_same_text(taxpayer_browser: WebDriver, tmp_path) -> None:
    """The real widget against a fake chat API that answers 503: 重试 sends the same text again."""
    browser = taxpayer_browser
    for name in ("widget.js", "widget.css"):
        shutil.copy(REPO_ROOT / "channels" / "static" / name, tmp_path / name)
    (tmp_path / "embed.html").write_text(
        '<!doctype html><body><div id="chat"></div>'
        '<script src="/widget.js" data-mount="#chat" defer></script>',
        encoding="utf-8",
    )
    SiteHandler.received.clear()
    with static_site(tmp_path) as site:
        browser.get(site + "/embed.html")
        ask(browser, "服务不可用")
        error = messages(browser, "error")[-1]
        assert error.text == UNAVAILABLE
        retry = browser.find_element(By.CSS_SELECTOR, ".tx-retry")
        assert retry.text == "重试"
        shot(browser, "8-retry-offered")
        before = replies(browser)
        retry.click()
        wait(browser).until(lambda d: len(SiteHandler.received) == 2 and settled(d, before - 1))
        assert SiteHandler.received == ["服务不可用", "服务不可用"]  # the same text, sent again
        assert len(messages(browser, "user")) == 1  # shown once, not typed again
        assert len(messages(browser, "error")) == 1  # the old error replaced by the new attempt's
        ask(browser, "空消息")  # a refusal of the text itself (422) is not worth retrying
        assert not messages(browser, "error")[-1].find_elements(By.XPATH, "following-sibling::*")
        assert len(browser.find_elements(By.CSS_SELECTOR, ".tx-retry")) == 1
