"""The real product, once per session: `taxbot train-bot`, `taxbot kb init` into a tmp workspace, then
`taxbot serve` (real Rasa from .venv-rasa + the app under uvicorn) on free ports; stopped with SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from taxbot import bot_model
from taxbot.settings import Settings
from taxbot.supervisor import log_tail
from tests.conftest import REPO_ROOT
from tests.privacy_plugin import scan_tree

if TYPE_CHECKING:
    from tests.e2e.scaled_stack import Scaled

# an upper bound only: Rasa imports TensorFlow and loads the model in ~40 s idle, minutes on a busy machine
READY_TIMEOUT = 600.0
# trained models (Rasa, embedding) are shared with `make`; TAXBOT_MODELS_DIR may point elsewhere
MODELS_DIR = Path(os.environ.get("TAXBOT_MODELS_DIR") or REPO_ROOT / "var" / "models")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def taxbot(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> None:
    """Run the real CLI; fail the session with its output when it fails."""
    cmd = [sys.executable, "-m", "taxbot.cli", *args]
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        output = f"{done.stdout}\n{done.stderr}"[-4000:]
        pytest.fail(f"`taxbot {' '.join(args)}` failed ({done.returncode}):\n{output}")


@dataclass
class Stack:
    base_url: str
    rasa_url: str
    data_dir: Path
    startup_seconds: float
    process: subprocess.Popen


# every e2e test talks to the product from 127.0.0.1, faster than a taxpayer types: the per-address and
# per-sender limits (tested in tests/api/test_rate_limits.py) are set out of their way
GENEROUS_LIMITS = {
    "TAXBOT_IP_RATE_LIMIT_PER_MINUTE": "1000000", "TAXBOT_POLL_RATE_LIMIT_PER_MINUTE": "1000000",
    "TAXBOT_CHAT_RATE_LIMIT_PER_MINUTE": "10000",
}  # fmt: skip


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAXBOT_")}
    return env | {"TAXBOT_MODELS_DIR": str(MODELS_DIR)} | GENEROUS_LIMITS | overrides


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """The trained Rasa model for the current bot/ (trained by the CLI now only if missing)."""
    taxbot("train-bot", env=clean_env())
    return bot_model.model_path(Settings(models_dir=MODELS_DIR))


@pytest.fixture(scope="session")
def stack(rasa_model, pytestconfig) -> Iterator[Stack]:
    # its own temp dir, not pytest's numbered ones (other pytest runs may rotate those away mid-session)
    data_dir = Path(tempfile.mkdtemp(prefix="taxbot-e2e-"))
    env = clean_env(
        TAXBOT_DATA_DIR=str(data_dir), TAXBOT_PORT=str(free_port()), TAXBOT_RASA_PORT=str(free_port()),
        TAXBOT_LOG_LEVEL="WARNING",
    )  # fmt: skip
    try:
        taxbot("kb", "init", "--data-dir", str(data_dir), env=env)
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise

    base_url = f"http://127.0.0.1:{env['TAXBOT_PORT']}"
    serve_log = data_dir / "serve.log"
    started = time.monotonic()
    with serve_log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "taxbot.cli", "serve", "--timeout", str(READY_TIMEOUT)],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_ready(process, base_url, data_dir, serve_log)
        stack = Stack(
            base_url=base_url, rasa_url=f"http://127.0.0.1:{env['TAXBOT_RASA_PORT']}", data_dir=data_dir,
            startup_seconds=time.monotonic() - started, process=process,
        )  # fmt: skip
        yield stack
    finally:
        code = _stop(process)
        shutdown_log = log_tail(serve_log)
        scan_tree(pytestconfig, data_dir)  # the privacy scan reads app.log, rasa.log, serve.log first
        shutil.rmtree(data_dir, ignore_errors=True)
    # `taxbot serve` stops Rasa and the app cleanly on SIGTERM (checked at teardown, after every test)
    assert code == 0, f"`taxbot serve` exited {code} on SIGTERM:\n{shutdown_log}"
    for url in (f"{stack.base_url}/healthz", f"{stack.rasa_url}/status"):
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, timeout=2)


@pytest.fixture(scope="session")
def scaled(rasa_model, pytestconfig) -> Iterator[Scaled]:
    """`taxbot serve-scaled --apps 2 --rasas 2` behind nginx (tests/e2e/scaled_stack.py): one stack for the
    session, shared by test_scaled.py and test_scaled_load.py; stopped (and checked) at the session's end."""
    from tests.e2e.scaled_stack import running_scaled  # it imports this module's helpers

    with running_scaled(pytestconfig) as running:
        yield running


def _diagnostics(data_dir: Path, serve_log: Path) -> str:
    parts = [f"--- taxbot serve ---\n{log_tail(serve_log)}"]
    for name in ("rasa.log", "app.log"):
        parts.append(f"--- {name} ---\n{log_tail(data_dir / 'logs' / name)}")
    return "\n".join(parts)


def _wait_ready(process: subprocess.Popen, base_url: str, data_dir: Path, serve_log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT + 30
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`taxbot serve` exited ({process.returncode}):\n{_diagnostics(data_dir, serve_log)}")
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=5)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(1)
    pytest.fail(f"not ready after {READY_TIMEOUT:.0f} s ({last}):\n{_diagnostics(data_dir, serve_log)}")


def _stop(process: subprocess.Popen) -> int:
    if process.poll() is not None:
        return process.returncode
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return -9
