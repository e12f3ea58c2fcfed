"""`taxbot kb train-model`: build the default Chinese embedding model unless it is up to date."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from index.training import MODEL_DIRNAME, ensure_default_model, input_hash
from index.training.build import recorded_hash
from index.training.config import DEFAULT_SETTINGS, TRAINING_FILE
from taxbot.errors import TaxbotError
from taxbot.settings import get_settings

console = Console(stderr=True)


def train_model(
    force: bool = typer.Option(False, "--force", help="Retrain even if the model is up to date"),
    models_dir: Path | None = typer.Option(
        None, "--models-dir", help="Default: TAXBOT_MODELS_DIR (var/models)"
    ),
    content_dir: Path | None = typer.Option(None, "--content-dir", help="Default: knowledge_base/content"),
) -> None:
    """Train the offline Chinese embedding model (distilled from USE-multilingual, tuned on the content)."""
    settings = get_settings()
    models = models_dir or settings.models_dir
    content = content_dir or settings.content_dir
    if not content.is_dir():
        console.print(f"[bold red]Error:[/] content folder not found: {content}", highlight=False)
        raise typer.Exit(code=1)
    target = models / MODEL_DIRNAME
    if not force and recorded_hash(target) == input_hash(content, DEFAULT_SETTINGS):
        console.print(f"Embedding model up to date: {target}")
        return
    started = time.monotonic()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("Training the embedding model", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

        try:
            path = ensure_default_model(models, content, force=force, progress=progress)
        except (TaxbotError, OSError, ValueError, ImportError) as exc:
            console.print(f"[bold red]Error:[/] training the embedding model failed: {exc}", highlight=False)
            raise typer.Exit(code=1) from None
    record = json.loads((path / TRAINING_FILE).read_text(encoding="utf-8"))
    stats = record["stats"]
    console.print(
        f"Trained the embedding model in {time.monotonic() - started:.0f} s: {path}\n"
        f"  version {record['version']}, {stats['vocabulary']} words x {stats['dimension']} dims, "
        f"{stats['faqs']} FAQ entries, {stats['articles']} article digests, {stats['pairs']} pairs",
        highlight=False,
    )
