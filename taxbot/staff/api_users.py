"""`/api/staff/users`: account management for admins (list, create, change role, disable/enable, reset
password). Cookie requests need the CSRF header like the rest of the API; every change is audit-logged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from taxbot.staff.auth import ApiAdmin, StaffStoreDep
from taxbot.staff.config import FORM_BODY_LIMIT
from taxbot.staff.deps import call
from taxbot.staff.users import PasswordReset, UserAdmin, UserCreate, UserUpdate, UserView

router = APIRouter(prefix="/api/staff/users", tags=["staff users"], max_body_size=FORM_BODY_LIMIT)
Username = Annotated[str, Path(min_length=1, max_length=64)]


def get_user_admin(store: StaffStoreDep) -> UserAdmin:
    return UserAdmin(store)


UsersDep = Annotated[UserAdmin, Depends(get_user_admin)]


def _view(users: list[UserView], username: str) -> UserView:
    return next(u for u in users if u.username == username)


@router.get("")
async def list_users(principal: ApiAdmin, users: UsersDep) -> list[UserView]:
    """Every account with its role, whether it is active and its last login (from the audit log)."""
    return await call(users.list)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, principal: ApiAdmin, users: UsersDep) -> UserView:
    """A new account with an initial password that must pass the strength rule (422 otherwise)."""
    user = await call(users.create, body, principal.user.username)
    return _view(await call(users.list), user.username)


@router.patch("/{username}")
async def update_user(username: Username, body: UserUpdate, principal: ApiAdmin, users: UsersDep) -> UserView:
    """Change the role and/or disable/enable (409 for the last active admin)."""
    await call(users.change, username, body, principal.user.username)
    return _view(await call(users.list), username)


@router.post("/{username}/password", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(
    username: Username, body: PasswordReset, principal: ApiAdmin, users: UsersDep
) -> None:
    """Set a new password; the user's sessions and tokens end at once."""
    await call(users.reset_password, username, body.password, principal.user.username)
