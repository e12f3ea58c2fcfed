"""Private PostgreSQL and Redis servers that a test may stop and start (the machine's shared ones never are).

A missing binary or a server that does not come up fails the test with the reason; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.index.conftest import make_doc

# a two-document knowledge base for the index faults (disk full, damaged files)
DOCS = [
    make_doc(
        "nat-vat",
        "增值税若干问题的公告",
        ["小规模纳税人增值税征收率为百分之三。", "一般纳税人进项税额抵扣。"],
    ),
    make_doc("nat-env", "环境保护税法", ["应税大气污染物的税额幅度为每污染当量1.2元至12元。"]),
]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DEADLINE = 30.0  # seconds: a bound for a server to come up, not a timing assertion


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(ready, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            if ready():
                return
        except Exception as exc:  # not up yet: any connection error means "try again"
            last = exc
        else:
            last = None
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up within {DEADLINE:.0f} s: {last}")
        time.sleep(0.1)


class PrivatePostgres:
    """A throwaway cluster in a temp dir on a free port, run as the ``postgres`` user when we are root."""

    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).is_file():
                pytest.fail(f"PostgreSQL binary missing: {PG_BIN / tool} (apt-get install postgresql-15)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="taxbot-faults-pg-"))
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        proc = subprocess.run([*prefix, *map(str, args)], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            pytest.fail(f"{Path(str(args[0])).name} failed ({proc.returncode}): {proc.stderr[-2000:]}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "log", "-w", "start")
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=2"
        _wait(lambda: psycopg.connect(dsn).close() is None, f"private PostgreSQL on port {self.port}")

    def stop(self) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """``redis-server`` on a free port, no persistence: a restart comes back empty."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found on PATH (apt-get install redis-server)")
        self.binary, self.port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        _wait(client.ping, f"private Redis on port {self.port}")
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=DEADLINE)
            self.proc = None


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.stop()
