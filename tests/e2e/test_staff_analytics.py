"""数据分析 and 账号管理 in a real headless Chromium: the app runs in-process under uvicorn on a free port
against a temporary SQLite database (no Rasa needed: conversations are written with the real store).

An admin opens the analytics page (Chart.js must have drawn the charts with the expected labels), fetches
a CSV, creates a user on the users page, and that user logs in. Screenshots go to test-artifacts/staff/.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from knowledge_base.store import open_store
from taxbot.app import create_app
from taxbot.conversations import ConversationStore, TurnSummary
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.staff.accounts import Role, StaffStore
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS, TinyRetriever
from tests.e2e.conftest import free_port
from tests.e2e.test_staff_console import log_in, log_out, shot, wait
from tests.e2e.test_web_widget import open_browser

pytestmark = pytest.mark.e2e

PASSWORD = "e2e-staff-password"  # what log_in types
QUESTION = "个税起征点是多少？"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on 127.0.0.1:<free port>, with an admin and a few recorded conversations."""
    data = tmp_path_factory.mktemp("analytics-e2e")
    url = f"sqlite:///{data / 'taxbot.sqlite3'}"
    store = open_store(url)
    store.upsert_documents(TEST_DOCUMENTS)
    for faq in TEST_FAQS:
        store.upsert_faq(faq)
    StaffStore(store.engine).add_user("e2e-admin", PASSWORD, Role.ADMIN)
    log = ConversationStore(store.engine)
    for n, (text, kind) in enumerate(
        [(QUESTION, "faq"), ("个税起征点多少", "faq"), ("印花税怎么交", "none")]
    ):
        sources = ("faq:faq-test-iit-threshold",) if kind == "faq" else ()
        log.record_exchange(f"wechat:oE2E{n}", text, TurnSummary("答复", answer_kind=kind, sources=sources))
    settings = Settings(data_dir=data, database_url=url, rasa_url="http://127.0.0.1:9", rasa_timeout=1.0)
    app = create_app(
        settings, Services(settings=settings, retriever=TinyRetriever(TEST_DOCUMENTS), store=store)
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start under uvicorn")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = open_browser(Path(tmp_path_factory.mktemp("chromium-analytics")))
    yield driver
    driver.quit()


CHART_LABELS = (
    "var c = Chart.getChart(document.getElementById(arguments[0])); return c ? c.data.labels : null;"
)
FETCH_CSV = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: "same-origin"}).then(async (r) => {
  const bytes = new Uint8Array(await r.arrayBuffer());
  done({status: r.status, type: r.headers.get("content-type"), head: Array.from(bytes.slice(0, 3)),
        text: new TextDecoder("utf-8").decode(bytes)});
}).catch((e) => done({error: String(e)}));
"""


def test_admin_reads_charts_exports_csv_and_adds_a_user(console: str, browser: WebDriver) -> None:
    log_in(browser, console, "e2e-admin")
    browser.find_element(By.LINK_TEXT, "数据分析").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "chart-rates")))
    wait(browser).until(lambda d: d.execute_script(CHART_LABELS, "chart-hot"))
    weeks = browser.execute_script(CHART_LABELS, "chart-rates")
    assert len(weeks) == 8 and all(len(w) == 10 and w[4] == "-" for w in weeks)  # 8 Mondays, ISO dates
    assert browser.execute_script(CHART_LABELS, "chart-hot")[:2] == [QUESTION, "印花税怎么交"]
    assert browser.execute_script(CHART_LABELS, "chart-satisfaction") == weeks
    rates = browser.execute_script("return Chart.getChart('chart-rates').data.datasets[0].data.at(-1);")
    assert rates == pytest.approx(66.7)  # 2 of 3 questions answered this week
    assert (
        "oE2E" not in browser.page_source
        and "印花税怎么交" in browser.find_element(By.ID, "table-unanswered").text
    )
    shot(browser, "analytics")

    href = browser.find_element(By.ID, "table-unanswered-csv").get_attribute("href")
    got = browser.execute_async_script(FETCH_CSV, href)
    assert got["status"] == 200 and got["type"] == "text/csv; charset=utf-8", got
    assert got["head"] == [0xEF, 0xBB, 0xBF] and "印花税怎么交" in got["text"] and "oE2E" not in got["text"]

    browser.find_element(By.LINK_TEXT, "账号管理").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "new-user-form")))
    browser.find_element(By.ID, "new-username").send_keys("e2e-reviewer2")
    Select(browser.find_element(By.ID, "new-role")).select_by_value("reviewer")
    browser.find_element(By.ID, "new-password").send_keys("weakpass12")
    browser.find_element(By.CSS_SELECTOR, "#new-user-form button[type=submit]").click()
    error = wait(browser).until(ec.visibility_of_element_located((By.ID, "users-error")))
    assert "密码" in error.text
    shot(browser, "users-weak-password")
    browser.find_element(By.ID, "new-password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#new-user-form button[type=submit]").click()
    notice = wait(browser).until(ec.visibility_of_element_located((By.ID, "users-notice")))
    assert "已创建用户 e2e-reviewer2" in notice.text
    assert "审核员" in browser.find_element(By.ID, "user-e2e-reviewer2").text
    shot(browser, "users-created")
    log_out(browser)

    log_in(browser, console, "e2e-reviewer2")
    assert "审核员" in browser.find_element(By.ID, "who").text
    browser.get(f"{console}/staff/analytics")
    wait(browser).until(lambda d: d.execute_script(CHART_LABELS, "chart-rates"))
    assert not browser.find_elements(By.LINK_TEXT, "账号管理")  # admins only
    shot(browser, "analytics-reviewer")
