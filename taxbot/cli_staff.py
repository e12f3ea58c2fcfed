"""`taxbot staff`: staff accounts of the console (add, list, disable, enable)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from knowledge_base.store import open_store
from taxbot.errors import TaxbotError
from taxbot.settings import Settings
from taxbot.staff.accounts import Role, StaffStore

app = typer.Typer(help="Staff console accounts (agent / reviewer / admin).", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]Error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


@contextmanager
def staff_store() -> Iterator[StaffStore]:
    """The accounts in the workspace's database (TAXBOT_DATA_DIR / TAXBOT_DATABASE_URL)."""
    settings = Settings()
    try:
        store = open_store(settings.resolved_database_url)
    except TaxbotError as exc:
        raise fail(str(exc)) from None
    try:
        yield StaffStore(store.engine)
    except TaxbotError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()


@app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[Role, typer.Option("--role", help="agent, reviewer or admin")] = Role.AGENT,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin")
    ] = False,
) -> None:
    """Create an account; the password is prompted for (twice) unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with staff_store() as store:
        user = store.add_user(name, password, role, actor="cli")
    out.print(f"Added {user.username} ({user.role})", highlight=False)


@app.command("list-users")
def list_users() -> None:
    """Accounts with their role and whether they may log in."""
    with staff_store() as store:
        users = store.list_users()
    table = Table("name", "role", "active", "created")
    for user in users:
        active = "yes" if user.active else "no"
        table.add_row(user.username, str(user.role), active, f"{user.created_at:%Y-%m-%d}")
    out.print(table)


@app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Stop an account from logging in; its sessions and API tokens end at once."""
    with staff_store() as store:
        store.set_active(name, False, actor="cli")
    out.print(f"Disabled {name}", highlight=False)


@app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Let a disabled account log in again."""
    with staff_store() as store:
        store.set_active(name, True, actor="cli")
    out.print(f"Enabled {name}", highlight=False)


if __name__ == "__main__":
    app()
