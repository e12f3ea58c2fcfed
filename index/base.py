"""The one search protocol used by the bot's actions, the HTTP API, the staff console and `kb eval`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from knowledge_base.models import SearchHit


@runtime_checkable
class Retriever(Protocol):
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
        """Best hits for ``query``, FAQ answers first.

        ``region``: national rules plus that region's local rules (and its province's, for a city);
        never another region's local rules. ``as_of`` (default: today) hides rules not in force
        on that date; ``include_history`` returns them too, marked ``historical``.
        An empty list means "no confident answer" (the bot then offers a human agent).
        """
        ...
