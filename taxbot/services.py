"""Shared objects built once per process (by the app's lifespan or a CLI command). Owned by the index helper."""

from __future__ import annotations

from dataclasses import dataclass

from index.base import Retriever
from taxbot.settings import Settings


@dataclass
class Services:
    settings: Settings
    retriever: Retriever
    store: object | None = None  # knowledge_base.store.KnowledgeStore

    def close(self) -> None:
        """Release resources (database engine, background followers)."""


def build_services(settings: Settings) -> Services:
    """Open the store and load the current index version; raises IndexNotBuilt with what to run."""
    raise NotImplementedError("implemented by the index work")
