"""The staff console in a real headless Chromium against the real stack (`taxbot serve`): accounts made with
the CLI, an agent logs in, searches with a filter and drafts an FAQ entry (citation picked from the search),
a reviewer approves it, and the bot answers a taxpayer with it through `POST /api/chat` — no restart.

Screenshots of every step go to test-artifacts/staff/.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Stack, clean_env
from tests.e2e.test_web_widget import open_browser

pytestmark = pytest.mark.e2e

ARTIFACTS = REPO_ROOT / "test-artifacts" / "staff"
PASSWORD = "e2e-staff-password"
QUESTION = "远洋捕捞渔船的车船税减免需要到哪里备案？"
MARKER = "坐席知识库测试答案"
ANSWER = f"远洋捕捞渔船享受车船税减免，应向渔船登记地主管税务机关报送相关资料备案（{MARKER}）。"


def staff_cli(stack: Stack, *args: str, stdin: str = "") -> str:
    """`taxbot staff ...` against the stack's workspace (the same database the running app uses)."""
    done = subprocess.run(
        [sys.executable, "-m", "taxbot.cli_staff", *args], cwd=REPO_ROOT, input=stdin, capture_output=True,
        text=True, timeout=120, env=clean_env(TAXBOT_DATA_DIR=str(stack.data_dir)),
    )  # fmt: skip
    assert done.returncode == 0, f"`taxbot staff {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> Stack:
    if httpx.get(f"{stack.base_url}/staff/login", timeout=10).status_code != 200:
        pytest.fail("the staff console is not mounted: include taxbot.routes.staff.router in taxbot/app.py")
    for name, role in (("e2e-agent", "agent"), ("e2e-reviewer", "reviewer")):
        staff_cli(stack, "add-user", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    listing = staff_cli(stack, "list-users")
    assert "e2e-agent" in listing and "e2e-reviewer" in listing
    return stack


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    driver = open_browser(tmp_path_factory.mktemp("chromium-staff"))
    yield driver
    driver.quit()


def shot(driver: WebDriver, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{step}.png"))


def wait(driver: WebDriver, seconds: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def log_in(driver: WebDriver, base: str, username: str) -> None:
    driver.get(f"{base}/staff/search")  # anonymous: sent to the login form
    wait(driver).until(ec.url_contains("/staff/login"))
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    shot(driver, f"login-{username}")
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "who"), username))


def log_out(driver: WebDriver) -> None:
    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait(driver).until(ec.url_contains("/staff/login"))


def ask_bot(stack: Stack, message: str) -> str:
    response = httpx.post(
        f"{stack.base_url}/api/chat",
        json={"sender": f"e2e-staff-{time.time_ns()}", "message": message},
        timeout=90,
    )
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text", "") for m in response.json())


def test_wrong_password_is_refused(accounts: Stack, browser: WebDriver) -> None:
    browser.get(f"{accounts.base_url}/staff/login")
    browser.find_element(By.ID, "username").send_keys("e2e-agent")
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    error = wait(browser).until(ec.visibility_of_element_located((By.ID, "login-error")))
    assert "用户名或密码错误" in error.text
    shot(browser, "login-refused")


def test_agent_drafts_reviewer_approves_bot_answers(accounts: Stack, browser: WebDriver) -> None:
    base = accounts.base_url
    assert MARKER not in ask_bot(accounts, QUESTION)  # not known before

    log_in(browser, base, "e2e-agent")
    box = browser.find_element(By.ID, "q")
    box.send_keys("车船税减免")
    Select(browser.find_element(By.ID, "doc_type")).select_by_visible_text("法律")
    browser.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#hits li")))
    assert "doc_type=%E6%B3%95%E5%BE%8B" in browser.current_url
    hits = browser.find_elements(By.CSS_SELECTOR, "#hits li.hit.article")
    assert hits, browser.page_source[-2000:]
    assert all("法律" in h.find_element(By.CSS_SELECTOR, ".meta").text for h in hits)
    shot(browser, "search-filtered")
    hits[0].find_element(By.CSS_SELECTOR, "button.copy").click()
    wait(browser).until(lambda d: hits[0].find_element(By.CSS_SELECTOR, "button.copy").text == "已复制")

    browser.get(f"{base}/staff/faqs/new")
    browser.find_element(By.ID, "question").send_keys(QUESTION)
    browser.find_element(By.ID, "similar_questions").send_keys("远洋渔船车船税减免在哪备案")
    browser.find_element(By.ID, "answer").send_keys(ANSWER)
    browser.find_element(By.ID, "picker-q").send_keys("车船税 免征")
    browser.find_element(By.ID, "picker-go").click()
    cite = wait(browser).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#picker-results button")))
    cite.click()
    citation = browser.find_element(By.ID, "citations").get_attribute("value")
    assert "#第" in citation, citation
    browser.find_element(By.ID, "faq-tax-types").send_keys("车船税")
    shot(browser, "faq-draft-form")
    browser.find_element(By.ID, "save-draft").click()
    status = wait(browser).until(ec.visibility_of_element_located((By.ID, "faq-status")))
    assert "草稿" in status.text
    assert not browser.find_elements(By.ID, "approve")  # agents cannot publish
    faq_url = browser.current_url
    shot(browser, "faq-draft-saved")
    assert MARKER not in ask_bot(accounts, QUESTION)  # a draft is not an answer
    log_out(browser)

    log_in(browser, base, "e2e-reviewer")
    browser.get(f"{base}/staff/faqs")
    browser.find_element(By.LINK_TEXT, QUESTION).click()
    wait(browser).until(ec.url_to_be(faq_url))
    shot(browser, "faq-review")
    browser.find_element(By.ID, "approve").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "faq-status"), "已发布"))
    shot(browser, "faq-published")

    deadline = time.monotonic() + 10
    answer = ask_bot(accounts, QUESTION)
    while MARKER not in answer and time.monotonic() < deadline:
        time.sleep(1)
        answer = ask_bot(accounts, QUESTION)
    assert MARKER in answer, answer
    assert "依据：《" in answer
    log_out(browser)
