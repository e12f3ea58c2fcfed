"""Process supervision with real child processes (small Python HTTP servers; no Rasa)."""

from __future__ import annotations

import socket
import sys
import time

import httpx
import pytest

from taxbot.supervisor import ManagedProcess, ProcessFailed, Supervisor, http_ok, log_tail


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_server(tmp_path, name: str) -> tuple[ManagedProcess, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return ManagedProcess(name, argv, tmp_path / f"{name}.log", http_ok(url), cwd=tmp_path), url


def test_starts_waits_healthy_and_stops_every_process(tmp_path):
    (a, url_a), (b, url_b) = http_server(tmp_path, "a"), http_server(tmp_path, "b")
    supervisor = Supervisor([a, b])
    supervisor.start(timeout=20)
    try:
        assert httpx.get(url_a).status_code == 200 and httpx.get(url_b).status_code == 200
        assert supervisor.first_exited() is None
    finally:
        supervisor.stop()
    assert not a.running and not b.running
    with pytest.raises(httpx.HTTPError):
        httpx.get(url_a, timeout=1)


def test_a_child_that_exits_during_startup_fails_with_its_log_tail_and_the_others_are_stopped(tmp_path):
    ok, _ = http_server(tmp_path, "ok")
    crash = ManagedProcess(
        "Crasher", [sys.executable, "-c", "import sys; print('bad config: port'); sys.exit(3)"],
        tmp_path / "crash.log", lambda: False,
    )  # fmt: skip
    supervisor = Supervisor([ok, crash])
    with pytest.raises(ProcessFailed) as failure:
        supervisor.start(timeout=20)
    assert "Crasher exited during startup (exit code 3)" in str(failure.value)
    assert "bad config: port" in str(failure.value)
    assert not ok.running


def test_a_child_that_never_gets_healthy_times_out(tmp_path):
    sleeper = ManagedProcess(
        "Sleeper", [sys.executable, "-c", "import time; print('loading', flush=True); time.sleep(60)"],
        tmp_path / "sleep.log", lambda: False,
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(ProcessFailed, match="Sleeper was not healthy after 2 s") as failure:
        Supervisor([sleeper]).start(timeout=2)
    assert "loading" in str(failure.value)
    assert time.monotonic() - started < 15
    assert not sleeper.running


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path):
    stubborn = ManagedProcess(
        "Stubborn",
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print('up', flush=True); time.sleep(60)"],
        tmp_path / "stubborn.log", lambda: "up" in log_tail(tmp_path / "stubborn.log"),
    )  # fmt: skip
    Supervisor([stubborn]).start(timeout=10)
    stubborn.stop(timeout=1)
    assert not stubborn.running
