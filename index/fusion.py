"""Rank fusion: pure functions combining several ranked or scored lists into one score per key."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hashable]], *, k: int = 60, weights: Sequence[float] | None = None
) -> dict[Hashable, float]:
    """RRF: sum over lists of ``weight / (k + rank)`` (rank 1-based). Keys missing from a list get nothing."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[Hashable, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused


def max_normalise(scores: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """Scores divided by the largest one (all zero when the largest is not positive)."""
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return dict.fromkeys(scores, 0.0)
    return {key: max(value, 0.0) / top for key, value in scores.items()}


def min_max_normalise(scores: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """Scores mapped linearly onto [0, 1] (all 1.0 when every score is equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low <= 1e-12:
        return dict.fromkeys(scores, 1.0)
    return {key: (value - low) / (high - low) for key, value in scores.items()}


def weighted_score_fusion(
    score_maps: Sequence[Mapping[Hashable, float]], weights: Sequence[float], *, normalise: str = "max"
) -> dict[Hashable, float]:
    """Sum of ``weight * normalised score``; a key missing from one map scores 0 there."""
    if len(score_maps) != len(weights):
        raise ValueError(f"{len(weights)} weights for {len(score_maps)} score maps")
    norm = {"max": max_normalise, "minmax": min_max_normalise}.get(normalise)
    if norm is None:
        raise ValueError(f"unknown normalisation {normalise!r}; expected 'max' or 'minmax'")
    fused: dict[Hashable, float] = {}
    for scores, weight in zip(score_maps, weights, strict=True):
        for key, value in norm(scores).items():
            fused[key] = fused.get(key, 0.0) + weight * value
    return fused
