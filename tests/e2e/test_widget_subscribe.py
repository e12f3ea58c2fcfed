"""信息定制 from the web widget, in headless Chromium against the running product: the widget's 政策订阅
link opens the subscription page for this conversation; the form subscribes it; the API shows the profile."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.test_web_widget import ask, browser, shot, wait  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.e2e


def test_widget_link_subscribes_this_conversation(stack, browser):  # noqa: F811
    browser.get(stack.base_url + "/")
    ask(browser, "你好")  # the widget saves its state (sender id included) in localStorage from now on
    link = wait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, ".tx-subscribe"))
    sender = json.loads(
        browser.execute_script(
            "for (let i = 0; i < localStorage.length; i++) {"
            "  const v = localStorage.getItem(localStorage.key(i));"
            "  if (v && v.includes('sender')) return v; }"
        )
    )["sender"]
    link.click()
    wait(browser, 10).until(lambda d: len(d.window_handles) == 2)
    browser.switch_to.window(browser.window_handles[1])
    try:
        wait(browser, 20).until(lambda d: d.find_elements(By.ID, "subscribe-form"))
        assert parse_qs(urlsplit(browser.current_url).query)["sender"] == [sender]
        form = browser.find_element(By.ID, "subscribe-form")
        form.find_element(By.CSS_SELECTOR, "input[name=tax_types][value=增值税]").click()
        form.find_element(By.CSS_SELECTOR, "input[name=taxpayer_types][value=小规模纳税人]").click()
        Select(browser.find_element(By.ID, "subscribe-region")).select_by_value("浙江省")
        shot(browser, "subscribe-1-form")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser, 20).until(lambda d: "更新订阅" in d.page_source)
        shot(browser, "subscribe-2-done")
    finally:
        browser.close()
        browser.switch_to.window(browser.window_handles[0])

    mine = httpx.get(stack.base_url + "/api/subscriptions", params={"sender": sender}, timeout=10)
    assert mine.status_code == 200, mine.text
    profile = mine.json()
    assert profile["tax_types"] == ["增值税"]
    assert profile["taxpayer_types"] == ["小规模纳税人"]
    assert profile["region"] == "浙江省"
