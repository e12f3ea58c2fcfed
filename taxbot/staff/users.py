"""User management of the console (admins): list with last login, create, change role, disable/enable,
reset password. Every change goes through ``StaffStore`` and lands in the audit log.

Passwords set here must have at least ``MIN_LENGTH`` characters and a zxcvbn score of ``MIN_SCORE`` (of 4):
zxcvbn knows common passwords, dictionary words, keyboard runs and the user's own name, which a length or
character-class rule alone does not. The console never leaves itself without an active admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from zxcvbn import zxcvbn

from taxbot.staff.accounts import USERNAME, LastAdmin, Role, StaffError, StaffStore, StaffUser, UnknownUser
from taxbot.staff.errors import Conflict, Invalid, NotFound

MIN_LENGTH = 10
MIN_SCORE = 3
PASSWORD_RULE = f"密码至少 {MIN_LENGTH} 位，且不能是常见密码、单词、键盘序列或包含用户名。"
ROLE_LABELS = {"agent": "坐席", "reviewer": "审核员", "admin": "管理员"}
RoleName = Literal["agent", "reviewer", "admin"]


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: RoleName
    password: str = Field(min_length=1, max_length=256)


class UserUpdate(BaseModel):
    role: RoleName | None = None
    active: bool | None = None


class PasswordReset(BaseModel):
    password: str = Field(min_length=1, max_length=256)


class UserView(BaseModel):
    username: str
    role: str
    active: bool
    created_at: datetime
    last_login: datetime | None = None


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` is too weak for ``username`` (in Chinese), or None when it is strong enough."""
    if len(password) < MIN_LENGTH:
        return f"密码太短：至少 {MIN_LENGTH} 位。"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名。"
    # zxcvbn only looks at the first 100 characters (its own limit against slow matching)
    if zxcvbn(password[:100], user_inputs=[username, "taxbot", "12366"])["score"] < MIN_SCORE:
        return "密码太容易被猜到（常见密码、单词、日期或键盘序列），请换一个更长、更随机的密码。"
    return None


class UserAdmin:
    """The admin's account operations; errors are WorkflowErrors with messages for people."""

    def __init__(self, store: StaffStore) -> None:
        self.store = store

    def list(self) -> list[UserView]:
        logins = self.store.last_logins()
        return [
            UserView(
                username=u.username, role=str(u.role), active=u.active, created_at=u.created_at,
                last_login=logins.get(u.username),
            )
            for u in self.store.list_users()
        ]  # fmt: skip

    def create(self, body: UserCreate, actor: str) -> StaffUser:
        if not USERNAME.match(body.username):
            raise Invalid(f"用户名 {body.username!r} 不可用：2–64 位字母、数字、“_”“.”或“-”。")
        if self.store.get_user(body.username) is not None:
            raise Conflict(f"用户名 {body.username} 已存在。")
        problem = password_problem(body.password, body.username)
        if problem:
            raise Invalid(problem + PASSWORD_RULE)
        try:
            return self.store.add_user(body.username, body.password, Role(body.role), actor=actor)
        except StaffError as exc:  # created by someone else in the meantime
            raise Conflict(f"无法创建用户 {body.username}：{exc}") from None

    def change(self, username: str, body: UserUpdate, actor: str) -> StaffUser:
        if body.role is None and body.active is None:
            raise Invalid("请给出要修改的角色（role）或启用状态（active）。")
        try:
            return self.store.update_user(
                username, role=None if body.role is None else Role(body.role), active=body.active, actor=actor
            )
        except UnknownUser:
            raise NotFound(f"没有用户 {username}。") from None
        except LastAdmin:
            raise Conflict(
                f"{username} 是最后一个启用的管理员，不能停用或降级；请先让另一位用户成为管理员。"
            ) from None

    def reset_password(self, username: str, password: str, actor: str) -> None:
        if self.store.get_user(username) is None:
            raise NotFound(f"没有用户 {username}。")
        problem = password_problem(password, username)
        if problem:
            raise Invalid(problem + PASSWORD_RULE)
        try:
            self.store.set_password(username, password, actor=actor)
        except UnknownUser:
            raise NotFound(f"没有用户 {username}。") from None
