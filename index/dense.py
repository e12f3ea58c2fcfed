"""Dense search over FAISS: flat (exact), HNSW or IVF inner-product indexes keyed by int64 chunk keys."""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

from taxbot.errors import ConfigError

INDEX_KINDS = ("flat", "hnsw", "ivf")


class DenseIndex:
    """Vectors are L2-normalised, so inner product = cosine. Removal: flat/ivf remove, hnsw masks."""

    def __init__(self, dim: int, kind: str = "flat", *, hnsw_m: int = 32, ef_search: int = 128) -> None:
        if kind not in INDEX_KINDS:
            raise ConfigError(f"unknown index kind {kind!r}; expected one of {', '.join(INDEX_KINDS)}")
        self.dim = dim
        self.kind = kind
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self._index: faiss.Index | None = None
        self._removed: set[int] = set()  # HNSW cannot delete: removed keys are masked at search time

    def _new_index(self, n_train: int) -> faiss.Index:
        if self.kind == "flat":
            inner = faiss.IndexFlatIP(self.dim)
        elif self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = self.ef_search
        else:
            nlist = max(1, min(1024, int(math.sqrt(max(n_train, 1))) // 2))
            inner = faiss.IndexIVFFlat(
                faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT
            )
            inner.nprobe = max(1, nlist // 4)
            return inner  # IVF stores ids itself (an IDMap over IVF renumbers wrongly on removal)
        return faiss.IndexIDMap2(inner)

    def build(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self._removed.clear()
        self._index = self._new_index(len(keys))
        if self.kind == "ivf" and len(keys):
            self._index.train(np.ascontiguousarray(vectors, dtype=np.float32))
        self.add(keys, vectors)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        if self._index is None:
            self.build(np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32))
        if not len(keys):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dim:
            raise ConfigError(
                f"vector dimension {vectors.shape[1]} does not match the index dimension {self.dim}"
            )
        if self.kind == "ivf" and not self._index.is_trained:
            self._index.train(vectors)
        self._index.add_with_ids(vectors, np.asarray(keys, dtype=np.int64))
        self._removed.difference_update(int(k) for k in keys)

    def remove(self, keys: np.ndarray) -> None:
        if self._index is None or not len(keys):
            return
        if self.kind == "hnsw":
            self._removed.update(int(k) for k in keys)
        else:
            self._index.remove_ids(np.asarray(keys, dtype=np.int64))

    @property
    def ntotal(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal) - len(self._removed)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (keys, scores) for one query vector, restricted to ``allowed`` keys when given.

        Filtering first searches unfiltered for a few times ``k`` and drops disallowed keys (fast, exact
        when enough survive); only a very selective filter falls back to FAISS's ID selector.
        """
        if self._index is None or self._index.ntotal == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        removed = np.fromiter(self._removed, dtype=np.int64) if self._removed else None
        wide = min(int(self._index.ntotal), 3 * k + len(self._removed))
        ids, scores = self._search(q, wide, None)
        keep = np.ones(len(ids), dtype=bool)
        if removed is not None:
            keep &= ~np.isin(ids, removed)
        if allowed is not None:
            keep &= np.isin(ids, allowed)
        if keep.sum() >= k or wide >= self._index.ntotal:
            return ids[keep][:k], scores[keep][:k]
        keys = np.asarray(allowed if allowed is not None else [], dtype=np.int64)
        if allowed is None:
            sel: faiss.IDSelector = faiss.IDSelectorNot(faiss.IDSelectorBatch(removed))
        else:
            if removed is not None:
                keys = keys[~np.isin(keys, removed)]
            if not len(keys):
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            sel = faiss.IDSelectorBatch(keys)
        return self._search(q, k, sel)

    def _search(self, q: np.ndarray, k: int, sel: faiss.IDSelector | None) -> tuple[np.ndarray, np.ndarray]:
        if faiss.omp_get_max_threads() != 1:
            # one query at a time: OpenMP threads only add overhead (10x slower on a busy 2-core box)
            faiss.omp_set_num_threads(1)
        params = None
        if sel is not None:
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.ef_search, k))
            elif self.kind == "ivf":
                params = faiss.SearchParametersIVF(sel=sel, nprobe=self._index.nprobe)
            else:
                params = faiss.SearchParameters(sel=sel)
        elif self.kind == "hnsw" and k > self.ef_search:
            params = faiss.SearchParametersHNSW(efSearch=k)
        scores, ids = self._index.search(q, k, params=params)
        mask = ids[0] >= 0
        return ids[0][mask].astype(np.int64), scores[0][mask].astype(np.float32)

    def save(self, path: Path) -> None:
        if self._index is None:
            self.build(np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32))
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, *, kind: str, dim: int, removed: set[int] | None = None) -> DenseIndex:
        dense = cls(dim, kind)
        dense._index = faiss.read_index(str(path))
        if dense._index.d != dim:
            raise ConfigError(f"FAISS index {path} has dimension {dense._index.d}, expected {dim}")
        if kind == "hnsw":
            faiss.downcast_index(dense._index.index).hnsw.efSearch = dense.ef_search
        dense._removed = set(removed or ())
        return dense
