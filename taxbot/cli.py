"""`taxbot`: the command line (train the bot, serve the product; `taxbot kb ...` for the knowledge base)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer
from rich.console import Console

from taxbot import bot_model
from taxbot.cli_conversations import app as conversations_app
from taxbot.cli_kb import app as kb_app
from taxbot.cli_scaled import serve_scaled
from taxbot.cli_staff import app as staff_app
from taxbot.errors import TaxbotError
from taxbot.settings import Settings, get_settings
from taxbot.supervisor import Supervisor, app_process, client_url, log_tail, rasa_process, with_webhook_token

app = typer.Typer(
    help="12366 智能咨询: train the dialogue model and run the product.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb_app, name="kb")
app.add_typer(conversations_app, name="conversations")
app.add_typer(staff_app, name="staff")
app.command("serve-scaled")(serve_scaled)
console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]Error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def ensure_bot_model(settings: Settings, *, force: bool = False) -> Path:
    started = time.monotonic()
    with console.status("Training the Rasa model ...") as status:

        def progress(line: str) -> None:
            status.update(f"Training the Rasa model ({time.monotonic() - started:.0f} s) {line[-90:]}")

        try:
            model, trained = bot_model.train(settings, force=force, on_progress=progress)
        except bot_model.BotTrainingFailed as exc:
            raise fail(f"{exc}\n{log_tail(exc.log_file)}") from None
        except TaxbotError as exc:
            raise fail(str(exc)) from None
    if trained:
        console.print(f"Trained the Rasa model in {time.monotonic() - started:.0f} s: {model}")
    else:
        console.print(f"Rasa model up to date: {model}")
    return model


@app.command("train-bot")
def train_bot(
    force: Annotated[bool, typer.Option("--force", help="Train even if this input's model exists")] = False,
) -> None:
    """Train the Rasa model (bot/, config.yml, the jieba dictionary) unless it is up to date."""
    ensure_bot_model(get_settings(), force=force)


def _warn_if_not_ready(base: str) -> None:
    """Both processes are up; say so if a part (e.g. the knowledge base) is not ready yet."""
    try:
        body = httpx.get(f"{base}/readyz", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        return
    for part, state in body.get("checks", {}).items():
        if state != "ok":
            console.print(f"[yellow]Warning:[/] {part} not ready: {state}", highlight=False, soft_wrap=True)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


@app.command()
def serve(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each process to be healthy")] = 240.0,
) -> None:
    """Run the product: the Rasa server and the app (chat API + action webhook) until Ctrl-C."""
    settings = with_webhook_token(get_settings())
    model = ensure_bot_model(settings)
    try:
        supervisor = Supervisor([app_process(settings), rasa_process(settings, model)])
    except TaxbotError as exc:
        raise fail(str(exc)) from None
    # SIGINT too: a shell that starts `make run &` in the background ignores SIGINT in its children
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with console.status("Starting ...") as status:
            supervisor.start(
                timeout=timeout,
                on_wait=lambda p, t: status.update(f"Waiting for {p.name} to be ready ({t:.0f} s) ..."),
            )
        base = client_url(settings.host, settings.port)
        console.print(
            f"[bold green]12366 智能咨询 is running.[/]\n"
            f'  Chat API:  POST {base}/api/chat  {{"sender": "...", "message": "..."}}\n'
            f"  API docs:  {base}/docs\n"
            f"  Readiness: {base}/readyz\n"
            f"  Rasa:      {settings.resolved_rasa_url} (model {model.name})\n"
            f"  Logs:      {settings.data_dir / 'logs'}\n"
            "Press Ctrl-C to stop.",
            highlight=False,
            soft_wrap=True,
        )
        _warn_if_not_ready(base)
        while (exited := supervisor.first_exited()) is None:
            time.sleep(1.0)
        code = exited.proc.returncode if exited.proc else "?"
        raise exited.failure(f"exited unexpectedly (exit code {code})")
    except (KeyboardInterrupt, _Stop):
        console.print("Stopping ...")
    except TaxbotError as exc:
        raise fail(str(exc)) from None
    finally:
        supervisor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("Stopped.")


if __name__ == "__main__":
    app()
