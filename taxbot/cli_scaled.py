"""`taxbot serve-scaled`: several app and Rasa replicas behind nginx (see ``taxbot.scaled``)."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Annotated

import sqlalchemy as sa
import typer
from alembic.util import CommandError
from rich.console import Console

from taxbot.errors import TaxbotError
from taxbot.scaled import (
    Layout,
    check_scaled_settings,
    find_nginx,
    migrate_database,
    restart,
    scaled_supervisor,
    write_layout,
)
from taxbot.settings import get_settings
from taxbot.supervisor import with_webhook_token

console = Console(stderr=True)
MAX_RESTARTS = 5  # per replica and run; a replica crashing more often stops the whole tree


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]Error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def serve_scaled(
    apps: Annotated[int, typer.Option("--apps", help="App replicas (uvicorn processes)")] = 2,
    rasas: Annotated[int, typer.Option("--rasas", help="Rasa replicas")] = 2,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each process to be healthy")] = 300.0,
) -> None:
    """Run the product scaled out: Rasa and app replicas behind nginx, state in PostgreSQL and Redis."""
    from taxbot.cli import ensure_bot_model  # the one model-training path (imported late: cli imports us)

    settings = with_webhook_token(get_settings())
    try:
        check_scaled_settings(settings)
        find_nginx(settings.nginx_path)  # before anything is written or started
        layout = Layout.plan(settings, apps, rasas)
        supervisor = scaled_supervisor(settings, ensure_bot_model(settings), layout)
        with console.status("Migrating the shared database ..."):
            migrate_database(settings)
    except TaxbotError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        raise _fail(f"数据库 {settings.database_url!r} 不可用：{exc}") from None
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        started = time.monotonic()
        with console.status("Starting ...") as status:
            supervisor.start(
                timeout=timeout,
                on_wait=lambda p, t: status.update(
                    f"Waiting for {p.name} to be ready ({time.monotonic() - started:.0f} s) ..."
                ),
            )
        layout_file = write_layout(settings, layout, supervisor)
        base = layout.public_url
        console.print(
            f"[bold green]12366 智能咨询 (scaled) is running[/] after {time.monotonic() - started:.0f} s.\n"
            f"  Public (nginx): {base}   Chat API: POST {base}/api/chat\n"
            f"  App replicas:   {', '.join(f'127.0.0.1:{p}' for p in layout.app_ports)}\n"
            f"  Rasa replicas:  {', '.join(f'127.0.0.1:{p}' for p in layout.rasa_ports)} "
            f"(behind {layout.rasa_url})\n"
            f"  Action webhook: http://127.0.0.1:{layout.actions_port}/webhook (app replicas)\n"
            f"  Layout:         {layout_file}\n"
            f"  Logs:           {settings.data_dir / 'logs'}\n"
            "Press Ctrl-C to stop.",
            highlight=False,
            soft_wrap=True,
        )
        restarts: dict[str, int] = {}
        while True:
            time.sleep(1.0)
            if (exited := supervisor.first_exited()) is None:
                continue
            code = exited.proc.returncode if exited.proc else "?"
            # a replica is restarted (nginx sends its share to the others meanwhile); nginx is not
            if exited.name == "nginx" or restarts.get(exited.name, 0) >= MAX_RESTARTS:
                raise exited.failure(f"exited unexpectedly (exit code {code})")
            restarts[exited.name] = restarts.get(exited.name, 0) + 1
            console.print(f"[yellow]{exited.name} exited ({code}); restarting it[/]", highlight=False)
            restart(exited)
            write_layout(settings, layout, supervisor)
    except (KeyboardInterrupt, _Stop):
        console.print("Stopping ...")
    except TaxbotError as exc:
        raise _fail(str(exc)) from None
    finally:
        supervisor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("Stopped.")
