"""The web channel in a real headless Chromium: the home page and the embedded widget against the real stack
(Rasa + app), and the widget's rendering of buttons, errors and hostile text against a fake chat API.

Screenshots of every step go to test-artifacts/web/.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"
QUESTION = "小规模纳税人增值税征收率是多少"
ANSWER_SECONDS = 90


def open_browser(profile: Path, *, mobile: bool = False) -> WebDriver:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium missing: apt-get install -y chromium chromium-driver (done by `make test`)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", "--window-size=1280,900", "--lang=zh-CN",
    ):  # fmt: skip
        options.add_argument(arg)
    if mobile:
        options.add_experimental_option(
            "mobileEmulation",
            {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "touch": True}},
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    driver = open_browser(tmp_path_factory.mktemp("chromium-desktop"))
    yield driver
    driver.quit()


def shot(driver: WebDriver, step: str) -> None:
    """A PNG of the viewport: test-artifacts/web/<test>-<step>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split(" ")[0]
    driver.save_screenshot(str(ARTIFACTS / f"{test}-{step}.png"))


HOSTILE = "<img src=x onerror=alert(1)>"
UNAVAILABLE = "智能咨询暂时不可用，请稍后再试或拨打12366纳税缴费服务热线。"
OLD_RULE = {
    "doc_id": "old<1>", "title": "某市<旧>规定", "doc_number": "京税发〔2019〕1号", "article": "第一条",
    "region": "北京市", "status": "已废止", "effective": "2019-01-01", "applicability": "local",
}  # fmt: skip
BUTTONS = [
    {"title": "小规模纳税人", "payload": '/choose_type{"type":"small"}'},
    {"title": "一般纳税人", "payload": '/choose_type{"type":"general"}'},
]


def canned(message: str, sender: str) -> tuple[int, object]:
    """A fake bot core's answer to ``message``, as `POST /api/chat` gives it (Rasa REST JSON or an error)."""
    custom = {"citations": [OLD_RULE], "answer_kind": "article"}
    answers: dict[str, tuple[int, object]] = {
        "服务不可用": (503, {"detail": UNAVAILABLE}),
        "空消息": (422, {"detail": "消息不能为空：请输入您要咨询的问题。"}),
        "我要选类型": (200, [{"recipient_id": sender, "text": "请选择纳税人类型：", "buttons": BUTTONS}]),
        HOSTILE: (
            200,
            [{"recipient_id": sender, "text": HOSTILE}, {"recipient_id": sender, "custom": custom}],
        ),
    }
    return answers.get(message, (200, [{"recipient_id": sender, "text": "收到。"}]))


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files of a site folder; `POST /api/chat` answered by ``canned`` (kept in ``received``)."""

    received: ClassVar[list[str]] = []
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        **{
            ext: f"{kind}; charset=utf-8"
            for ext, kind in [(".js", "text/javascript"), (".css", "text/css"), (".html", "text/html")]
        },
    }

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(body["message"])
        status, reply = canned(body["message"], body["sender"])
        data = json.dumps(reply, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """``directory`` served on its own port (another origin than the app); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SiteHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def wait(driver: WebDriver, timeout: float = ANSWER_SECONDS) -> WebDriverWait:
    return WebDriverWait(driver, timeout, poll_frequency=0.2)


def messages(driver: WebDriver, kind: str = "bot") -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f".tx-msg-{kind}")


def replies(driver: WebDriver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, ".tx-msg-bot, .tx-msg-note, .tx-msg-error"))


def settled(driver: WebDriver, before: int) -> bool:
    """A new reply arrived and nothing is pending any more."""
    typing = driver.find_element(By.CSS_SELECTOR, ".tx-typing")
    return replies(driver) > before and not typing.is_displayed()


def watch_typing(driver: WebDriver) -> None:
    driver.execute_script(
        "window.__typingSeen = false; const t = document.querySelector('.tx-typing');"
        "new MutationObserver(() => { if (!t.hidden) window.__typingSeen = true; })"
        ".observe(t, {attributes: true});"
    )


def ask(driver: WebDriver, text: str) -> None:
    before = replies(driver)
    watch_typing(driver)
    box = driver.find_element(By.CSS_SELECTOR, ".tx-input")
    box.send_keys(text, Keys.ENTER)
    wait(driver).until(lambda d: settled(d, before))
    assert driver.execute_script("return window.__typingSeen"), "no typing indicator while waiting"
    assert box.get_attribute("value") == ""


def no_errors(driver: WebDriver) -> None:
    errors = [e.text for e in messages(driver, "error")]
    assert not errors, errors


def console_has(driver: WebDriver, text: str) -> bool:
    return any(text in entry.get("message", "") for entry in driver.get_log("browser"))


def test_taxpayer_asks_reads_the_regulation_gives_feedback_and_comes_back(stack, browser):
    browser.get(stack.base_url + "/")
    assert browser.title == "12366 智能咨询"
    assert browser.find_element(By.TAG_NAME, "h1").text == "12366 智能咨询"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".tx-chip")) >= 3
    wait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".tx-select optgroup"))
    shot(browser, "1-home")

    ask(browser, QUESTION)
    assert messages(browser, "user")[-1].text.endswith(QUESTION)
    answer = messages(browser)[-1]
    cards = answer.find_elements(By.CSS_SELECTOR, ".tx-cite")
    assert cards, answer.text
    assert "依据：《" in answer.text
    first = cards[0]
    assert "全国" in first.text or "地方" in first.text
    assert "有效" in first.text
    href = first.get_attribute("href")
    assert href.startswith(stack.base_url + "/documents/") and "?article=" in href
    assert first.get_attribute("target") == "_blank"
    no_errors(browser)
    shot(browser, "2-answer")

    # the citation opens the regulation in a new tab, the cited article highlighted and in view
    chat_tab = browser.current_window_handle
    first.click()
    wait(browser, 10).until(lambda d: len(d.window_handles) == 2)
    browser.switch_to.window(next(h for h in browser.window_handles if h != chat_tab))
    article = unquote(parse_qs(urlsplit(href).query)["article"][0])
    current = wait(browser, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, ".tx-article-current"))
    assert current.find_element(By.TAG_NAME, "h3").text == article
    in_view = "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight;"
    assert browser.execute_script(in_view, current)
    assert browser.execute_script("return document.activeElement === arguments[0]", current)
    shot(browser, "3-document")
    browser.close()
    browser.switch_to.window(chat_tab)

    # a bot button, if the bot offers one
    choices = [b for b in browser.find_elements(By.CSS_SELECTOR, ".tx-choice") if b.is_enabled()]
    if choices:
        before, title = replies(browser), choices[-1].text
        choices[-1].click()
        wait(browser).until(lambda d: settled(d, before))
        assert messages(browser, "user")[-1].text.endswith(title)
        shot(browser, "4-button")

    # 有用: the choice is shown; the bot's reply (whatever it is) is not an error
    before = replies(browser)
    # found again: choosing a button re-renders the message list, so `answer` may be a stale node
    useful = browser.find_element(By.CSS_SELECTOR, ".tx-msg-bot .tx-fb-positive")
    useful.click()
    wait(browser, 30).until(lambda d: not d.find_element(By.CSS_SELECTOR, ".tx-typing").is_displayed())
    wait(browser, 5).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".tx-fb-positive").get_attribute("aria-pressed") == "true"
    )
    assert replies(browser) >= before
    no_errors(browser)
    shot(browser, "5-feedback")

    # the conversation survives a reload
    browser.refresh()
    wait(browser, 10).until(lambda d: messages(d, "user"))
    assert any(m.text.endswith(QUESTION) for m in messages(browser, "user"))
    assert browser.find_elements(By.CSS_SELECTOR, ".tx-msg-bot .tx-cite")
    assert browser.find_element(By.CSS_SELECTOR, ".tx-fb-positive").get_attribute("aria-pressed") == "true"
    shot(browser, "6-reloaded")

    # 转人工 sends a message and a reply arrives
    before = replies(browser)
    browser.find_element(By.CSS_SELECTOR, ".tx-human").click()
    wait(browser).until(lambda d: settled(d, before))
    assert messages(browser, "user")[-1].text.endswith("转人工")
    no_errors(browser)
    shot(browser, "7-human")

    # the API's refusal is shown as an error bubble with its detail
    box = browser.find_element(By.CSS_SELECTOR, ".tx-input")
    browser.execute_script("arguments[0].value = '税'.repeat(2100)", box)
    before = replies(browser)
    box.send_keys(Keys.ENTER)
    wait(browser).until(lambda d: settled(d, before))
    error = messages(browser, "error")[-1]
    assert "消息过长" in error.text and error.get_attribute("role") == "alert"
    shot(browser, "8-error")
    assert not console_has(browser, QUESTION), "the page logged the taxpayer's message"


def test_mobile_home_page_fits_390px_and_hot_questions_ask(stack, tmp_path):
    driver = open_browser(tmp_path / "profile", mobile=True)
    try:
        driver.get(stack.base_url + "/")
        assert driver.execute_script("return innerWidth") == 390
        shot(driver, "1-home")
        chip = driver.find_elements(By.CSS_SELECTOR, ".tx-chip")[1]
        question, before = chip.text, replies(driver)
        chip.click()
        wait(driver).until(lambda d: settled(d, before))
        assert messages(driver, "user")[-1].text.endswith(question)
        no_errors(driver)
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        driver.execute_script(
            "arguments[0].scrollIntoView()", driver.find_element(By.CSS_SELECTOR, ".tx-panel")
        )
        shot(driver, "2-answer")
    finally:
        driver.quit()


def test_widget_embedded_in_another_site_chats_across_origins(stack, browser, tmp_path):
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>某市税务局</title></head>'
        "<body><h1>某市税务局网站</h1><p>政务公开 · 办税服务</p>"
        f'<script src="{stack.base_url}/widget.js" data-api="{stack.base_url}" '
        'data-title="某市税务局 智能咨询" data-region="北京市" defer></script></body></html>'
    )
    (tmp_path / "index.html").write_text(page, encoding="utf-8")
    with static_site(tmp_path) as site:
        browser.get(site + "/index.html")
        launcher = wait(browser, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, ".tx-launcher"))
        assert launcher.get_attribute("aria-expanded") == "false"
        shot(browser, "1-launcher")
        launcher.click()
        panel = browser.find_element(By.CSS_SELECTOR, ".tx-panel")
        assert panel.is_displayed() and launcher.get_attribute("aria-expanded") == "true"
        assert panel.find_element(By.CSS_SELECTOR, ".tx-title").text == "某市税务局 智能咨询"
        assert browser.switch_to.active_element == browser.find_element(By.CSS_SELECTOR, ".tx-input")
        wait(browser, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".tx-select").get_attribute("value") == "北京市"
        )
        ask(browser, QUESTION)
        no_errors(browser)
        assert browser.find_elements(By.CSS_SELECTOR, ".tx-msg-bot .tx-cite")
        shot(browser, "2-answer")
        browser.find_element(By.CSS_SELECTOR, ".tx-input").send_keys(Keys.ESCAPE)
        assert not panel.is_displayed()
        assert browser.switch_to.active_element == launcher


def test_widget_renders_buttons_errors_and_hostile_text(browser, tmp_path):
    """The real widget against a fake chat API on the page's own origin."""
    for name in ("widget.js", "widget.css"):
        shutil.copy(REPO_ROOT / "channels" / "static" / name, tmp_path / name)
    (tmp_path / "api").mkdir()
    regions = {"national": "全国", "groups": [{"label": "计划单列市", "regions": ["深圳市", "厦门市"]}]}
    (tmp_path / "api" / "regions").write_text(json.dumps(regions, ensure_ascii=False), encoding="utf-8")
    page = '<!doctype html><body><script src="/widget.js" data-region="厦门市" defer></script></body>'
    (tmp_path / "embed.html").write_text(page, encoding="utf-8")
    SiteHandler.received.clear()
    with static_site(tmp_path) as site:
        browser.get(site + "/embed.html")
        browser.find_element(By.CSS_SELECTOR, ".tx-launcher").click()
        ask(browser, "我要选类型")
        assert SiteHandler.received == [
            '/inform_region{"region":"厦门市"}',
            "我要选类型",
        ]  # data-region told first
        buttons = messages(browser)[-1].find_elements(By.CSS_SELECTOR, ".tx-choice")
        assert [b.text for b in buttons] == ["小规模纳税人", "一般纳税人"]
        before = replies(browser)
        buttons[0].click()
        wait(browser).until(lambda d: settled(d, before))
        assert SiteHandler.received[-1] == '/choose_type{"type":"small"}'
        assert messages(browser, "user")[-1].text.endswith("小规模纳税人")
        chosen = browser.find_elements(By.CSS_SELECTOR, ".tx-choice")  # re-rendered as chosen
        assert [b.get_attribute("aria-pressed") for b in chosen] == ["true", "false"]
        assert not any(b.is_enabled() for b in chosen)
        shot(browser, "1-buttons")

        ask(browser, HOSTILE)
        hostile = messages(browser)[-1]
        assert HOSTILE in hostile.text
        assert not hostile.find_elements(By.TAG_NAME, "img")
        local = hostile.find_element(By.CSS_SELECTOR, ".tx-cite")
        assert "地方：北京市" in local.text and "已废止" in local.text
        assert local.find_element(By.CSS_SELECTOR, ".tx-tag-warn").text == "已废止"

        ask(browser, "服务不可用")
        assert messages(browser, "error")[-1].text == UNAVAILABLE
        ask(browser, "空消息")
        assert "消息不能为空" in messages(browser, "error")[-1].text

        region = browser.find_element(By.CSS_SELECTOR, ".tx-select")
        wait(browser, 10).until(lambda d: region.find_elements(By.CSS_SELECTOR, "option[value='深圳市']"))
        before = replies(browser)
        Select(region).select_by_value("深圳市")
        wait(browser).until(lambda d: settled(d, before))
        assert json.loads(SiteHandler.received[-1].removeprefix("/inform_region")) == {"region": "深圳市"}
        shot(browser, "2-errors")
        browser.refresh()
        wait(browser, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".tx-select").get_attribute("value") == "深圳市"
        )
        browser.find_element(By.CSS_SELECTOR, ".tx-launcher").click()
        assert any("小规模纳税人" in m.text for m in messages(browser, "user"))
        shot(browser, "3-reloaded")
        assert not console_has(browser, "我要选类型")
