"""Staff accounts, sessions, API tokens and the staff audit log, in the knowledge store's database."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from taxbot.errors import TaxbotError
from taxbot.staff import tables as t

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# verified against when the user does not exist, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class Role(StrEnum):
    AGENT = "agent"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class StaffError(TaxbotError):
    """A bad account operation (duplicate user, weak password, unknown name)."""


class UnknownUser(StaffError):
    """No account with that user name."""


class LastAdmin(StaffError):
    """The change would leave the console without an active administrator."""


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Session:
    user: StaffUser
    csrf_token: str
    expires_at: datetime


def now() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _user(row: Any) -> StaffUser:
    return StaffUser(
        id=row["id"], username=row["username"], role=Role(row["role"]), active=bool(row["active"]),
        created_at=_aware(row["created_at"]),
    )  # fmt: skip


class StaffStore:
    """Accounts and audit over an SQLAlchemy engine (migrated by ``knowledge_base.store.open_store``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- users ------------------------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: Role, *, actor: str = "system") -> StaffUser:
        if not USERNAME.match(username):
            raise StaffError(f"bad user name {username!r}: 2-64 letters, digits, '_', '.' or '-'")
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).first():
                raise StaffError(f"user {username!r} exists already")
            conn.execute(
                sa.insert(t.users).values(
                    username=username, password_hash=_hasher.hash(password), role=str(role), active=True,
                    created_at=now(),
                )
            )  # fmt: skip
            self._audit(conn, actor, "add_user", "user", username, after=str(role))
        user = self.get_user(username)
        assert user is not None
        return user

    def get_user(self, username: str) -> StaffUser | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).mappings().first()
        return _user(row) if row else None

    def list_users(self) -> list[StaffUser]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.users).order_by(t.users.c.username)).mappings().all()
        return [_user(r) for r in rows]

    def set_active(self, username: str, active: bool, *, actor: str = "system") -> None:
        """The operator's switch (CLI): unlike ``update_user`` it may disable the last admin."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).mappings().first()
            if row is None:
                raise UnknownUser(f"no user named {username!r}")
            conn.execute(sa.update(t.users).where(t.users.c.id == row["id"]).values(active=active))
            if not active:  # a disabled account loses its sessions and tokens at once
                self._end_access(conn, row["id"])
            action = "enable_user" if active else "disable_user"
            self._audit(conn, actor, action, "user", username, before=str(row["active"]), after=str(active))

    def update_user(
        self, username: str, *, role: Role | None = None, active: bool | None = None, actor: str = "system"
    ) -> StaffUser:
        """Change the role and/or the active flag; refuses (LastAdmin) to leave no active admin.

        The admin rows are locked (``FOR UPDATE`` on PostgreSQL) so two admins demoting each other at once
        cannot both succeed; a disabled account loses its sessions and tokens at once.
        """
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).mappings().first()
            if row is None:
                raise UnknownUser(f"no user named {username!r}")
            old_role, old_active = Role(row["role"]), bool(row["active"])
            new_role = old_role if role is None else role
            new_active = old_active if active is None else active
            if old_role == Role.ADMIN and old_active and not (new_role == Role.ADMIN and new_active):
                admins = conn.execute(
                    sa.select(t.users.c.id)
                    .where(t.users.c.role == str(Role.ADMIN), t.users.c.active.is_(True))
                    .with_for_update()
                ).all()
                if len(admins) <= 1:
                    raise LastAdmin(f"{username!r} is the last active admin")
            conn.execute(
                sa.update(t.users)
                .where(t.users.c.id == row["id"])
                .values(role=str(new_role), active=new_active)
            )
            if new_role != old_role:
                self._audit(conn, actor, "change_role", "user", username, before=old_role, after=new_role)
            if new_active != old_active:
                action = "enable_user" if new_active else "disable_user"
                self._audit(
                    conn, actor, action, "user", username, before=str(old_active), after=str(new_active)
                )
            if not new_active:
                self._end_access(conn, row["id"])
        user = self.get_user(username)
        assert user is not None
        return user

    def set_password(self, username: str, password: str, *, actor: str = "system") -> None:
        """A new password (strength is checked by the caller); the user's sessions and tokens end."""
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).first()
            if row is None:
                raise UnknownUser(f"no user named {username!r}")
            conn.execute(
                sa.update(t.users).where(t.users.c.id == row.id).values(password_hash=_hasher.hash(password))
            )
            self._end_access(conn, row.id)
            self._audit(conn, actor, "reset_password", "user", username)

    def last_logins(self) -> dict[str, datetime]:
        """User name -> time of the latest login (from the audit log's ``login`` entries)."""
        query = (
            sa.select(t.audit.c.key, sa.func.max(t.audit.c.at))
            .where(t.audit.c.action == "login", t.audit.c.kind == "user")
            .group_by(t.audit.c.key)
        )
        with self.engine.connect() as conn:
            return {key: _aware(at) for key, at in conn.execute(query).all()}

    @staticmethod
    def _end_access(conn: sa.Connection, user_id: int) -> None:
        conn.execute(sa.delete(t.sessions).where(t.sessions.c.user_id == user_id))
        conn.execute(sa.delete(t.tokens).where(t.tokens.c.user_id == user_id))

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        """The active user with these credentials, else None (same cost either way)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).mappings().first()
        try:
            _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row["active"]:
            return None
        return _user(row)

    # -- sessions and tokens ----------------------------------------------------------------------
    def create_session(self, user: StaffUser, lifetime: timedelta) -> tuple[str, Session]:
        """(session id for the cookie, session); only the id's hash is stored."""
        session_id = secrets.token_urlsafe(32)
        session = Session(user=user, csrf_token=secrets.token_urlsafe(32), expires_at=now() + lifetime)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.sessions).where(t.sessions.c.expires_at < now()))
            conn.execute(
                sa.insert(t.sessions).values(
                    id_hash=digest(session_id), user_id=user.id, csrf_token=session.csrf_token,
                    created_at=now(), expires_at=session.expires_at,
                )
            )  # fmt: skip
            self._audit(conn, user.username, "login", "user", user.username)
        return session_id, session

    def get_session(self, session_id: str) -> Session | None:
        query = (
            sa.select(t.sessions.c.csrf_token, t.sessions.c.expires_at, t.users)
            .join(t.users, t.users.c.id == t.sessions.c.user_id)
            .where(t.sessions.c.id_hash == digest(session_id))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or not row["active"] or _aware(row["expires_at"]) <= now():
            return None
        return Session(user=_user(row), csrf_token=row["csrf_token"], expires_at=_aware(row["expires_at"]))

    def end_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.sessions).where(t.sessions.c.id_hash == digest(session_id)))

    def create_token(self, user: StaffUser, lifetime: timedelta) -> tuple[str, datetime]:
        token = "stf_" + secrets.token_urlsafe(32)
        expires = now() + lifetime
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(t.tokens).values(
                    token_hash=digest(token), user_id=user.id, created_at=now(), expires_at=expires
                )
            )
            self._audit(conn, user.username, "create_token", "user", user.username)
        return token, expires

    def user_for_token(self, token: str) -> StaffUser | None:
        query = (
            sa.select(t.tokens.c.expires_at, t.users)
            .join(t.users, t.users.c.id == t.tokens.c.user_id)
            .where(t.tokens.c.token_hash == digest(token))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or not row["active"] or _aware(row["expires_at"]) <= now():
            return None
        return _user(row)

    # -- audit ------------------------------------------------------------------------------------
    def audit(
        self, actor: str, action: str, kind: str, key: str, *, before: str = "", after: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        with self.engine.begin() as conn:
            self._audit(conn, actor, action, kind, key, before=before, after=after, detail=detail)

    @staticmethod
    def _audit(
        conn: sa.Connection, actor: str, action: str, kind: str, key: str, *, before: str = "",
        after: str = "", detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        conn.execute(
            sa.insert(t.audit).values(
                at=now(), actor=actor, action=action, kind=kind, key=key, before=before, after=after,
                detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
            )
        )  # fmt: skip

    def audit_log(self, *, limit: int = 200, kind: str | None = None, key: str | None = None) -> list[dict]:
        """Newest first: at, actor, action, kind, key, before, after, detail (a dict)."""
        query = sa.select(t.audit).order_by(t.audit.c.id.desc()).limit(limit)
        if kind:
            query = query.where(t.audit.c.kind == kind)
        if key:
            query = query.where(t.audit.c.key == key)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{**r, "at": _aware(r["at"]), "detail": json.loads(r["detail"] or "{}")} for r in rows]
