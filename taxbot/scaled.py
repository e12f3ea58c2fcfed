"""Scaled mode: M Rasa replicas and N app replicas behind nginx, sharing PostgreSQL and Redis.

    taxpayers ──▶ nginx public (TAXBOT_HOST:TAXBOT_PORT) ──▶ app 1..N (uvicorn, own in-process index)
    app ──▶ nginx rasa listener (127.0.0.1:TAXBOT_RASA_PORT) ──▶ Rasa 1..M (--enable-api, REST channel)
    Rasa ──▶ nginx actions listener (127.0.0.1, free port) ──▶ app 1..N /webhook (rasa-sdk in-process)

State lives outside the processes: the knowledge base, conversations, channel dedup and staff accounts in
PostgreSQL (TAXBOT_DATABASE_URL), Rasa's trackers in PostgreSQL (TAXBOT_TRACKER_STORE_URL), Rasa's
per-conversation lock in Redis (TAXBOT_LOCK_STORE_URL) and the SMS rate limits in Redis
(TAXBOT_REDIS_URL, default the lock store's). Each app replica loads the index version CURRENT points at
and follows the store's change log, so a FAQ published through any replica is searchable on all.

Built from ``taxbot.supervisor``'s pieces; the replicas listen on free loopback ports, recorded with the
rest of the layout in ``<data_dir>/run/scaled.json``.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import shutil
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from knowledge_base import migrations
from taxbot.errors import ConfigError
from taxbot.settings import PROJECT_ROOT, Settings
from taxbot.supervisor import (
    RASA_PATH,  # noqa: F401  (re-exported: where the lock store lives)
    HealthCheck,
    ManagedProcess,
    Supervisor,
    WaitHook,
    app_process,
    client_url,
    http_ok,
    lock_store_config,
    rasa_process,
)

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "taxbot.conf.j2"
# Rasa's own RedisLockStore loses tickets when replicas issue them at once; this one (in RASA_PATH) is atomic
ATOMIC_LOCK_STORE = "taxbot_lock_store.AtomicRedisLockStore"
NGINX_MISSING = (
    "找不到 nginx：扩展模式需要 nginx 作为反向代理。请运行 `make run-scaled`（会安装 Debian 的 nginx），"
    "或 `apt-get install nginx-light`，或用 TAXBOT_NGINX_PATH 指定 nginx 可执行文件。"
)


def _backend(url: str, variable: str) -> str:
    try:
        return make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise ConfigError(f"{variable} {url!r} 不是有效的数据库 URL") from exc


def check_scaled_settings(settings: Settings) -> None:
    """Refuse what several replicas cannot share: SQLite files, in-memory lock store."""
    problems = []
    if not settings.database_url or _backend(settings.database_url, "TAXBOT_DATABASE_URL") != "postgresql":
        problems.append("TAXBOT_DATABASE_URL 必须是 PostgreSQL（postgresql+psycopg://…），不能用 SQLite")
    tracker = settings.tracker_store_url
    if not tracker or _backend(tracker, "TAXBOT_TRACKER_STORE_URL") != "postgresql":
        problems.append("TAXBOT_TRACKER_STORE_URL 必须是 PostgreSQL（postgresql://…），不能用 SQLite")
    if not settings.lock_store_url:
        problems.append("TAXBOT_LOCK_STORE_URL 必须是 Redis（redis://…），多个 Rasa 副本靠它逐条处理同一会话")
    else:
        lock_store_config(settings)  # raises ConfigError with the value when it is not redis://
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://")):
        problems.append(f"TAXBOT_REDIS_URL {settings.redis_url!r} 不是 redis:// URL")
    if problems:
        raise ConfigError("扩展模式（serve-scaled）的配置不完整：\n  " + "\n  ".join(problems))


def migrate_database(settings: Settings) -> None:
    """Bring the shared schema to every migration head once, before N replicas start and race on it."""
    url = make_url(settings.database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url)
    try:
        migrations.upgrade(engine, "heads")
    finally:
        engine.dispose()


def find_nginx(configured: str = "") -> Path:
    found = configured or shutil.which("nginx") or "/usr/sbin/nginx"
    path = Path(found)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ConfigError(NGINX_MISSING)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _listen(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host or '0.0.0.0'}:{port}"


@dataclass(frozen=True)
class Layout:
    """Where everything listens; the public and Rasa listeners come from the settings."""

    public_host: str
    public_port: int
    rasa_port: int  # nginx → Rasa replicas; the apps' Rasa URL
    actions_port: int  # nginx → app replicas; Rasa's action endpoint
    app_ports: tuple[int, ...]
    rasa_ports: tuple[int, ...]

    @property
    def public_url(self) -> str:
        return client_url(self.public_host, self.public_port)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @classmethod
    def plan(cls, settings: Settings, apps: int, rasas: int) -> Layout:
        if apps < 1 or rasas < 1:
            raise ConfigError(f"至少需要 1 个 app 副本和 1 个 Rasa 副本（收到 {apps} 和 {rasas}）")
        return cls(
            public_host=settings.host, public_port=settings.port, rasa_port=settings.rasa_port,
            actions_port=free_port(), app_ports=tuple(free_port() for _ in range(apps)),
            rasa_ports=tuple(free_port() for _ in range(rasas)),
        )  # fmt: skip


def render_nginx_config(layout: Layout, run_dir: Path, logs_dir: Path, *, read_timeout: float) -> str:
    template = jinja2.Template(NGINX_TEMPLATE.read_text(encoding="utf-8"), keep_trailing_newline=True)
    return template.render(
        run_dir=run_dir, logs_dir=logs_dir, app_ports=layout.app_ports, rasa_ports=layout.rasa_ports,
        public_listen=_listen(layout.public_host, layout.public_port),
        rasa_listen=_listen("127.0.0.1", layout.rasa_port),
        actions_listen=_listen("127.0.0.1", layout.actions_port),
        read_timeout=int(read_timeout) + 5, workers=1,
        # started by root, the workers run as the same user as the app and Rasa (they use its run dir)
        user=getpass.getuser() if os.geteuid() == 0 else "",
    )  # fmt: skip


def nginx_process(settings: Settings, layout: Layout) -> ManagedProcess:
    executable = find_nginx(settings.nginx_path)
    run_dir = settings.data_dir / "run" / "nginx"
    logs_dir = settings.data_dir / "logs"
    for directory in (run_dir, logs_dir):
        directory.mkdir(parents=True, exist_ok=True)
    config = run_dir / "nginx.conf"
    config.write_text(render_nginx_config(layout, run_dir, logs_dir, read_timeout=settings.rasa_timeout * 2))
    argv = [str(executable), "-p", str(run_dir), "-c", str(config), "-e", str(logs_dir / "nginx-error.log"),
            "-g", "daemon off;"]  # fmt: skip
    health = http_ok(f"{layout.public_url}/healthz")
    return ManagedProcess(
        name="nginx", argv=argv, log_file=logs_dir / "nginx.log", healthy=health, cwd=run_dir
    )


def _on_loopback(settings: Settings, *, port: int, rasa_port: int) -> Settings:
    return settings.model_copy(
        update={"host": "127.0.0.1", "port": port, "rasa_host": "127.0.0.1", "rasa_port": rasa_port}
    )


def rasa_replicas(settings: Settings, layout: Layout, model: Path) -> list[ManagedProcess]:
    replicas = []
    for number, port in enumerate(layout.rasa_ports, start=1):
        # the action endpoint is the actions listener (host/port), this replica listens on its own port
        replica = _on_loopback(settings, port=layout.actions_port, rasa_port=port)
        process = rasa_process(replica, model)
        replicas.append(dataclasses.replace(
            process, name=f"Rasa {number}", log_file=settings.data_dir / "logs" / f"rasa-{number}.log",
        ))  # fmt: skip
    _use_atomic_lock_store(settings.data_dir / "run" / "endpoints.yml")
    return replicas


def _use_atomic_lock_store(endpoints: Path) -> None:
    """Name ``deploy/rasa/taxbot_lock_store.py`` as the lock store in the generated endpoints file."""
    config = yaml.safe_load(endpoints.read_text(encoding="utf-8"))
    config["lock_store"]["type"] = ATOMIC_LOCK_STORE
    body = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    endpoints.write_text(f"# generated by `taxbot serve-scaled`\n{body}", encoding="utf-8")


def app_replicas(settings: Settings, layout: Layout) -> list[ManagedProcess]:
    env = dict(os.environ)
    env.update(
        TAXBOT_DATABASE_URL=settings.database_url, TAXBOT_TRACKER_STORE_URL=settings.tracker_store_url,
        TAXBOT_LOCK_STORE_URL=settings.lock_store_url,
        TAXBOT_REDIS_URL=settings.redis_url or settings.lock_store_url, TAXBOT_RASA_URL=layout.rasa_url,
    )  # fmt: skip
    replicas = []
    for number, port in enumerate(layout.app_ports, start=1):
        replica = _on_loopback(settings, port=port, rasa_port=layout.rasa_port)
        process = app_process(replica, env)
        replicas.append(dataclasses.replace(
            process, name=f"App {number}", log_file=settings.data_dir / "logs" / f"app-{number}.log"
        ))  # fmt: skip
    return replicas


@dataclass
class Stage:
    processes: list[ManagedProcess]
    then: HealthCheck | None = None  # the next stage starts once this holds; None = once all are healthy


class StagedSupervisor(Supervisor):
    """Starts stage after stage, then waits for every process to be healthy; stops all in reverse order.

    Rasa replicas race to create the tracker tables in PostgreSQL: the first starts with the apps, the
    others as soon as its tables exist (seconds, long before its model is loaded).
    """

    def __init__(self, stages: Sequence[Stage]) -> None:
        super().__init__([process for stage in stages for process in stage.processes])
        self.stages = list(stages)

    def start(self, *, timeout: float, on_wait: WaitHook | None = None) -> None:
        try:
            for stage in self.stages:
                for process in stage.processes:
                    process.start()
                if stage.then is None:
                    for process in stage.processes:
                        self._wait_healthy(process, timeout, on_wait)
                else:
                    self._wait_until(stage.then, stage.processes[0], timeout, on_wait)
            for process in self.processes:
                self._wait_healthy(process, timeout, on_wait)
        except BaseException:
            self.stop()
            raise

    def _wait_until(
        self, condition: HealthCheck, process: ManagedProcess, timeout: float, on_wait: WaitHook | None
    ) -> None:
        """Like ``_wait_healthy`` for ``process``, with ``condition`` instead of its health check."""
        self._wait_healthy(dataclasses.replace(process, healthy=condition), timeout, on_wait)


def tracker_tables_exist(tracker_store_url: str) -> HealthCheck:
    """Rasa's SQLTrackerStore has created its ``events`` table in PostgreSQL."""
    url = make_url(tracker_store_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")

    def check() -> bool:
        engine = sa.create_engine(url)
        try:
            return sa.inspect(engine).has_table("events")
        except sa.exc.SQLAlchemyError:
            return False
        finally:
            engine.dispose()

    return check


def scaled_supervisor(settings: Settings, model: Path, layout: Layout) -> StagedSupervisor:
    rasas = rasa_replicas(settings, layout, model)
    apps = app_replicas(settings, layout)
    nginx = nginx_process(settings, layout)
    first = Stage([rasas[0], *apps], then=tracker_tables_exist(settings.tracker_store_url))
    return StagedSupervisor([first, Stage([*rasas[1:], nginx])])


def restart(process: ManagedProcess) -> None:
    """Start a replica that exited again; its previous log is kept as ``<name>.log.1``."""
    if process.log_file.exists():
        process.log_file.replace(process.log_file.with_name(process.log_file.name + ".1"))
    process.start()


def write_layout(settings: Settings, layout: Layout, supervisor: Supervisor) -> Path:
    """``run/scaled.json``: ports and pids of the running tree (for operators, tests and benchmarks)."""
    path = settings.data_dir / "run" / "scaled.json"
    pids = {p.name: p.proc.pid for p in supervisor.processes if p.proc is not None}
    body = {**dataclasses.asdict(layout), "public_url": layout.public_url, "pids": pids,
            "started_at": time.time()}  # fmt: skip
    path.write_text(json.dumps(body, indent=2))
    return path
