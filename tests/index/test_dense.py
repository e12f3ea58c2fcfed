from pathlib import Path

import numpy as np
import pytest

from index.dense import DenseIndex
from taxbot.errors import ConfigError


def _vectors(n: int = 400, d: int = 16) -> np.ndarray:
    v = np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_search_filter_remove_and_reload(kind: str, tmp_path: Path):
    v = _vectors()
    keys = np.arange(len(v), dtype=np.int64) + 1000
    index = DenseIndex(16, kind)
    index.build(keys, v)
    found, scores = index.search(v[7], 3)
    assert found[0] == 1007 and scores[0] == pytest.approx(1.0, abs=1e-5)
    allowed, _ = index.search(v[7], 5, allowed=np.array([1007, 1010], dtype=np.int64))
    assert set(allowed) <= {1007, 1010}
    index.remove(np.array([1007]))
    assert 1007 not in index.search(v[7], 5)[0]
    assert index.ntotal == len(v) - 1
    index.save(tmp_path / "d.faiss")
    again = DenseIndex.load(tmp_path / "d.faiss", kind=kind, dim=16, removed=index._removed)
    assert 1007 not in again.search(v[7], 5)[0]
    assert again.search(v[8], 1)[0][0] == 1008


def test_bad_kind_and_dimension():
    with pytest.raises(ConfigError, match="unknown index kind 'annoy'"):
        DenseIndex(8, "annoy")
    index = DenseIndex(8)
    with pytest.raises(ConfigError, match="dimension 16 does not match"):
        index.add(np.array([1]), _vectors(1, 16))
