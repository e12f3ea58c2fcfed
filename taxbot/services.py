"""Shared objects built once per process (by the app's lifespan or a CLI command)."""

from __future__ import annotations

from dataclasses import dataclass

from index.base import Retriever
from index.builder import make_encoder
from index.follow import FollowingRetriever
from index.recovery import open_index
from knowledge_base.store import open_store
from taxbot.settings import Settings


@dataclass
class Services:
    settings: Settings
    retriever: Retriever
    store: object | None = None  # knowledge_base.store.KnowledgeStore

    def close(self) -> None:
        """Release resources (database engine, background followers)."""
        close = getattr(self.store, "close", None)
        if close:
            close()


def build_services(settings: Settings) -> Services:
    """Open the store and the index, recovering a damaged or mismatched index on its own (logged as
    warnings; see ``index.recovery``); raises IndexNotBuilt with what to run when there is nothing yet.

    `taxbot kb search` comes through here too, so it recovers (and publishes the repaired version) the
    same way the app would at its next start, rather than refusing until someone runs `taxbot kb build`.
    """
    store = open_store(settings.resolved_database_url)
    try:
        root = settings.data_dir / "index"
        encoder = make_encoder(settings.resolved_embedding_model)
        retriever = open_index(root, encoder, store, kind=settings.index_kind)
        following = FollowingRetriever(retriever, store, root=root)
        following.sync(force=True)
    except BaseException:
        store.close()
        raise
    return Services(settings=settings, retriever=following, store=store)
