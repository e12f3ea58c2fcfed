"""`taxbot kb ...`: knowledge-base commands. Owned by the index helper."""

import typer

app = typer.Typer(help="Knowledge base: ingest regulations, build and search the index, evaluate retrieval.")
