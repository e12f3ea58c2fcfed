"""Scaled mode for real, once per test session: `taxbot serve-scaled --apps 2 --rasas 2` on fresh PostgreSQL
databases and a Redis db, behind the real nginx, on free ports, with the SMS gateway and the WeChat API
faked in this process (the load benchmark's credentials, so its taxpayers can talk to it); stopped with
SIGTERM at the end of the session. The `scaled` fixture (tests/e2e/conftest.py) wraps ``running_scaled``;
test_scaled.py and test_scaled_load.py share it (each start costs minutes: two Rasa replicas import
TensorFlow)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from benchmarks.bench_load import APP_ID, APP_SECRET, SMS_KEYS, SMS_TOKEN, WECHAT_TOKEN
from taxbot.supervisor import log_tail
from tests.channels.fakes import FakeTencentSms, FakeWeChatAPI
from tests.conftest import PG_ADMIN_DSN, REPO_ROOT
from tests.e2e.conftest import _stop, clean_env, free_port, taxbot
from tests.privacy_plugin import scan_tree

# policy questions answered the same whatever came before in the conversation (test_scaled checks it)
QUESTIONS = (
    "小规模纳税人增值税征收率是多少",
    "个税起征点是多少",
    "子女教育专项附加扣除每月扣多少",
    "数电发票怎么开具",
    "研发费用加计扣除比例是多少",
    "赡养老人扣除标准",
)
READY_TIMEOUT = 900.0  # Rasa replicas import TensorFlow and load the model: minutes on a busy machine
REDIS_URL = "redis://127.0.0.1:6379/8"
ADMIN, PASSWORD = "scaled-admin", "Sc4led-Mode-Admin-Pass!"


@dataclass
class Scaled:
    base_url: str
    rasa_url: str
    data_dir: Path
    layout_file: Path
    env: dict[str, str]
    sms: FakeTencentSms
    wechat: FakeWeChatAPI

    @property
    def layout(self) -> dict:
        return json.loads(self.layout_file.read_text())

    def upstreams(self, log_name: str) -> set[str]:
        text = (self.data_dir / "logs" / log_name).read_text()
        return set(re.findall(r"upstream=127\.0\.0\.1:(\d+)", text))

    @property
    def database_dsn(self) -> str:
        """The conversation database, for psycopg."""
        return self.env["TAXBOT_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")


def _create_databases(*names: str) -> None:
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for scaled mode but {PG_ADMIN_DSN!r} is not reachable: {exc}")
    with admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')


def _drop_databases(*names: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_env(sms: FakeTencentSms, wechat: FakeWeChatAPI) -> dict[str, str]:
    """SMS and WeChat on the fakes, with the credentials benchmarks/bench_load.py's taxpayers use; rate
    limits that load from one address does not reach."""
    return {
        "TAXBOT_SMS_SECRET_ID": SMS_KEYS[0], "TAXBOT_SMS_SECRET_KEY": SMS_KEYS[1],
        "TAXBOT_SMS_SDK_APP_ID": SMS_KEYS[2], "TAXBOT_SMS_SIGN_NAME": "12366智能咨询",
        "TAXBOT_SMS_TEMPLATE_ID": "1234567", "TAXBOT_SMS_CALLBACK_TOKEN": SMS_TOKEN,
        "TAXBOT_SMS_API_BASE": sms.url,
        "TAXBOT_SMS_RATE_LIMIT_PER_MINUTE": "1000",  # checked (in Redis), never reached by the load test
        # all taxpayers come from 127.0.0.1: the per-address and per-sender limits checked, not reached
        "TAXBOT_IP_RATE_LIMIT_PER_MINUTE": "1000000", "TAXBOT_POLL_RATE_LIMIT_PER_MINUTE": "1000000",
        "TAXBOT_CHAT_RATE_LIMIT_PER_MINUTE": "10000",
        "TAXBOT_WECHAT_TOKEN": WECHAT_TOKEN, "TAXBOT_WECHAT_APP_ID": APP_ID,
        "TAXBOT_WECHAT_APP_SECRET": APP_SECRET, "TAXBOT_WECHAT_API_BASE": wechat.url,
    }  # fmt: skip


@contextmanager
def running_scaled(pytestconfig: pytest.Config | None = None) -> Iterator[Scaled]:
    """The running stack; on exit SIGTERM stops the whole tree, which is checked, and (with
    ``pytestconfig``) the privacy scan reads every log the replicas and nginx wrote."""
    suffix = uuid.uuid4().hex[:8]
    kb_db, rasa_db = f"taxbot_scaled_{suffix}", f"taxbot_scaled_rasa_{suffix}"
    _create_databases(kb_db, rasa_db)
    data_dir = Path(tempfile.mkdtemp(prefix="taxbot-scaled-"))
    process = None
    serve_log = data_dir / "serve.log"
    with ExitStack() as fakes:
        sms = fakes.enter_context(FakeTencentSms(*SMS_KEYS))
        wechat = fakes.enter_context(FakeWeChatAPI(APP_ID, APP_SECRET))
        env = clean_env(
            TAXBOT_DATA_DIR=str(data_dir), TAXBOT_PORT=str(free_port()), TAXBOT_RASA_PORT=str(free_port()),
            TAXBOT_LOG_LEVEL="WARNING", TAXBOT_LOCK_STORE_URL=REDIS_URL,
            TAXBOT_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{kb_db}",
            TAXBOT_TRACKER_STORE_URL=f"postgresql://postgres@127.0.0.1:5432/{rasa_db}",
            **load_env(sms, wechat),
        )  # fmt: skip
        try:
            taxbot("kb", "init", "--data-dir", str(data_dir), env=env)
            done = subprocess.run(
                [sys.executable, "-m", "taxbot.cli", "staff", "add-user", ADMIN, "--role", "admin",
                 "--password-stdin"],
                cwd=REPO_ROOT, env=env, input=f"{PASSWORD}\n", capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            with serve_log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "taxbot.cli", "serve-scaled", "--apps", "2", "--rasas", "2",
                     "--timeout", str(READY_TIMEOUT)],
                    cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            stack = Scaled(
                base_url=f"http://127.0.0.1:{env['TAXBOT_PORT']}",
                rasa_url=f"http://127.0.0.1:{env['TAXBOT_RASA_PORT']}", data_dir=data_dir,
                layout_file=data_dir / "run" / "scaled.json", env=env, sms=sms, wechat=wechat,
            )  # fmt: skip
            _wait_ready(process, stack, serve_log)
            yield stack
            code = _stop(process)
            shutdown_log = log_tail(serve_log)
            # SIGTERM stops the whole tree: nginx, both apps, both Rasa replicas
            assert code == 0, f"`taxbot serve-scaled` exited {code} on SIGTERM:\n{shutdown_log}"
            ports = [*stack.layout["app_ports"], *stack.layout["rasa_ports"], stack.layout["actions_port"]]
            for url in [stack.base_url, stack.rasa_url, *(f"http://127.0.0.1:{p}" for p in ports)]:
                with pytest.raises(httpx.HTTPError):
                    httpx.get(f"{url}/healthz", timeout=2)
        finally:
            if process is not None:
                _stop(process)
            if pytestconfig is not None:
                scan_tree(pytestconfig, data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)
            _drop_databases(kb_db, rasa_db)


def diagnostics(data_dir: Path, serve_log: Path | None = None) -> str:
    parts = [f"--- taxbot serve-scaled ---\n{log_tail(serve_log or data_dir / 'serve.log')}"]
    for log in sorted((data_dir / "logs").glob("*.log")):
        parts.append(f"--- {log.name} ---\n{log_tail(log, 12)}")
    return "\n".join(parts)


def _wait_ready(process: subprocess.Popen, stack: Scaled, serve_log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            details = diagnostics(stack.data_dir, serve_log)
            pytest.fail(f"serve-scaled exited ({process.returncode}):\n{details}")
        if stack.layout_file.exists():  # written once every replica and nginx are healthy
            response = httpx.get(f"{stack.base_url}/readyz", timeout=10)
            assert response.status_code == 200, response.text
            return
        time.sleep(2)
    details = diagnostics(stack.data_dir, serve_log)
    pytest.fail(f"serve-scaled not ready after {READY_TIMEOUT:.0f} s:\n{details}")
