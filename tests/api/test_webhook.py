"""POST /webhook with the body Rasa 3.6 sends to an action server."""

import zlib

import yaml

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
