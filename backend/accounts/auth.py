"""Who sent the request: the session cookie resolved once, before the handler, into
`request.user` (an `Account`, or None signed out), and the guards that routes declare.

The lookup runs on every signed-in request, so it is one prepared statement on the driver
(the account, its session, whether it is premium and any email change waiting, in one round
trip), without the ORM and without a transaction: in a py-spy profile the ORM version cost
three times the CPU of the whole rest of `GET /me` (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.sessions import IDLE, TOUCH_EVERY, cookie_name
from backend.entitlements.models import SubscriptionStatus as Status
from backend.entitlements.premium import PAST_DUE_GRACE, RENEWAL_SLACK
from backend.settings import Settings
from backend.web.errors import NotAuthenticatedError, PremiumRequiredError
from sync.driver import driver


@dataclass(frozen=True, slots=True)
class Account:
    """The signed-in account as the request's session found it."""

    id: uuid.UUID
    email: str
    display_name: str | None
    email_verified: bool
    created_at: datetime
    password_change_required: bool
    premium: bool
    pending_email: str | None
    """A new address waiting for confirmation (an email change), if any."""
    session_id: uuid.UUID


def _interval(seconds: float) -> str:
    return f"interval '{int(seconds)} seconds'"


# One round trip. The premium rule is backend/entitlements/premium.py's `premium_condition` in SQL.
ACCOUNT_FOR_TOKEN = f"""
SELECT u.id, u.email, u.display_name, u.email_verified, u.created_at,
       u.password_change_required,
       EXISTS (
           SELECT 1 FROM subscriptions b
           WHERE b.user_id = u.id AND (
               (b.status IN ('{Status.ACTIVE}', '{Status.TRIALING}')
                AND b.current_period_end + {_interval(RENEWAL_SLACK.total_seconds())} > now())
               OR (b.status = '{Status.PAST_DUE}'
                   AND b.current_period_end + {_interval(PAST_DUE_GRACE.total_seconds())} > now())
               OR (b.status = '{Status.CANCELED}' AND b.current_period_end > now()))
       ) AS premium,
       (SELECT t.email FROM email_tokens t
        WHERE t.user_id = u.id AND t.purpose = 'verify_email' AND t.used_at IS NULL
          AND t.expires_at > now() AND t.email <> u.email
        ORDER BY t.created_at DESC LIMIT 1) AS pending_email,
       s.id AS session_id,
       s.last_used_at < now() - {_interval(TOUCH_EVERY.total_seconds())} AS stale
FROM user_sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now()
  AND s.last_used_at > now() - {_interval(IDLE.total_seconds())}
  AND u.deleted_at IS NULL
"""  # noqa: S608 — built from constants; tests/integration/test_auth.py checks the rule
TOUCH = "UPDATE user_sessions SET last_used_at = now() WHERE id = $1"


async def account_for(engine: AsyncEngine, token: str) -> Account | None:
    """The account whose live session `token` is; its last use noted every few minutes."""
    digest = hashlib.sha256(token.encode()).digest()
    async with engine.connect() as conn, driver(conn) as raw:
        row = await raw.fetchrow(ACCOUNT_FOR_TOKEN, digest)
        if row is None:
            return None
        if row["stale"]:
            await raw.execute(TOUCH, row["session_id"])
    return Account(*tuple(row)[:-1])  # the columns in the fields' order, then `stale`


def authentication(app: ASGIApp) -> ASGIApp:
    """Middleware: `scope["user"]` is the session's `Account`, or None (no or a dead session)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        scope["user"] = None
        request: Request[Any, Any, Any] = Request(scope)
        settings: Settings = request.app.state.settings
        token = request.cookies.get(cookie_name(secure=settings.is_production))
        if token:
            scope["user"] = await account_for(request.app.state.engine, token)
        await app(scope, receive, send)

    return middleware


# Guards are coroutines: Litestar runs a plain function guard in a worker thread. They let
# OPTIONS through: Litestar's own OPTIONS answer (the path's methods) inherits the router's
# guards, and tells nothing private.


def _options(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return getattr(connection, "method", None) == "OPTIONS"  # a Request has a method


async def requires_user(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: 401 `not_authenticated` signed out."""
    if not _options(connection) and connection.scope.get("user") is None:
        raise NotAuthenticatedError("Sign in to continue")


async def requires_premium(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: 401 signed out, 403 `premium_required` without premium."""
    await requires_user(connection, handler)
    account: Account | None = connection.scope.get("user")
    if not _options(connection) and account is not None and not account.premium:
        raise PremiumRequiredError("Sync and server history are part of Calcapp Premium")


def provide_account(request: Request[Any, Any, Any]) -> Account:
    """The signed-in account, for handlers behind `requires_user` or `requires_premium`."""
    account: Account | None = request.scope.get("user")
    if account is None:  # a route that forgot its guard
        raise NotAuthenticatedError("Sign in to continue")
    return account
