"""Subscriptions, the push log and the change-log cursor (SQLAlchemy Core; tables from Alembic revision 0700).

* ``subscriptions``: one row per conversation id (the widget's sender id, ``wechat:<openid>``,
  ``sms-<pseudonym>``) with its profile; unsubscribing keeps the row, inactive;
* ``subscription_pushes``: every item the dispatcher meant for a subscriber and what became of it. The
  unique (subscription, item kind, key, version) is the claim: the replica whose insert wins pushes;
* ``subscription_cursor``: the knowledge store's change ``seq`` handled up to, so a restart resumes there.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from knowledge_base import migrations
from taxbot.subscriptions.profile import Item, Profile

metadata = sa.MetaData()
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(160), nullable=False, unique=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("taxpayer_types", sa.Text(), nullable=False),
    sa.Column("tax_types", sa.Text(), nullable=False),
    sa.Column("region", sa.String(40), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_subscriptions_active", "active"),
)
pushes = sa.Table(
    "subscription_pushes",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("subscriptions.id"), nullable=False),
    sa.Column("item_kind", sa.String(10), nullable=False),
    sa.Column("item_key", sa.String(200), nullable=False),
    sa.Column("item_version", sa.String(64), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.UniqueConstraint("subscription_id", "item_kind", "item_key", "item_version", name="uq_push_once"),
    sa.Index("ix_subscription_pushes_sub_at", "subscription_id", "pushed_at"),
    sa.Index("ix_subscription_pushes_at", "pushed_at"),
)
cursors = sa.Table(
    "subscription_cursor",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
SKIPPED_LIMIT, SKIPPED_OPTOUT = "skipped_rate_limit", "skipped_opted_out"
STATUS_LABELS = {
    PENDING: "发送中", DELIVERED: "已送达", FAILED: "未送达", SKIPPED_LIMIT: "超出每日上限未发",
    SKIPPED_OPTOUT: "已退订短信未发",
}  # fmt: skip
COUNTED = (PENDING, DELIVERED, FAILED)  # what uses up a subscriber's daily allowance
CHANGES = "knowledge_changes"
BEIJING = timezone(timedelta(hours=8))


def day_start(now: datetime) -> datetime:
    """Midnight (Beijing time) of ``now``'s day, in UTC: the daily limit counts from there."""
    local = now.astimezone(BEIJING)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Subscription:
    id: int
    conversation_id: str
    channel: str
    profile: Profile
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Push:
    id: int
    conversation_id: str
    channel: str
    item_kind: str
    item_key: str
    title: str
    pushed_at: datetime
    status: str
    detail: str


def _subscription(row: Any) -> Subscription:
    profile = Profile(
        tuple(json.loads(row["tax_types"])), tuple(json.loads(row["taxpayer_types"])), row["region"]
    )
    return Subscription(
        row["id"], row["conversation_id"], row["channel"], profile, bool(row["active"]),
        _utc(row["created_at"]), _utc(row["updated_at"]),
    )  # fmt: skip


def _push(r: Any) -> Push:
    return Push(
        r["id"], r["conversation_id"], r["channel"], r["item_kind"], r["item_key"], r["title"],
        _utc(r["pushed_at"]), r["status"], r["detail"],
    )  # fmt: skip


class SubscriptionStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- subscribers -------------------------------------------------------------------------------
    def subscribe(self, conversation_id: str, channel: str, profile: Profile) -> Subscription:
        """Create or replace the conversation's subscription (active again if it had unsubscribed)."""
        now = _now()
        values = {
            "channel": channel, "tax_types": json.dumps(list(profile.tax_types), ensure_ascii=False),
            "taxpayer_types": json.dumps(list(profile.taxpayer_types), ensure_ascii=False),
            "region": profile.region, "active": True, "updated_at": now,
        }  # fmt: skip
        where = subscriptions.c.conversation_id == conversation_id
        with self.engine.begin() as conn:
            if not conn.execute(sa.update(subscriptions).where(where).values(values)).rowcount:
                conn.execute(
                    sa.insert(subscriptions).values(conversation_id=conversation_id, created_at=now, **values)
                )
        found = self.get(conversation_id)
        assert found is not None
        return found

    def get(self, conversation_id: str) -> Subscription | None:
        """The conversation's active subscription, or None."""
        query = sa.select(subscriptions).where(
            subscriptions.c.conversation_id == conversation_id, subscriptions.c.active.is_(True)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _subscription(row) if row else None

    def unsubscribe(self, conversation_id: str) -> bool:
        """Stop pushes to the conversation; False when it had no active subscription."""
        query = (
            sa.update(subscriptions)
            .where(subscriptions.c.conversation_id == conversation_id, subscriptions.c.active.is_(True))
            .values(active=False, updated_at=_now())
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(query).rowcount)

    def active(self) -> list[Subscription]:
        query = sa.select(subscriptions).where(subscriptions.c.active.is_(True)).order_by(subscriptions.c.id)
        with self.engine.connect() as conn:
            return [_subscription(row) for row in conn.execute(query).mappings()]

    def counts(self) -> dict[str, dict[str, int]]:
        """Active subscriptions by region, tax type, taxpayer type and channel (``不限`` = none chosen)."""
        keys = ("region", "tax_type", "taxpayer_type", "channel")
        result: dict[str, Counter[str]] = {k: Counter() for k in keys}
        for sub in self.active():
            result["region"][sub.profile.region] += 1
            result["channel"][sub.channel] += 1
            result["tax_type"].update(sub.profile.tax_types or ("不限",))
            result["taxpayer_type"].update(sub.profile.taxpayer_types or ("不限",))
        return {k: dict(counter.most_common()) for k, counter in result.items()}

    # -- the change-log cursor ---------------------------------------------------------------------
    def cursor(self) -> int | None:
        with self.engine.connect() as conn:
            query = sa.select(cursors.c.seq).where(cursors.c.name == CHANGES)
            return conn.execute(query).scalar_one_or_none()

    def start_cursor(self, seq: int) -> int:
        """Set the cursor to ``seq`` unless a replica already did; the cursor in force is returned."""
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(cursors).values(name=CHANGES, seq=seq, updated_at=_now()))
        except sa.exc.IntegrityError:
            pass
        found = self.cursor()
        assert found is not None
        return found

    def advance_cursor(self, seq: int) -> None:
        """Move the cursor forward to ``seq`` (never back: a slower replica cannot rewind it)."""
        query = (
            sa.update(cursors)
            .where(cursors.c.name == CHANGES, cursors.c.seq < seq)
            .values(seq=seq, updated_at=_now())
        )
        with self.engine.begin() as conn:
            conn.execute(query)

    # -- pushes ------------------------------------------------------------------------------------
    def claim(self, subscription: Subscription, item: Item, daily_limit: int) -> tuple[int, str] | None:
        """Record that ``item`` goes to ``subscription``: ``(push id, pending)`` to send it, ``(push id,
        skipped_rate_limit)`` when today's allowance is used up, None when it was claimed before."""
        now = _now()
        try:
            with self.engine.begin() as conn:
                # lock the subscriber (PostgreSQL) so two replicas cannot both take the last push of the day
                mine = subscriptions.c.id == subscription.id
                conn.execute(sa.select(subscriptions.c.id).where(mine).with_for_update())
                used = conn.execute(
                    sa.select(sa.func.count()).select_from(pushes).where(
                        pushes.c.subscription_id == subscription.id, pushes.c.pushed_at >= day_start(now),
                        pushes.c.status.in_(COUNTED),
                    )
                ).scalar_one()  # fmt: skip
                status = PENDING if used < daily_limit else SKIPPED_LIMIT
                detail = "" if status == PENDING else f"今日已推送 {used} 条（上限 {daily_limit} 条）"
                push_id = conn.execute(
                    sa.insert(pushes).values(
                        subscription_id=subscription.id, item_kind=item.kind, item_key=item.key,
                        item_version=item.version, title=item.title, pushed_at=now, status=status,
                        detail=detail,
                    )
                ).inserted_primary_key[0]  # fmt: skip
        except sa.exc.IntegrityError:
            return None
        return int(push_id), status

    def finish(self, push_id: int, status: str, detail: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(pushes).where(pushes.c.id == push_id).values(status=status, detail=detail))

    def push_log(self, *, limit: int = 200, status: str | None = None) -> list[Push]:
        """The newest pushes first, with the subscriber's conversation id and channel."""
        query = (
            sa.select(pushes, subscriptions.c.conversation_id, subscriptions.c.channel)
            .join(subscriptions, subscriptions.c.id == pushes.c.subscription_id)
            .order_by(pushes.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(pushes.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_push(r) for r in rows]

    # -- async wrappers (the routes and the dispatcher run on the event loop) -------------------------
    async def asubscribe(self, conversation_id: str, channel: str, profile: Profile) -> Subscription:
        return await asyncio.to_thread(self.subscribe, conversation_id, channel, profile)

    async def aget(self, conversation_id: str) -> Subscription | None:
        return await asyncio.to_thread(self.get, conversation_id)

    async def aunsubscribe(self, conversation_id: str) -> bool:
        return await asyncio.to_thread(self.unsubscribe, conversation_id)

    def close(self) -> None:
        self.engine.dispose()


def open_subscription_store(database_url: str) -> SubscriptionStore:
    """The store on ``database_url``, its schema brought up to date (every migration head)."""
    return SubscriptionStore(migrations.migrated_engine(database_url))
