"""Request and response bodies of the accounts API (msgspec; unknown fields are refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

# The data-architecture document's email format (users.email_format) and limits.
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
Email = Annotated[
    str,
    msgspec.Meta(min_length=6, max_length=255, pattern=EMAIL_PATTERN, examples=["ada@example.com"]),
]
# The rules themselves are checked by the service, which explains them in words.
NewPassword = Annotated[
    str,
    msgspec.Meta(
        max_length=1000,
        description="12-128 characters, not a known breached or common password",
    ),
]
# Sign-in accepts anything a user might have typed, within reason.
AnyPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
# PostgreSQL text cannot hold NUL (U+0000): refuse it here rather than fail on storing it.
NO_NUL = r"^[^\x00]*$"
DisplayName = Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]
Token = Annotated[str, msgspec.Meta(min_length=10, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]


class Input(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Base of request bodies."""


class SignupIn(Input, frozen=True):
    email: Email
    password: NewPassword
    display_name: DisplayName | None = None


class LoginIn(Input, frozen=True):
    email: Email
    password: AnyPassword


class EmailIn(Input, frozen=True):
    email: Email


class TokenIn(Input, frozen=True):
    token: Token


class ResetPasswordIn(Input, frozen=True):
    token: Token
    password: NewPassword


class PasswordChangeIn(Input, frozen=True):
    current_password: AnyPassword
    new_password: NewPassword


class PasswordIn(Input, frozen=True):
    password: AnyPassword


class ProfileIn(Input, frozen=True):
    display_name: DisplayName | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    current_password: AnyPassword | msgspec.UnsetType = msgspec.UNSET
    """Needed with a new `email`."""


class Me(msgspec.Struct, frozen=True):
    id: uuid.UUID
    email: str
    display_name: str | None
    email_verified: bool
    pending_email: str | None
    created_at: datetime
    premium: bool
    password_change_required: bool = False
    """The password fails the current rules: the account page asks for a new one."""


class SessionState(msgspec.Struct, frozen=True):
    account: Me | None
    """None: nobody is signed in."""


class SessionOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    device: str
    """From the user agent only, such as "Firefox on Windows"."""
    created_at: datetime
    last_used_at: datetime
    current: bool


class Sessions(msgspec.Struct, frozen=True):
    items: list[SessionOut]


class Message(msgspec.Struct, frozen=True):
    detail: str


class EmailConfirmed(msgspec.Struct, frozen=True):
    detail: str
    email: str
