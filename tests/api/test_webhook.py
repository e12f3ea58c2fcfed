"""POST /webhook with the body Rasa 3.6 sends to an action server."""

import zlib

import yaml
from fastapi.testclient import TestClient

from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.supervisor import app_process, with_webhook_token, write_rasa_config
from tests.conftest import REPO_ROOT


def action_call(text: str, action: str = "action_search_kb", region: str | None = None) -> dict:
    return {
        "next_action": action,
        "sender_id": "taxpayer-1",
        "version": "3.6.21",
        "domain": {"intents": ["ask_policy"], "slots": {"region": {"type": "text"}}, "actions": [action]},
        "tracker": {
            "sender_id": "taxpayer-1",
            "slots": {"region": region},
            "latest_message": {
                "text": text, "intent": {"name": "ask_policy", "confidence": 0.97}, "entities": [],
            },
            "latest_event_time": 1764748800.0,
            "followup_action": None,
            "paused": False,
            "events": [
                {"event": "action", "name": "action_listen", "timestamp": 1764748799.0},
                {"event": "user", "text": text, "timestamp": 1764748800.0,
                 "parse_data": {"intent": {"name": "ask_policy", "confidence": 0.97}, "entities": []}},
            ],
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
    }  # fmt: skip


def test_search_action_answers_with_citations(client):
    response = client.post("/webhook", json=action_call("小规模纳税人增值税征收率是多少"))
    assert response.status_code == 200
    body = response.json()
    assert body["events"] == []
    [message] = body["responses"]
    assert "依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条" in message["text"]
    assert message["custom"]["citations"][0]["doc_id"] == "test-vat-law"


def test_deflate_encoded_body_is_accepted(client):
    import json

    raw = zlib.compress(json.dumps(action_call("个税起征点是多少")).encode())
    response = client.post("/webhook", content=raw, headers={"Content-Encoding": "deflate"})
    assert response.status_code == 200
    assert response.json()["responses"][0]["custom"]["answer_kind"] == "faq"


def test_unknown_action_is_404(client):
    response = client.post("/webhook", json=action_call("你好", action="action_does_not_exist"))
    assert response.status_code == 404
    assert response.json()["action_name"] == "action_does_not_exist"


def test_bad_json_is_400(client):
    response = client.post("/webhook", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid body request"}


def test_missing_domain_is_449(client):
    call = action_call("个税起征点是多少")
    del call["domain"]
    response = client.post("/webhook", json=call)
    assert response.status_code == 449


def test_actions_lists_every_custom_action_of_the_domain(client):
    domain = yaml.safe_load(REPO_ROOT.joinpath("bot", "domain.yml").read_text(encoding="utf-8"))
    served = sorted(a["name"] for a in client.get("/actions").json())
    assert served == sorted(domain["actions"])


def test_with_a_webhook_token_only_its_holder_runs_actions(settings, tiny_retriever):
    settings = settings.model_copy(update={"webhook_token": "rasa-only-token-12366"})
    app = create_app(settings, Services(settings=settings, retriever=tiny_retriever))
    call = action_call("小规模纳税人增值税征收率是多少")
    with TestClient(app) as client:
        wrong = [
            ({}, {}),
            ({"token": "guess"}, {}),
            ({"token": ""}, {}),
            ({}, {"Authorization": "Bearer guess"}),
            ({}, {"Authorization": "rasa-only-token-12366"}),
        ]
        for params, headers in wrong:
            refused = client.post("/webhook", json=call, params=params, headers=headers)
            assert refused.status_code == 401, (params, headers)
            assert "webhook token" in refused.json()["error"]
        for params, headers in (({}, {"Authorization": "Bearer rasa-only-token-12366"}),
                                ({"token": "rasa-only-token-12366"}, {})):  # fmt: skip
            accepted = client.post("/webhook", json=call, params=params, headers=headers)
            assert accepted.status_code == 200, (params, headers)
            assert accepted.json()["responses"][0]["custom"]["citations"][0]["doc_id"] == "test-vat-law"


def test_serve_gives_rasa_and_the_app_the_same_per_run_token(tmp_path):
    settings = with_webhook_token(Settings(data_dir=tmp_path, port=8123))
    assert len(settings.webhook_token) >= 32
    assert with_webhook_token(settings).webhook_token == settings.webhook_token  # a configured one is kept
    assert with_webhook_token(Settings(data_dir=tmp_path)).webhook_token != settings.webhook_token
    endpoints, _ = write_rasa_config(settings)
    action_endpoint = yaml.safe_load(endpoints.read_text())["action_endpoint"]
    assert action_endpoint == {  # a header: the token never appears in a URL (nor in nginx's logs)
        "url": "http://127.0.0.1:8123/webhook",
        "headers": {"Authorization": f"Bearer {settings.webhook_token}"},
    }
    assert app_process(settings).env["TAXBOT_WEBHOOK_TOKEN"] == settings.webhook_token
