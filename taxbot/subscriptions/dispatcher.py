"""The push dispatcher: follows the knowledge store's change log and pushes new items to their subscribers.

Each round reads ``changes_since(cursor)``; every document or FAQ entry changed there is looked at as it is
now (several changes of one item in a round count once). Pushed are published FAQ entries and documents
that are in force, or will be from their effective date (``自…起施行``); drafts, withdrawn, repealed or
expired items never. For each matching active subscription (``profile.matches``) the push is claimed in
the database first (unique per subscription, item and version — documents are versioned by content hash,
FAQ entries by their version number), so app replicas running the same round never push twice. A
subscriber gets at most ``daily_limit`` pushes a day (Beijing time); further items are logged as
``skipped_rate_limit`` and not sent (the taxpayer can still ask the bot about them).

The cursor moves on after the round, so a crash mid-round repeats it and the claims skip what was done;
the first start puts the cursor at the current end of the log: the existing knowledge base is not pushed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime

import sqlalchemy as sa

from channels.masking import get_logger
from knowledge_base.models import FaqStatus
from knowledge_base.store import KnowledgeStore
from knowledge_base.store import schema as kb_tables
from knowledge_base.store.codec import Change
from taxbot.delivery import DeliveryResult
from taxbot.errors import TaxbotError
from taxbot.subscriptions.profile import Item, matches, notice
from taxbot.subscriptions.store import (
    BEIJING,
    DELIVERED,
    FAILED,
    PENDING,
    SKIPPED_OPTOUT,
    Subscription,
    SubscriptionStore,
)

logger = get_logger(__name__)
Deliver = Callable[..., Awaitable[DeliveryResult]]  # taxbot.delivery.Delivery.deliver


def _today() -> date:
    return datetime.now(BEIJING).date()


class Dispatcher:
    """One per app (``app.state.subscription_dispatcher``); ``run`` is its background loop."""

    def __init__(
        self,
        store: SubscriptionStore,
        kb: KnowledgeStore,
        deliver: Deliver,
        *,
        daily_limit: int = 3,
        interval: float = 5.0,
        today: Callable[[], date] = _today,
    ) -> None:
        self.store, self.kb, self.deliver = store, kb, deliver
        self.daily_limit, self.interval, self.today = daily_limit, interval, today

    async def start(self) -> int:
        """Put the cursor at the end of the change log unless it is set already; returns the cursor."""
        return await asyncio.to_thread(lambda: self.store.start_cursor(self.kb.last_change_seq()))

    async def run(self) -> None:
        """Rounds every ``interval`` seconds until cancelled; a failed round is logged and retried."""
        while True:
            try:
                await self.run_once()
            except (sa.exc.SQLAlchemyError, TaxbotError, OSError) as exc:
                logger.error("subscription round failed, retried in %ss: %s", self.interval, exc)
            except Exception:  # the loop's edge: a bug in one round must not end the pushes for good
                logger.exception("subscription round failed, retried in %ss", self.interval)
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """One round: push what changed since the cursor; returns how many pushes were delivered."""
        cursor = await asyncio.to_thread(self.store.cursor)
        if cursor is None:
            await self.start()
            return 0
        changes = await asyncio.to_thread(self.kb.changes_since, cursor)
        if not changes:
            return 0
        items = await asyncio.to_thread(self._items, changes)
        delivered = 0
        if items:
            subscribers = await asyncio.to_thread(self.store.active)
            for item in items:
                for subscription in subscribers:
                    if matches(subscription.profile, item):
                        delivered += await self._push(subscription, item)
        await asyncio.to_thread(self.store.advance_cursor, changes[-1].seq)
        return delivered

    async def _push(self, subscription: Subscription, item: Item) -> int:
        claimed = await asyncio.to_thread(self.store.claim, subscription, item, self.daily_limit)
        if claimed is None or claimed[1] != PENDING:
            return 0  # pushed by another replica or an earlier round / over today's limit (logged)
        push_id = claimed[0]
        result = await self.deliver(subscription.conversation_id, notice(item), role="bot")
        if result.delivered:
            status, detail = DELIVERED, ""
        elif result.problem == "opted_out":  # 退订 stops every SMS of the service, subscriptions included
            status, detail = SKIPPED_OPTOUT, result.message
            await asyncio.to_thread(self.store.unsubscribe, subscription.conversation_id)
        else:
            status, detail = FAILED, result.message
        await asyncio.to_thread(self.store.finish, push_id, status, detail)
        logger.info("subscription push %s of %s %s to %s: %s", push_id, item.kind, item.key,
                    subscription.conversation_id, status)  # fmt: skip
        return int(status == DELIVERED)

    # -- reading the knowledge store (in a worker thread) ------------------------------------------
    def _items(self, changes: list[Change]) -> list[Item]:
        latest = {(c.kind, c.key): c for c in changes}  # several changes of one item: its state now
        items = [self._item(kind, key) for kind, key in latest]
        return [item for item in items if item is not None]

    def _item(self, kind: str, key: str) -> Item | None:
        today = self.today()
        if kind == "faq":
            faq = self.kb.get_faq(key)
            if faq is None or faq.status != FaqStatus.PUBLISHED:
                return None
            if not faq.in_force(max(today, faq.valid_from or today)):
                return None
            return Item("faq", key, f"v{faq.version}", faq.question, faq.region, faq.tax_types)
        if kind != "document":
            return None
        doc = self.kb.get_document(key)
        if doc is None or not doc.in_force(max(today, doc.effective or today)):
            return None  # withdrawn, repealed or expired
        with self.kb.engine.connect() as conn:
            digest = conn.execute(
                sa.select(kb_tables.documents.c.content_hash).where(kb_tables.documents.c.id == key)
            ).scalar_one()
        when = f"自{doc.effective:%Y年%m月%d日}起施行" if doc.effective and doc.effective > today else ""
        return Item("document", key, digest, doc.title, doc.region, doc.tax_types, doc.doc_number, note=when)
