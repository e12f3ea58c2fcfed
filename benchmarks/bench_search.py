"""Search benchmark on ~10,000 chunks: build, memory, latency (flat vs hnsw), incremental update.

    .venv/bin/python benchmarks/bench_search.py [--model NAME_OR_PATH] [--chunks 10000]

The corpus (../shared/corpus) is loaded and its documents replicated under new ids until the chunk target
is reached. Queries are the dev questions (../shared/eval/dev.jsonl), each with its region and date.
Latency includes encoding the query. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.builder import build_table, make_encoder  # noqa: E402
from index.eval import load_questions  # noqa: E402
from index.hybrid import HybridRetriever  # noqa: E402
from index.persistence import load_version, save_version  # noqa: E402
from knowledge_base.loaders import load_paths  # noqa: E402
from knowledge_base.models import Document  # noqa: E402
from taxbot.settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared"


def replicate(docs: list[Document], target: int) -> list[Document]:
    out = list(docs)
    copy = 1
    while sum(len(d.articles) for d in out) < target:
        for doc in docs:
            new_id = f"{doc.id}-copy{copy}"
            arts = tuple(replace(a, doc_id=new_id) for a in doc.articles)
            title = f"{doc.title}（副本{copy}）"
            out.append(replace(doc, id=new_id, title=title, doc_number="", articles=arts,
                               doc_number_aliases=(), supersedes=(), superseded_by=""))  # fmt: skip
            if sum(len(d.articles) for d in out) >= target:
                break
        copy += 1
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="encoder (default: the configured embedding model)")
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--kinds", default="flat,hnsw")
    args = parser.parse_args()
    if not (SHARED / "corpus").is_dir():
        sys.exit(f"missing {SHARED / 'corpus'}")
    encoder = make_encoder(args.model or Settings().resolved_embedding_model)
    docs = replicate(load_paths([SHARED / "corpus"]).documents, args.chunks)
    questions = load_questions(SHARED / "eval" / "dev.jsonl")
    print(f"encoder {encoder.name} (dim {encoder.dim}); {len(docs)} documents; {len(questions)} queries")

    for kind in args.kinds.split(","):
        started = time.perf_counter()
        table = build_table(docs, [], encoder, kind=kind)
        build_s = time.perf_counter() - started
        n = len(table.rows)
        print(f"\n[{kind}] build {n} chunks: {build_s:.1f} s ({n / build_s:.0f} chunks/s)")
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            save_version(table, Path(tmp))
            save_s = time.perf_counter() - started
            started = time.perf_counter()
            table, _ = load_version(Path(tmp), encoder)
            print(f"[{kind}] save {save_s:.2f} s, load+verify {time.perf_counter() - started:.2f} s")
        retriever = HybridRetriever(table)
        for q in questions[:5]:  # warm caches (model, filters)
            retriever.search(q.question, region=q.region, as_of=q.asked)
        times = []
        for _ in range(2):
            for q in questions:
                started = time.perf_counter()
                retriever.search(q.question, region=q.region, as_of=q.asked)
                times.append((time.perf_counter() - started) * 1000)
        p50, p95 = statistics.median(times), percentile(times, 95)
        print(f"[{kind}] search ({len(times)} queries, encoding included): "
              f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms")  # fmt: skip
        arts = tuple(replace(a, doc_id="bench-new") for a in docs[0].articles)
        doc = replace(docs[0], id="bench-new", articles=arts)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            table.upsert_document(doc)
            add_s = time.perf_counter() - started
            save_version(table, Path(tmp))
            add_saved_s = time.perf_counter() - started
            started = time.perf_counter()
            table.remove_document("bench-new")
            save_version(table, Path(tmp))
            remove_saved_s = time.perf_counter() - started
        print(f"[{kind}] incremental: add one document ({len(arts)} articles) {add_s * 1000:.0f} ms "
              f"({add_saved_s * 1000:.0f} ms incl. saving a new version); withdraw it + save "
              f"{remove_saved_s * 1000:.0f} ms")  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS of this process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
