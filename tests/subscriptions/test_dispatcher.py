"""The push dispatcher with the real knowledge store and FAQ workflow, on SQLite and PostgreSQL: a matching
publication is pushed exactly once to the matching subscribers and to no one else, across restarts and
replicas; withdrawn, repealed and draft items never; the daily limit holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from fastapi.testclient import TestClient

from knowledge_base.models import DocStatus
from taxbot.subscriptions.config import SubscriptionSettings
from taxbot.subscriptions.store import CHANGES, cursors
from tests.channels.fakes import wait_until
from tests.conftest import TEST_DOCUMENTS
from tests.subscriptions.conftest import (
    publish_faq,
    pushed_to,
    run_round,
    run_rounds_together,
    subscribe_web,
)

VAT_SMALL_BJ, IIT, SHANGHAI, ANY = "web-vat-small-bj", "web-iit", "web-shanghai", "web-anything"
QUESTION = "小规模纳税人增值税按季申报有什么新规定？"


def subscribe_four(client: TestClient) -> None:
    subscribe_web(client, VAT_SMALL_BJ, tax_types=["增值税"], taxpayer_types=["小规模纳税人"], region="北京")
    subscribe_web(client, IIT, tax_types=["个人所得税"])
    subscribe_web(client, SHANGHAI, region="上海")
    subscribe_web(client, ANY)


def test_a_published_faq_reaches_matching_subscribers_once(client, agent, reviewer) -> None:
    subscribe_four(client)
    draft = client.post("/api/staff/faqs", headers=agent, json={"question": QUESTION, "answer": "草稿答复。"})
    assert draft.status_code == 201
    assert run_round(client) == 0  # a draft is not published
    question = "一般纳税人增值税留抵退税怎么办？"
    faq_id = publish_faq(client, agent, reviewer, question=question, tax_types=["增值税"])
    assert run_round(client) == 2  # not the 小规模 subscriber (the item names 一般纳税人), not the 个税 one
    notice = f"【政策订阅】新发布问答：《{question}》。如需了解详情，请直接提问。回复“取消订阅”停止接收。"
    assert pushed_to(client, SHANGHAI) == [notice] and pushed_to(client, ANY) == [notice]
    assert pushed_to(client, VAT_SMALL_BJ) == [] and pushed_to(client, IIT) == []
    publish_faq(client, agent, reviewer, question=QUESTION, tax_types=["增值税"])
    assert run_round(client) == 3
    assert len(pushed_to(client, VAT_SMALL_BJ)) == 1 and pushed_to(client, IIT) == []
    assert run_round(client) == 0  # nothing new
    log = client.get("/api/staff/subscriptions", headers=agent).json()["pushes"]
    assert len(log) == 5 and {p["status"] for p in log} == {"delivered"}
    assert any(p["key"] == faq_id for p in log)


def test_restarts_and_replicas_never_push_twice_nor_skip(make_app, store, client, agent, reviewer) -> None:
    start = client.app.state.subscriptions.cursor()
    subscribe_web(client, ANY)
    subscribe_web(client, VAT_SMALL_BJ, tax_types=["增值税"])
    publish_faq(client, agent, reviewer, question="增值税发票新规", tax_types=["增值税"])
    assert run_round(client) == 2
    faq = store.get_faq("faq-test-iit-threshold")
    client.__exit__(None, None, None)  # the app stops…
    store.upsert_faq(replace(faq, answer=faq.answer + "（2027年起按新标准执行）"))  # …and meanwhile a change
    with TestClient(make_app()) as restarted:
        assert run_round(restarted) == 1  # the change made while down (个税: ANY only), nothing again
        assert len(pushed_to(restarted, ANY)) == 2 and len(pushed_to(restarted, VAT_SMALL_BJ)) == 1
        with restarted.app.state.subscriptions.engine.begin() as conn:  # as if every round had crashed
            conn.execute(cursors.update().where(cursors.c.name == CHANGES).values(seq=start))
        store.upsert_documents([replace(TEST_DOCUMENTS[0], title="中华人民共和国增值税法（修正）")])
        with TestClient(make_app()) as replica:  # a second replica on the same database, same round
            assert sorted(run_rounds_together(restarted, replica)) == [0, 1]
        # the replayed FAQs not again; the document once, to VAT (ANY has had its 2 of the day)
        assert len(pushed_to(restarted, ANY)) == 2 and len(pushed_to(restarted, VAT_SMALL_BJ)) == 2
        latest = pushed_to(restarted, VAT_SMALL_BJ)[1]
        assert "《中华人民共和国增值税法（修正）》（主席令第四十一号）" in latest
        assert run_round(restarted) == 0


def test_withdrawn_repealed_and_far_away_items_are_not_pushed(client, store, agent, reviewer) -> None:
    subscribe_four(client)
    faq_id = publish_faq(client, agent, reviewer, question="契税新政问答", tax_types=["契税"])
    assert client.post(f"/api/staff/faqs/{faq_id}/withdraw", headers=reviewer).status_code == 200
    repealed = replace(TEST_DOCUMENTS[1], id="test-old-iit", title="个人所得税旧办法", articles=(),
                       status=DocStatus.REPEALED)  # fmt: skip
    beijing = replace(TEST_DOCUMENTS[2], id="test-bj-vat", title="北京市增值税小规模纳税人测试办法",
                      tax_types=("增值税",), articles=())  # fmt: skip
    store.upsert_documents([repealed, beijing])
    assert run_round(client) == 1  # only the Beijing document, only to the Beijing 小规模 subscriber
    assert pushed_to(client, SHANGHAI) == [] and pushed_to(client, IIT) == []
    assert pushed_to(client, ANY) == []  # no region = national items only
    (text,) = pushed_to(client, VAT_SMALL_BJ)
    assert "政策文件[北京市]：《北京市增值税小规模纳税人测试办法》（京测试〔2026〕1号）" in text


def test_a_document_taking_effect_later_is_pushed_with_its_date(client, store) -> None:
    subscribe_web(client, ANY)
    later = replace(TEST_DOCUMENTS[0], id="test-future", title="测试公告", effective=date(2099, 1, 1))
    later = replace(later, articles=())
    store.upsert_documents([later])
    assert run_round(client) == 1
    assert "自2099年01月01日起施行" in pushed_to(client, ANY)[0]


def test_the_daily_limit_holds_and_the_rest_is_logged_as_skipped(client, agent, reviewer) -> None:
    subscribe_web(client, ANY, tax_types=["增值税"])
    for n in range(3):
        publish_faq(client, agent, reviewer, question=f"增值税问题{n}", tax_types=["增值税"])
    assert run_round(client) == 2  # DAILY_LIMIT
    publish_faq(client, agent, reviewer, question="增值税问题3", tax_types=["增值税"])
    assert run_round(client) == 0
    assert len(pushed_to(client, ANY)) == 2
    log = client.get("/api/staff/subscriptions", headers=agent).json()["pushes"]
    assert [p["status"] for p in log].count("skipped_rate_limit") == 2
    skipped = next(p for p in log if p["status"] == "skipped_rate_limit")
    assert skipped["status_text"] == "超出每日上限未发" and "上限 2 条" in skipped["detail"]


def test_the_first_start_does_not_push_the_existing_knowledge_base(client) -> None:
    subscribe_web(client, ANY)
    assert run_round(client) == 0 and pushed_to(client, ANY) == []


def test_the_background_loop_pushes_without_being_asked(make_app, client, agent, reviewer) -> None:
    client.__exit__(None, None, None)
    app = make_app()
    app.state.subscription_settings = SubscriptionSettings(enabled=True, interval_seconds=0.05)
    with TestClient(app) as running:
        subscribe_web(running, ANY)
        publish_faq(running, agent, reviewer, question="增值税新规问答", tax_types=["增值税"])
        wait_until(lambda: len(pushed_to(running, ANY)) == 1)
    assert len(app.state.subscriptions.push_log()) == 1  # the loop stopped with the app
