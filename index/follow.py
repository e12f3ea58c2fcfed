"""A retriever that follows the knowledge store: changes by staff or `kb ingest` are searchable at once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from index.builder import apply_changes
from index.hybrid import HybridRetriever
from knowledge_base.models import SearchHit

log = logging.getLogger(__name__)


class FollowingRetriever:
    """Delegates to a HybridRetriever; before a search, at most once per ``interval`` seconds,
    applies the store's new changes (and persists them as a new index version)."""

    def __init__(self, inner: HybridRetriever, store, *, root: Path | None, interval: float = 1.0) -> None:
        self.inner = inner
        self.store = store
        self.root = root
        self.interval = interval
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def table(self):
        return self.inner.table

    def sync(self, *, force: bool = False) -> int:
        """Apply pending store changes now (``force``) or if the last check is older than ``interval``."""
        now = time.monotonic()
        if not force and now - self._checked < self.interval:
            return 0
        with self._lock:
            self._checked = now
            if self.store.last_change_seq() <= self.inner.store_seq:
                return 0
            return apply_changes(self.inner, self.store, root=self.root)

    def search(
        self,
        query: str,
        *,
        region: str | None = None,
        as_of: date | None = None,
        tax_types: Sequence[str] | None = None,
        k: int = 5,
        include_history: bool = False,
    ) -> list[SearchHit]:
        try:
            self.sync()
        except Exception:  # a store hiccup must not stop searching the index we have
            log.exception("could not apply knowledge-store changes; searching the current index")
        return self.inner.search(
            query, region=region, as_of=as_of, tax_types=tax_types, k=k, include_history=include_history
        )

    def related_faqs(
        self,
        query: str,
        *,
        region: str | None = None,
        as_of: date | None = None,
        tax_types: Sequence[str] | None = None,
        k: int = 3,
        min_score: float | None = None,
    ) -> list[SearchHit]:
        """FAQ suggestions for "did you mean ...?" (see ``HybridRetriever.related_faqs``)."""
        try:
            self.sync()
        except Exception:  # as in search(): keep answering from the index we have
            log.exception("could not apply knowledge-store changes; searching the current index")
        return self.inner.related_faqs(
            query, region=region, as_of=as_of, tax_types=tax_types, k=k, min_score=min_score
        )
