"""Premium accounts in browser tests: made through the API and the operator's command, and
what the server holds for them."""

from __future__ import annotations

import re
from typing import NamedTuple

import pytest
from playwright.sync_api import Locator, Page, expect

from backend.db.server import connect
from e2e.accounts import new_account, sign_in
from e2e.calculator import history_entries, open_calculator, type_expression
from testkit.support import calcapp_env, run_async, run_calcapp

SYNC_TEXT = re.compile(r"^(Synced|Offline|Sync |\d+ waiting)")
# Seconds: a retry after a failure waits 1 s, then 2, 4, 8 … (with jitter).
RETRY_TIMEOUT_MS = 45_000


class Row(NamedTuple):
    device_id: str | None
    seq: int | None
    expression: str
    deleted: bool


async def _rows(database_url: str, email: str) -> list[Row]:
    conn = await connect(database_url)
    try:
        records = await conn.fetch(
            "SELECT h.device_id::text, h.seq, h.expression, h.deleted_at IS NOT NULL"
            " FROM calculation_history h JOIN users u ON u.id = h.user_id"
            " WHERE u.email = $1",
            email,
        )
    finally:
        await conn.close()
    return [Row(*record) for record in records]


def server_rows(database_url: str, email: str) -> list[Row]:
    """Every history row the server holds for the account, deleted ones included."""
    return run_async(_rows(database_url, email))


def live_expressions(database_url: str, email: str) -> list[str]:
    rows = server_rows(database_url, email)
    assert len({(r.device_id, r.seq) for r in rows}) == len(rows), rows  # no duplicate
    return sorted(r.expression for r in rows if not r.deleted)


def calcapp(database_url: str, *args: str) -> None:
    done = run_calcapp(*args, env=calcapp_env(DATABASE_URL=database_url))
    assert done.returncode == 0, done.stderr


def premium_account(base_url: str, database_url: str, *, premium: bool = True) -> str:
    """A new account, with premium granted by the operator."""
    email = new_account(base_url, "sync")
    if premium:
        calcapp(database_url, "users", "grant-premium", email)
    return email


def premium_calculator(page: Page, base_url: str, database_url: str) -> str:
    """A new premium account, signed in on `page` with the calculator open: its email."""
    email = premium_account(base_url, database_url)
    sign_in(page.context, base_url, email)
    open_calculator(page)
    return email


def sync_status(page: Page) -> Locator:
    return page.get_by_role("status").filter(has_text=SYNC_TEXT)


def calculate(page: Page, *expressions: str) -> None:
    """Type each expression, press Enter, and wait until the history lists it (stored)."""
    for text in expressions:
        type_expression(page, text)
        expect(history_entries(page).first).to_contain_text(f"{text} = ")


def nudge(page: Page) -> None:
    """What the browser does when the user comes back to the tab: a visibility change."""
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")


# page.route() does not see requests that go through the service worker: tests that answer for
# the server run without one.
WITHOUT_SERVICE_WORKER = pytest.mark.browser_context_args(service_workers="block")
