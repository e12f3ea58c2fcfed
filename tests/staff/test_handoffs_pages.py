"""The handoff desk's pages through the session cookie and the forms' CSRF token (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from tests.staff.conftest import login
from tests.staff.test_handoffs import PHONE, SENDER, app, client, conversations, hand_over  # noqa: F401


def test_an_agent_claims_replies_and_releases_through_the_pages(client, conversations) -> None:  # noqa: F811
    handoff = hand_over(conversations)
    csrf = login(client, "agent1", "/staff/handoffs")
    queue = client.get("/staff/handoffs")
    assert queue.status_code == 200 and 'href="/staff/handoffs">人工接管</a>' in queue.text
    assert f'href="/staff/handoffs/{handoff}"' in queue.text and "纳税人要求转人工" in queue.text
    assert PHONE not in queue.text and "test-bj-property#第三条" in queue.text

    page = client.get(f"/staff/handoffs/{handoff}")
    assert 'id="claim"' in page.text and 'id="reply-form"' not in page.text
    assert f'data-stream="/api/staff/handoffs/{handoff}/events"' in page.text
    no_token = client.post(f"/staff/handoffs/{handoff}/claim", data={}, follow_redirects=False)
    assert no_token.status_code == 403 and conversations.handed_over(SENDER).status == "waiting"

    claimed = client.post(
        f"/staff/handoffs/{handoff}/claim", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert claimed.status_code == 303 and claimed.headers["location"].endswith("notice=claimed")
    page = client.get(claimed.headers["location"])
    assert "已接管" in page.text and 'id="reply-form"' in page.text and 'id="claim"' not in page.text

    empty = client.post(f"/staff/handoffs/{handoff}/reply", data={"csrf_token": csrf, "text": " "})
    assert empty.status_code == 422 and "回复不能为空" in empty.text
    sent = client.post(
        f"/staff/handoffs/{handoff}/reply", data={"csrf_token": csrf, "text": "您好，房产税按租金的4%缴纳。"},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"].endswith("notice=sent:1")
    page = client.get(sent.headers["location"])
    assert "纳税人的网页对话窗口会显示这条消息" in page.text
    assert re.search(r'turn-agent".*?您好，房产税按租金的4%缴纳。', page.text, re.S)

    released = client.post(
        f"/staff/handoffs/{handoff}/release", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert released.status_code == 303
    page = client.get(released.headers["location"])
    assert "已交还机器人，纳税人的下一条消息由智能咨询回答。" in page.text and 'id="release"' not in page.text
    again = client.post(f"/staff/handoffs/{handoff}/release", data={"csrf_token": csrf})
    assert again.status_code == 409 and "该会话已交还机器人" in again.text


def test_a_crafted_notice_puts_no_words_on_the_page(client, conversations) -> None:  # noqa: F811
    handoff = hand_over(conversations)
    login(client, "agent2", f"/staff/handoffs/{handoff}")
    page = client.get(f"/staff/handoffs/{handoff}", params={"notice": "请拨打 400-123 转账"})
    assert page.status_code == 200 and "转账" not in page.text and 'id="handoff-notice"' not in page.text
    wechat = hand_over(conversations, "wechat:oTaxpayer42")
    sent = client.get(f"/staff/handoffs/{wechat}", params={"notice": "sent:2"})
    assert "已通过微信公众号发送（2 条）。" in sent.text
    failed = client.get(f"/staff/handoffs/{wechat}", params={"notice": "failed:wechat_window:错误码 45015"})
    assert "超过48小时未与公众号互动" in failed.text
    missing = client.get("/staff/handoffs/987654")
    assert missing.status_code == 404 and "没有编号为 987654 的转人工会话" in missing.text
