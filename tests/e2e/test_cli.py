"""The `taxbot` command line, run as a real subprocess: readable errors, no tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT


def taxbot(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("TAXBOT_")} | env
    return subprocess.run(
        [sys.executable, "-m", "taxbot.cli", *args], cwd=REPO_ROOT, env=child_env,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.mark.parametrize("command", [[], ["train-bot"], ["serve"], ["kb"]])
def test_every_command_has_help(command):
    done = taxbot(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_missing_rasa_environment_is_a_readable_error(tmp_path):
    done = taxbot("train-bot", TAXBOT_RASA_VENV=str(tmp_path / "no-venv"), TAXBOT_MODELS_DIR=str(tmp_path))
    assert done.returncode == 1
    assert "Rasa is not installed at" in done.stderr and "make venv-rasa" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.e2e
def test_train_bot_skips_an_up_to_date_model():
    first = taxbot("train-bot", timeout=900)
    assert first.returncode == 0, first.stderr
    started = time.monotonic()
    again = taxbot("train-bot")
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert time.monotonic() - started < 15


@pytest.mark.e2e
def test_serve_reports_a_busy_port_with_the_app_log_and_stops_rasa(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            rasa_port = probe.getsockname()[1]
        done = taxbot(
            "serve", "--timeout", "60", TAXBOT_DATA_DIR=str(tmp_path), TAXBOT_PORT=str(port),
            TAXBOT_RASA_PORT=str(rasa_port), timeout=900,
        )  # fmt: skip
    assert done.returncode == 1
    assert "App exited during startup" in done.stderr
    assert "address already in use" in done.stderr.lower()
    assert "Traceback (most recent call last)" not in done.stderr.split("last lines of")[0]
    with socket.socket() as check:  # Rasa was stopped with the app
        assert check.connect_ex(("127.0.0.1", rasa_port)) != 0
