"""The bot's own checks with the real Rasa: training data validation and the test conversations."""

from __future__ import annotations

import subprocess

import pytest

from taxbot.bot_model import rasa_env, rasa_executable
from taxbot.settings import Settings
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e


def rasa(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(rasa_executable(settings)), *args], cwd=REPO_ROOT, env=rasa_env(settings),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_training_data_is_valid(tmp_path):
    settings = Settings(data_dir=tmp_path)
    done = rasa(
        settings, "data", "validate", "--fail-on-warnings",
        "--domain", "bot/domain.yml", "--data", "bot/data", "--config", "config.yml",
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]


def test_test_stories_pass(rasa_model, tmp_path):
    settings = Settings(data_dir=tmp_path)
    done = rasa(
        settings, "test", "core", "--model", str(rasa_model), "--stories", "bot/tests/test_stories.yml",
        "--out", str(tmp_path / "results"), "--fail-on-prediction-errors", "--no-plot",
    )  # fmt: skip
    failed = (tmp_path / "results" / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert done.returncode == 0, failed + (done.stdout + done.stderr)[-3000:]
    assert "None of the test stories failed" in failed
