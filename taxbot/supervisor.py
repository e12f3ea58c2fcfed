"""Child processes (Rasa, the app) in their own process groups: start, wait until healthy, stop cleanly."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from taxbot.bot_model import rasa_env, rasa_executable
from taxbot.errors import ConfigError, TaxbotError
from taxbot.settings import PROJECT_ROOT, Settings

HealthCheck = Callable[[], bool]
# modules run inside Rasa's processes: the launcher with its fix (taxbot_rasa) and the atomic lock store
RASA_PATH = PROJECT_ROOT / "deploy" / "rasa"
WaitHook = Callable[["ManagedProcess", float], None]


class ProcessFailed(TaxbotError):
    """A child exited or did not become healthy; the message ends with its log tail."""


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_bytes()[-20000:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    rows = [row for row in text.replace("\r", "\n").splitlines() if row.strip()]
    return "\n".join(rows[-lines:])


def http_ok(url: str, predicate: Callable[[httpx.Response], bool] | None = None) -> HealthCheck:
    """A health check: ``url`` answers 200 (and ``predicate`` holds)."""

    def check() -> bool:
        try:
            response = httpx.get(url, timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and (predicate is None or predicate(response))

    return check


def rasa_model_loaded(response: httpx.Response) -> bool:
    try:
        return bool(response.json().get("model_file"))
    except ValueError:
        return False


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_file: Path
    healthy: HealthCheck
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log:
            self.proc = subprocess.Popen(
                list(self.argv), cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,  # own process group: stopped as a whole
            )  # fmt: skip

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def failure(self, what: str) -> ProcessFailed:
        return ProcessFailed(f"{self.name} {what}; last lines of {self.log_file}:\n{log_tail(self.log_file)}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class Supervisor:
    """Starts processes in order, waits for each to be healthy, stops them in reverse order."""

    def __init__(self, processes: Sequence[ManagedProcess]) -> None:
        self.processes = list(processes)

    def start(self, *, timeout: float, on_wait: WaitHook | None = None) -> None:
        try:
            for process in self.processes:
                process.start()
            for process in self.processes:
                self._wait_healthy(process, timeout, on_wait)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, process: ManagedProcess, timeout: float, on_wait: WaitHook | None) -> None:
        started = time.monotonic()
        while True:
            if not process.running:
                code = process.proc.returncode if process.proc else None
                raise process.failure(f"exited during startup (exit code {code})")
            if process.healthy():
                return
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                raise process.failure(f"was not healthy after {timeout:.0f} s")
            if on_wait:
                on_wait(process, elapsed)
            time.sleep(0.5)

    def first_exited(self) -> ManagedProcess | None:
        return next((p for p in self.processes if not p.running), None)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# --- the product's two processes -------------------------------------------------------------------


def client_url(host: str, port: int) -> str:
    """A URL to reach a server bound to ``host`` (a wildcard bind is reached on 127.0.0.1)."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def tracker_store_config(settings: Settings) -> dict[str, Any]:
    """Rasa's ``SQLTrackerStore``: TAXBOT_TRACKER_STORE_URL (PostgreSQL), else a SQLite file in data_dir."""
    if not settings.tracker_store_url:
        return {"type": "SQL", "dialect": "sqlite", "db": str(settings.data_dir / "run" / "rasa-trackers.db")}
    try:
        url = make_url(settings.tracker_store_url)
    except ArgumentError as exc:
        raise ConfigError(
            f"TAXBOT_TRACKER_STORE_URL {settings.tracker_store_url!r} is not a database URL"
        ) from exc
    dialect = url.get_backend_name()
    if dialect == "sqlite":
        return {"type": "SQL", "dialect": "sqlite", "db": url.database or "rasa-trackers.db"}
    if dialect != "postgresql":
        raise ConfigError(
            f"TAXBOT_TRACKER_STORE_URL: {dialect!r} is not supported; use postgresql:// or sqlite://"
        )
    config: dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.database or "rasa",
    }
    if url.username:
        config["username"] = url.username
    if url.password:
        config["password"] = url.password
    return config


def lock_store_config(settings: Settings) -> dict[str, Any] | None:
    """Rasa's ``RedisLockStore`` on TAXBOT_LOCK_STORE_URL (needed with several Rasa workers), else None."""
    if not settings.lock_store_url:
        return None
    url = urlsplit(settings.lock_store_url)
    if url.scheme not in ("redis", "rediss"):
        raise ConfigError(f"TAXBOT_LOCK_STORE_URL {settings.lock_store_url!r} is not a redis:// URL")
    config: dict[str, Any] = {
        "type": "redis",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 6379,
        "db": int(url.path.strip("/") or 0),
        "key_prefix": "taxbot",
    }
    if url.password:
        config["password"] = url.password
    if url.scheme == "rediss":
        config["use_ssl"] = True
    return config


def with_webhook_token(settings: Settings) -> Settings:
    """``settings`` with a webhook token: the configured one, else a random one for this run (given to Rasa in
    endpoints.yml and to the app in its environment), so nobody else can call the app's /webhook."""
    if settings.webhook_token:
        return settings
    return settings.model_copy(update={"webhook_token": secrets.token_urlsafe(32)})


def write_rasa_config(settings: Settings) -> tuple[Path, Path]:
    """Generated endpoints (action server = this app's /webhook, tracker and lock stores) and credentials
    (REST channel) files."""
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    endpoints = run_dir / "endpoints.yml"
    action_endpoint: dict[str, Any] = {"url": f"{client_url(settings.host, settings.port)}/webhook"}
    if settings.webhook_token:  # a header, not Rasa's `token` query parameter: URLs end up in proxy logs
        action_endpoint["headers"] = {"Authorization": f"Bearer {settings.webhook_token}"}
    config: dict[str, Any] = {
        "action_endpoint": action_endpoint,
        "tracker_store": tracker_store_config(settings),
    }
    lock_store = lock_store_config(settings)
    if lock_store is not None:
        config["lock_store"] = lock_store
    body = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    endpoints.write_text(f"# generated by `taxbot serve`\n{body}")
    endpoints.chmod(0o600)  # it may hold database and Redis passwords
    credentials = run_dir / "credentials.yml"
    credentials.write_text("# generated by `taxbot serve`\nrest: {}\n")
    return endpoints, credentials


def rasa_process(settings: Settings, model_file: Path) -> ManagedProcess:
    """``rasa run`` through deploy/rasa/taxbot_rasa.py (Rasa's CLI with a fix for its action-result check)."""
    endpoints, credentials = write_rasa_config(settings)
    python = rasa_executable(settings).with_name("python")
    argv = [
        str(python), "-m", "taxbot_rasa", "run", "--enable-api", "--model", str(model_file),
        "--endpoints", str(endpoints), "--credentials", str(credentials),
        "--port", str(settings.rasa_port), "-i", settings.rasa_host,
    ]  # fmt: skip
    status = f"{client_url(settings.rasa_host, settings.rasa_port)}/status"
    return ManagedProcess(
        name="Rasa", argv=argv, log_file=settings.data_dir / "logs" / "rasa.log",
        healthy=http_ok(status, rasa_model_loaded), env={**rasa_env(settings), "PYTHONPATH": str(RASA_PATH)},
        cwd=PROJECT_ROOT,
    )  # fmt: skip


def app_process(settings: Settings, env: dict[str, str] | None = None) -> ManagedProcess:
    argv = [
        sys.executable, "-m", "uvicorn", "taxbot.app:create_app", "--factory",
        "--host", settings.host, "--port", str(settings.port), "--log-level", settings.log_level.lower(),
    ]  # fmt: skip
    child_env = dict(os.environ if env is None else env)
    child_env.update(
        TAXBOT_DATA_DIR=str(settings.data_dir), TAXBOT_MODELS_DIR=str(settings.models_dir),
        TAXBOT_HOST=settings.host, TAXBOT_PORT=str(settings.port),
        TAXBOT_RASA_HOST=settings.rasa_host, TAXBOT_RASA_PORT=str(settings.rasa_port),
        TAXBOT_WEBHOOK_TOKEN=settings.webhook_token,
    )  # fmt: skip
    health = f"{client_url(settings.host, settings.port)}/healthz"
    return ManagedProcess(
        name="App", argv=argv, log_file=settings.data_dir / "logs" / "app.log",
        healthy=http_ok(health), env=child_env, cwd=PROJECT_ROOT,
    )  # fmt: skip
