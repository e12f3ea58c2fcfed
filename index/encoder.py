"""Text encoders for dense search: the Encoder protocol, sentence-transformers and a hashing encoder.

Models load lazily in ``warm_up()`` (first use), never at import or construction time.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from taxbot.errors import ConfigError

Progress = Callable[[int, int], None]  # (done, total)


@runtime_checkable
class Encoder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """(n, dim) float32, rows L2-normalised."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or Path(name).is_absolute()


class SentenceTransformerEncoder:
    """A sentence-transformers model given by local path (the default) or by name (must be cached locally)."""

    def __init__(self, model: str, *, batch_size: int = 64, device: str = "cpu") -> None:
        if not model:
            raise ConfigError(
                "embedding model is empty; set TAXBOT_EMBEDDING_MODEL or run `taxbot kb train-model`"
            )
        self.name = model
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()
        self._fingerprint: str | None = None
        self._build_threads = 2

    def _check_path(self) -> None:
        path = Path(self.name).expanduser()
        if _looks_like_path(self.name) and not path.exists():
            raise ConfigError(
                f"embedding model not found at {path}; run `taxbot kb train-model` to train the default "
                "model or set TAXBOT_EMBEDDING_MODEL to an existing sentence-transformers model"
            )

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            self._check_path()
            import torch
            from sentence_transformers import SentenceTransformer

            self._build_threads = torch.get_num_threads()
            try:
                self._model = SentenceTransformer(str(Path(self.name).expanduser()), device=self.device)
            except OSError as exc:
                raise ConfigError(
                    f"cannot load embedding model {self.name!r}: {exc}; run `taxbot kb train-model`"
                ) from exc

    @property
    def dim(self) -> int:
        self.warm_up()
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        return int(getter())

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._check_path()
            path = Path(self.name).expanduser()
            h = hashlib.sha256(self.name.encode())
            if path.is_dir():
                for f in sorted(p for p in path.rglob("*") if p.is_file()):
                    if f.suffix in (".json", ".safetensors", ".bin", ".txt", ".model"):
                        h.update(str(f.relative_to(path)).encode())
                        h.update(hashlib.sha256(f.read_bytes()).digest())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        self.warm_up()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        # a query or two: one thread is faster (no thread hand-off); batches use every core
        torch.set_num_threads(1 if len(texts) <= 4 else self._build_threads)
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            parts.append(self._model.encode(batch, batch_size=self.batch_size, convert_to_numpy=True))
            if progress:
                progress(min(start + self.batch_size, len(texts)), len(texts))
        return _normalise(np.vstack(parts))


class HashingEncoder:
    """Deterministic character n-gram hashing encoder: no model, no training; for tests and as a fallback.

    Each character unigram/bigram/trigram is hashed to a few signed dimensions (a sparse random projection).
    """

    def __init__(self, dim: int = 256, ngrams: tuple[int, ...] = (1, 2, 3)) -> None:
        self._dim = dim
        self.ngrams = ngrams
        self.name = f"hashing-{dim}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def fingerprint(self) -> str:
        return f"hashing-{self._dim}-{'.'.join(map(str, self.ngrams))}"

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        text = "".join(text.split())
        for n in self.ngrams:
            weight = float(n)
            for i in range(len(text) - n + 1):
                h = zlib.crc32(text[i : i + n].encode())
                vec[h % self._dim] += weight if (h >> 16) & 1 else -weight
        return vec

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vector(text)
        if progress:
            progress(len(texts), len(texts))
        return _normalise(out)


def encoder_from_name(name: str) -> Encoder:
    """``hashing[-DIM]`` gives the hashing encoder; anything else is a sentence-transformers model."""
    if name == "hashing" or name.startswith("hashing-"):
        dim = int(name.split("-", 1)[1]) if "-" in name else 256
        return HashingEncoder(dim)
    return SentenceTransformerEncoder(name)
