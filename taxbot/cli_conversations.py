"""`taxbot conversations ...`: the human handoff queue (waiting, claim, release) and transcripts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from taxbot.conversations import ConversationStore, HandoffNotFound, open_conversation_store
from taxbot.settings import Settings, get_settings

app = typer.Typer(
    help="Conversations handed over to a human agent: list, claim, release; transcripts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Workspace folder (its database)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


@contextmanager
def _store(data_dir: Path | None) -> Iterator[ConversationStore]:
    settings = get_settings() if data_dir is None else Settings(data_dir=data_dir.expanduser().resolve())
    try:
        store = open_conversation_store(settings.resolved_database_url)
    except sa.exc.SQLAlchemyError as exc:
        err.print(f"[bold red]Error:[/] cannot open the conversation database: {exc}")
        raise typer.Exit(1) from None
    try:
        yield store
    except HandoffNotFound as exc:
        err.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        store.close()


@app.command()
def waiting(
    data_dir: DataDir = None,
    claimed: Annotated[bool, typer.Option("--claimed", help="Also those an agent has claimed")] = False,
    as_json: AsJson = False,
) -> None:
    """Conversations waiting for a human agent, oldest first."""
    with _store(data_dir) as store:
        rows = store.list_waiting(include_claimed=claimed)
    if as_json:
        out.print(
            json.dumps(
                [
                    {
                        "id": h.id,
                        "conversation_id": h.conversation_id,
                        "reason": h.reason,
                        "status": h.status,
                        "created_at": h.created_at.isoformat(),
                        "claimed_by": h.claimed_by,
                    }
                    for h in rows
                ],
                ensure_ascii=False,
            )
        )
        return
    if not rows:
        out.print("No conversation is waiting for a human agent.")
        return
    table = Table("ID", "conversation", "reason", "status", "since", "agent")
    for h in rows:
        table.add_row(
            str(h.id),
            h.conversation_id,
            h.reason,
            h.status,
            f"{h.created_at:%Y-%m-%d %H:%M}",
            h.claimed_by or "",
        )
    out.print(table)


@app.command()
def claim(
    handoff_id: int, agent: Annotated[str, typer.Option(help="Who takes it")], data_dir: DataDir = None
) -> None:
    """An agent takes a waiting conversation."""
    with _store(data_dir) as store:
        h = store.claim(handoff_id, agent)
    out.print(f"Handoff {h.id} ({h.conversation_id}) claimed by {agent}.")


@app.command()
def release(handoff_id: int, data_dir: DataDir = None) -> None:
    """Give the conversation back to the bot: the taxpayer's next message is answered by the bot again."""
    with _store(data_dir) as store:
        h = store.release(handoff_id)
    out.print(f"Handoff {h.id} released: conversation {h.conversation_id} is with the bot again.")


@app.command()
def show(conversation_id: str, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """The (masked) transcript of a conversation."""
    with _store(data_dir) as store:
        turns = store.transcript(conversation_id)
    if as_json:
        out.print(
            json.dumps(
                [
                    {
                        "at": t.at.isoformat(),
                        "role": t.role,
                        "text": t.text,
                        "intent": t.intent,
                        "answer_kind": t.answer_kind,
                        "sources": list(t.sources),
                        "region": t.region,
                    }
                    for t in turns
                ],
                ensure_ascii=False,
            )
        )
        return
    for t in turns:
        label = f"[{t.intent}]" if t.intent and t.role == "taxpayer" else ""
        out.print(f"{t.at:%H:%M:%S} {t.role}{label}: {t.text}")
