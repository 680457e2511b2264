"""A premium user offline for a day with 2,000 calculations (slow: `make test-slow`).

The page's clock is Playwright's fake clock, moved a day ahead while the browser is offline;
back online, the outbox drains in batches and every calculation reaches the server once.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from backend.db.server import connect
from e2e.accounts import new_account, sign_in
from e2e.calculator import expression, open_calculator
from testkit.browser import ConsoleErrors, wait_for_service_worker
from testkit.support import calcapp_env, run_async, run_calcapp

pytestmark = pytest.mark.slow

CALCULATIONS = 2000
SYNC_TEXT = re.compile(r"^(Synced|Offline|Sync |\d+ waiting)")


async def _stored(database_url: str, email: str) -> list[tuple[str, int, str]]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT h.device_id::text, h.seq, h.expression FROM calculation_history h"
            " JOIN users u ON u.id = h.user_id WHERE u.email = $1",
            email,
        )
    finally:
        await conn.close()
    return [(r[0], r[1], r[2]) for r in rows]


def test_a_day_offline_with_2000_calculations_reaches_the_server_once(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    page.clock.install()
    email = new_account(base_url, "offline-day")
    granted = run_calcapp(
        "users", "grant-premium", email, env=calcapp_env(DATABASE_URL=database_url)
    )
    assert granted.returncode == 0, granted.stderr
    sign_in(page.context, base_url, email)
    open_calculator(page)
    status = page.get_by_role("status").filter(has_text=SYNC_TEXT)
    expect(status).to_have_text("Synced")
    wait_for_service_worker(page)

    page.context.set_offline(True)
    expression(page).click()
    for n in range(CALCULATIONS):
        page.keyboard.press("Escape")
        page.keyboard.type(f"{n}+1")
        page.keyboard.press("Enter")
    expect(status).to_have_text(f"Offline — {CALCULATIONS} waiting", timeout=60_000)

    page.clock.fast_forward("24:00:00")  # a day later, still offline
    expect(page.locator("#sync-age")).to_have_text(re.compile(r"^oldest: 2[45] h ago$"))
    assert run_async(_stored(database_url, email)) == []

    page.context.set_offline(False)
    expect(status).to_have_text("Synced", timeout=120_000)
    rows = run_async(_stored(database_url, email))
    assert len(rows) == CALCULATIONS
    assert len({(device, seq) for device, seq, _ in rows}) == CALCULATIONS  # each once
    assert sorted(e for _, _, e in rows) == sorted(f"{n}+1" for n in range(CALCULATIONS))
