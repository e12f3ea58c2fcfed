"""deploy/rasa/taxbot_rasa.py, run in Rasa's own environment: its action-result check accepts and refuses
exactly what Rasa's (jsonschema.validate on every call) does, with the same message."""

from __future__ import annotations

import json
import subprocess

import pytest

from taxbot.bot_model import rasa_env, rasa_executable
from taxbot.settings import Settings
from taxbot.supervisor import RASA_PATH
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

CHECK = """
import json, sys
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
import taxbot_rasa

results = json.loads(sys.argv[1])
original = RemoteAction._validate_action_result
taxbot_rasa.apply_fixes()
assert RemoteAction._validate_action_result is not original


action = RemoteAction("action_search_kb", None)


def outcome(check, result):
    try:
        return ["ok", check(action, result)]
    except ValidationError as exc:
        return ["refused", exc.message]


print(json.dumps([[outcome(original, r), outcome(RemoteAction._validate_action_result, r)] for r in results]))
"""

RESULTS = [
    {"events": [{"event": "slot", "name": "region", "value": "北京市"}], "responses": [{"text": "依据……"}]},
    {"events": [], "responses": []},
    {"events": [{"event": "bot", "text": "您好", "data": {"custom": {"citations": []}}}]},
    {"events": [{"event": "slot", "name": 3}]},  # a slot event whose name is not a string
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": [42]},
]


def test_the_launchers_action_result_check_matches_rasas(tmp_path):
    settings = Settings(data_dir=tmp_path)
    env = {**rasa_env(settings), "PYTHONPATH": str(RASA_PATH)}
    python = rasa_executable(settings).with_name("python")
    done = subprocess.run(
        [str(python), "-c", CHECK, json.dumps(RESULTS)], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    pairs = json.loads(done.stdout.strip().splitlines()[-1])
    assert [original for original, _ in pairs] == [fixed for _, fixed in pairs]
    verdicts = [original[0] for original, _ in pairs]
    assert verdicts == ["ok", "ok", "ok", "refused", "refused", "refused", "refused"]
    assert all("Failed to validate Action server response" in o[1] for o, _ in pairs if o[0] == "refused")
