"""Shared objects built once per process (by the app's lifespan or a CLI command)."""

from __future__ import annotations

from dataclasses import dataclass

from index.base import Retriever
from index.builder import load_retriever, make_encoder
from index.follow import FollowingRetriever
from knowledge_base.store import open_store
from taxbot.errors import IndexMismatch
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
    """Open the store and load the current index version; raises IndexNotBuilt with what to run."""
    store = open_store(settings.resolved_database_url)
    try:
        root = settings.data_dir / "index"
        retriever, manifest = load_retriever(root, make_encoder(settings.resolved_embedding_model))
        if manifest.get("index_kind") != settings.index_kind:
            raise IndexMismatch(
                f"index in {root} is {manifest.get('index_kind')!r} but TAXBOT_INDEX_KIND is "
                f"{settings.index_kind!r}; run `taxbot kb build` to rebuild it"
            )
        following = FollowingRetriever(retriever, store, root=root)
        following.sync(force=True)
    except BaseException:
        store.close()
        raise
    return Services(settings=settings, retriever=following, store=store)
