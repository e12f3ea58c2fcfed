"""`taxbot kb ...`: knowledge-base commands. Owned by the index helper."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from index import workspace
from index.jsonio import document_json, search_json
from taxbot.errors import TaxbotError
from taxbot.settings import Settings, get_settings

app = typer.Typer(
    help="Knowledge base: ingest regulations, build and search the index, evaluate retrieval.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Self-contained workspace folder (database + index inside)")
]


def _settings(data_dir: Path | None) -> Settings:
    if data_dir is None:
        return get_settings()
    return Settings(data_dir=data_dir.expanduser().resolve())


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code=1)


@contextmanager
def _errors() -> Iterator[None]:
    """TaxbotError / ValueError / OSError → one readable line and exit code 1, no traceback."""
    try:
        yield
    except (TaxbotError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"bad date {value!r}; expected YYYY-MM-DD") from None


@app.command()
def init(
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option("--force", help="Reload and rebuild even if nothing changed")
    ] = False,
) -> None:
    """Load the shipped knowledge base (content/) into the store and build the index, unless unchanged."""
    settings = _settings(data_dir)
    with _errors():
        if not settings.embedding_model:
            _ensure_model(settings)
        with _progress("Encoding chunks") as tick:
            result = workspace.init_workspace(settings, force=force, progress=tick)
    for problem in result.problems:
        err.print(f"[yellow]content problem[/] {problem}", highlight=False)
    if result.skipped:
        out.print(f"Knowledge base up to date (index {result.version}); nothing to do.")
    else:
        out.print(
            f"Loaded {result.documents} documents and {result.faqs} FAQ entries; index {result.version}."
        )


def _ensure_model(settings: Settings) -> None:
    try:
        from index.training import ensure_default_model
    except ImportError as exc:
        raise TaxbotError(f"the embedding-model trainer is not available ({exc})") from None
    with _progress("Embedding model (trained on first run)") as tick:
        ensure_default_model(settings.models_dir, settings.content_dir, progress=lambda _s, d, t: tick(d, t))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.md .txt .docx .pdf .html)")],
    region: Annotated[str | None, typer.Option(help="Region of local rules, e.g. 北京市")] = None,
    data_dir: DataDir = None,
) -> None:
    """Load regulation files into the store, report problems, and update the index incrementally."""
    settings = _settings(data_dir)
    with _errors(), _progress("Reading files") as tick:
        result = workspace.ingest(settings, paths, region=region, progress=lambda d, t, _p: tick(d, t))
    for problem in result.report.problems:
        err.print(f"[yellow]problem[/] {problem.path}: {problem.reason}", highlight=False)
    for doc_id, notes in result.report.notes.items():
        err.print(f"[cyan]note[/] {doc_id}: could not determine {', '.join(notes)}", highlight=False)
    out.print(f"Stored {len(result.report.documents)} document(s) ({result.stored} changed).")
    if result.index_updated:
        out.print(f"Index updated incrementally ({result.changes_applied} change(s)).")
    else:
        out.print("No index yet: run `taxbot kb build` to make them searchable.")
    if result.report.problems and not result.report.documents:
        raise typer.Exit(code=1)


@app.command()
def build(data_dir: DataDir = None) -> None:
    """Rebuild the whole index from the store (a new version; the old one serves until it is ready)."""
    settings = _settings(data_dir)
    with _errors(), _progress("Encoding chunks") as tick:
        directory = workspace.rebuild(settings, progress=tick)
    out.print(f"Built index {directory.name}.")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="The question")],
    region: Annotated[
        str | None, typer.Option(help="Asker's region, e.g. 上海市; none = national rules only")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date YYYY-MM-DD (default today)")] = None,
    tax_type: Annotated[
        list[str] | None, typer.Option("--tax-type", help="Only this tax type (repeatable)")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Number of hits (1..50)")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    history: Annotated[
        bool, typer.Option("--history", help="Also rules not in force (marked historical)")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Search the knowledge base like the bot does."""
    from knowledge_base.regions import normalize_region
    from taxbot.services import build_services

    settings = _settings(data_dir)
    when = _date(as_of) or date.today()
    if region is not None:
        canonical = normalize_region(region)
        if canonical is None:
            raise _fail(f"unknown region {region!r}; use a province or city name such as 上海市 or 深圳")
        region = canonical
    with _errors():
        services = build_services(settings)
        try:
            hits = services.retriever.search(
                query, region=region, as_of=when, tax_types=tax_type, k=k, include_history=history
            )
        finally:
            services.close()
    if as_json:
        typer.echo(json.dumps(search_json(query, region, when, hits), ensure_ascii=False))
        return
    if not hits:
        out.print("No confident answer (the bot would offer a human agent).")
        return
    table = Table("#", "document", "article", "applies", "score", "text", show_lines=True)
    for i, hit in enumerate(hits, start=1):
        name = f"{hit.title}\n{hit.doc_number}" if hit.doc_number else hit.title
        kind = "FAQ " if hit.kind == "faq" else ""
        table.add_row(str(i), f"{kind}{name}", hit.article, hit.why, f"{hit.score:.3f}", hit.text[:160])
    out.print(table)


@app.command()
def show(doc_id: Annotated[str, typer.Argument(help="Document id")], data_dir: DataDir = None) -> None:
    """Print one document's metadata and articles."""
    settings = _settings(data_dir)
    with _errors():
        store = workspace.open_settings_store(settings)
        try:
            doc = store.get_document(doc_id)
        finally:
            store.close()
    if doc is None:
        raise _fail(f"no document with id {doc_id!r}")
    data = document_json(doc)
    for key, value in data.items():
        if key != "articles" and value not in ("", [], None):
            out.print(f"[bold]{key}[/]: {value}")
    for article in data["articles"]:
        out.print(f"\n[bold]{article['label']}[/] {article['chapter']}\n{article['text']}")


@app.command()
def withdraw(doc_id: Annotated[str, typer.Argument(help="Document id")], data_dir: DataDir = None) -> None:
    """Take a document out of the knowledge base (kept for audit) and out of the index."""
    settings = _settings(data_dir)
    with _errors():
        store = workspace.open_settings_store(settings)
        try:
            if store.get_document(doc_id) is None:
                raise _fail(f"no document with id {doc_id!r}")
            store.withdraw_document(doc_id, actor="kb withdraw")
            updated, _ = workspace.update_index(settings, store)
        finally:
            store.close()
    out.print(f"Withdrew {doc_id}" + (" and updated the index." if updated else "."))


@app.command()
def stats(data_dir: DataDir = None) -> None:
    """Counts of the store and the current index version."""
    from index.persistence import current_version, read_manifest

    settings = _settings(data_dir)
    with _errors():
        store = workspace.open_settings_store(settings)
        try:
            docs = store.list_documents(include_withdrawn=True)
            faqs = store.list_faqs()
            seq = store.last_change_seq()
        finally:
            store.close()
        root = workspace.index_root(settings)
        manifest = read_manifest(root)[1] if current_version(root) else None
    withdrawn = sum(d.withdrawn for d in docs)
    out.print(f"Store: {len(docs) - withdrawn} documents ({withdrawn} withdrawn), {len(faqs)} FAQ entries, "
              f"change seq {seq}")  # fmt: skip
    if manifest is None:
        out.print("Index: none (run `taxbot kb build`)")
        return
    c, e = manifest["counts"], manifest["encoder"]
    out.print(
        f"Index {current_version(root)}: {c['documents']} documents, {c['chunks']} chunks, {c['faqs']} FAQ; "
        f"{manifest['index_kind']}; encoder {e['name']} (dim {e['dim']}); built {manifest['created_at']}; "
        f"store seq {manifest.get('store_seq', 0)}"
    )


@app.command("eval")
def eval_(
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus folder (Markdown regulations)")],
    questions: Annotated[Path, typer.Option("--questions", help="Questions JSONL (12366 eval format)")],
    k: Annotated[int, typer.Option("--k", help="Cut-off for hit@k")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    data_dir: DataDir = None,
) -> None:
    """Score BM25, dense and hybrid retrieval on a fresh temporary index of CORPUS."""
    settings = _settings(data_dir)
    with _errors(), _progress("Building + evaluating") as tick:
        result = workspace.run_eval(settings, corpus, questions, k=k, build_progress=tick, eval_progress=tick)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    table = Table("mode", "hit@1", f"hit@{k}", "MRR", "p50 ms", "p95 ms", title=f"{result['n']} questions")
    for mode in ("bm25", "dense", "hybrid"):
        r = result[mode]
        table.add_row(mode, *(f"{r[x]:.3f}" for x in ("hit@1", f"hit@{k}", "mrr")), f"{r['p50_ms']:.1f}",
                      f"{r['p95_ms']:.1f}")  # fmt: skip
    out.print(table)


try:  # helper-provided command: trains the default embedding model
    from taxbot.cli_model import train_model

    app.command("train-model")(train_model)
except ImportError:  # pragma: no cover - until the trainer lands

    @app.command("train-model")
    def train_model_missing() -> None:
        """Train the default embedding model (trainer not installed)."""
        raise _fail("the embedding-model trainer (taxbot.cli_model) is not available in this checkout")
