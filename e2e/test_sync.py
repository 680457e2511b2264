"""Premium sync in the browser (pwa/js/sync-client.js and outbox.js) against a real server and
database.

Each test makes its own premium account (sign-up through the API, then the operator's
`calcapp users grant-premium`), signs a browser context in through the API, and checks what
the server holds in `calculation_history`: every calculation exactly once, whatever happened
on the way (offline, reloads, a stopped server, premium ending for a while).

Over 400 lines: one test per way a calculation travels (eleven), sharing the helpers that read
the server's history.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    expect,
)

from backend.db.server import connect
from e2e.accounts import sign_in
from e2e.calculator import history_entries, open_calculator, type_expression
from e2e.premium import (
    RETRY_TIMEOUT_MS,
    WITHOUT_SERVICE_WORKER,
    calcapp,
    calculate,
    live_expressions,
    nudge,
    premium_account,
    premium_calculator,
    server_rows,
    sync_status,
)
from testkit.browser import ConsoleErrors, wait_for_service_worker, watch_console
from testkit.support import calcapp_env, free_port, run_async, running_server


@pytest.fixture
def other_device(browser: Browser, base_url: str) -> Iterator[tuple[BrowserContext, list[str]]]:
    """Another device: a browser context of its own, and its page's errors."""
    context = browser.new_context(base_url=base_url)
    yield context, watch_console(context.new_page())
    context.close()


def test_offline_calculations_survive_a_reload_and_reach_the_server_once(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_calculator(page, base_url, database_url)
    expect(sync_status(page)).to_have_text("Synced")
    wait_for_service_worker(page)

    page.context.set_offline(True)
    expressions = [f"{n}+{n}" for n in range(1, 21)]
    calculate(page, *expressions)
    expect(sync_status(page)).to_have_text("Offline — 20 waiting")
    expect(page.get_by_text("oldest: just now")).to_be_visible()

    response = page.reload()  # offline: the service worker serves the app
    assert response is not None and response.from_service_worker
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    expect(history_entries(page)).to_have_count(20)
    expect(history_entries(page).first).to_contain_text("20+20 = 40")
    expect(sync_status(page)).to_have_text("Offline — 20 waiting")
    assert server_rows(database_url, email) == []

    page.context.set_offline(False)
    expect(sync_status(page)).to_have_text("Synced", timeout=RETRY_TIMEOUT_MS)
    assert live_expressions(database_url, email) == sorted(expressions)
    assert len({r.device_id for r in server_rows(database_url, email)}) == 1
    expect(history_entries(page)).to_have_count(20)


def test_another_device_shows_them_and_deletes_reach_every_device(
    page: Page,
    base_url: str,
    database_url: str,
    other_device: tuple[BrowserContext, list[str]],
    console_errors: ConsoleErrors,
) -> None:
    email = premium_calculator(page, base_url, database_url)
    calculate(page, "1+2", "3+4", "5+6")
    expect(sync_status(page)).to_have_text("Synced")

    other_context, other_errors = other_device
    other = other_context.pages[0]
    sign_in(other_context, base_url, email)
    open_calculator(other)
    expect(history_entries(other)).to_have_count(3)
    expect(history_entries(other).first).to_contain_text("5+6 = 11")
    expect(sync_status(other)).to_have_text("Synced")

    other.get_by_role("button", name="Delete 3+4 = 7").click()
    expect(history_entries(other)).to_have_count(2)
    expect(sync_status(other)).to_have_text("Synced")
    assert live_expressions(database_url, email) == ["1+2", "5+6"]

    nudge(page)
    expect(history_entries(page)).to_have_count(2)
    expect(page.get_by_role("button", name="Delete 3+4 = 7")).to_have_count(0)

    # And the other way: a calculation and a delete there, seen here.
    calculate(page, "7+8")
    page.get_by_role("button", name="Delete 1+2 = 3").click()
    expect(history_entries(page)).to_have_count(2)  # listed once the status counts the delete
    expect(sync_status(page)).to_have_text("Synced")
    nudge(other)
    expect(history_entries(other)).to_have_count(2)
    expect(history_entries(other).first).to_contain_text("7+8 = 15")
    assert live_expressions(database_url, email) == ["5+6", "7+8"]

    # Search goes to the server when online and stays local offline.
    search = other.get_by_role("searchbox", name="Search history")
    search.fill("7+")
    expect(history_entries(other)).to_have_count(1)
    other_context.set_offline(True)
    search.fill("5+")
    expect(history_entries(other)).to_have_count(1)
    expect(history_entries(other).first).to_contain_text("5+6 = 11")
    assert other_errors == []


@pytest.mark.slow  # 10 s; tests/integration/test_faults.py restarts servers in make test
def test_ops_queued_while_the_server_is_down_arrive_once_after_it_restarts(
    browser: Browser, database_url: str
) -> None:
    port = free_port()
    env = calcapp_env(DATABASE_URL=database_url, CALCAPP_BCRYPT_ROUNDS="4")
    context = browser.new_context(base_url=f"http://127.0.0.1:{port}")
    try:
        page = context.new_page()
        # The stopped server's refused connections are the situation under test.
        errors = watch_console(page, also_ignore=re.compile(r".*net::ERR_CONNECTION_REFUSED"))
        with running_server(env, port=port) as (base_url, _):
            email = premium_account(base_url, database_url)
            sign_in(context, base_url, email)
            open_calculator(page)
            calculate(page, "100+1")
            expect(sync_status(page)).to_have_text("Synced")

        calculate(page, "100+2", "100+3", "100+4", "100+5")
        expect(sync_status(page)).to_have_text("Offline — 4 waiting")
        assert live_expressions(database_url, email) == ["100+1"]

        with running_server(env, port=port):
            expect(sync_status(page)).to_have_text("Synced", timeout=RETRY_TIMEOUT_MS)
            expect(history_entries(page)).to_have_count(5)
        assert live_expressions(database_url, email) == [f"100+{n}" for n in range(1, 6)]
        assert errors == []
    finally:
        context.close()


@WITHOUT_SERVICE_WORKER
def test_status_says_how_many_wait_and_honours_retry_after(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_calculator(page, base_url, database_url)
    expect(sync_status(page)).to_have_text("Synced")

    pushes: list[str] = []

    def too_many(route: Route) -> None:
        pushes.append("429")
        route.fulfill(
            status=429,
            headers={"retry-after": "1"},
            json={"detail": "Too many requests", "code": "rate_limited"},
        )

    page.route("**/api/v1/sync/push", too_many)
    calculate(page, "1+1", "2+2", "3+3")
    expect(sync_status(page)).to_have_text("3 waiting")
    expect(page.get_by_text("oldest: just now")).to_be_visible()
    assert server_rows(database_url, email) == []

    page.unroute("**/api/v1/sync/push")
    expect(sync_status(page)).to_have_text("Synced", timeout=RETRY_TIMEOUT_MS)
    expect(page.get_by_text("oldest:")).to_have_count(0)
    assert live_expressions(database_url, email) == ["1+1", "2+2", "3+3"]
    assert pushes


def test_premium_ending_pauses_sync_and_keeps_the_queue(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_calculator(page, base_url, database_url)
    calculate(page, "10+1")
    expect(sync_status(page)).to_have_text("Synced")

    calcapp(database_url, "users", "revoke-premium", email)
    calculate(page, "10+2", "10+3")
    expect(sync_status(page)).to_have_text("Sync paused: premium ended")
    expect(history_entries(page)).to_have_count(3)
    assert live_expressions(database_url, email) == ["10+1"]

    calcapp(database_url, "users", "grant-premium", email)
    nudge(page)
    expect(sync_status(page)).to_have_text("Synced")
    assert live_expressions(database_url, email) == ["10+1", "10+2", "10+3"]


def test_signed_out_the_calculator_is_the_free_one(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_calculator(page, base_url, database_url)
    calculate(page, "8+8")
    expect(sync_status(page)).to_have_text("Synced")

    page.context.clear_cookies()  # signed out (elsewhere)
    calculate(page, "9+9")
    expect(sync_status(page)).to_have_text("Sync paused: signed out")
    with page.expect_response(lambda response: response.url.endswith("/api/v1/auth/session")):
        page.reload()
    calculate(page, "10+10")
    expect(history_entries(page)).to_have_count(1)  # the local history: not the account's
    expect(sync_status(page)).to_be_hidden()
    assert page.evaluate("JSON.parse(localStorage.getItem('calcapp.history.v1')).length") == 1

    sign_in(page.context, base_url, email)
    page.reload()
    expect(history_entries(page)).to_have_count(2)
    expect(sync_status(page)).to_have_text("Synced")
    # The queue waited for the account; what was calculated signed out stays on the device.
    assert live_expressions(database_url, email) == ["8+8", "9+9"]
    assert page.evaluate("JSON.parse(localStorage.getItem('calcapp.history.v1')).length") == 1


# ---------------------------------------------------------------- the protocol's recovery paths

IN_SYNC_STORE = """async (ARGUMENT) => {
    const name = `calcapp-sync-${localStorage.getItem("calcapp.premium-user.v1")}`;
    const db = await new Promise((ok, no) => {
        const opening = indexedDB.open(name);
        opening.onsuccess = () => ok(opening.result);
        opening.onerror = () => no(opening.error);
    });
    await new Promise((ok, no) => {
        const tx = db.transaction("STORE", "readwrite");
        const store = tx.objectStore("STORE");
        BODY
        tx.oncomplete = ok;
        tx.onabort = () => no(tx.error);
    });
    db.close();
}"""


def in_sync_store(store: str, body: str, argument: str = "") -> str:
    """A function for `page.evaluate`: `body` on `store` (an object store of the signed-in
    account's sync database, pwa/js/idb.js) in one read-write transaction, awaited."""
    return IN_SYNC_STORE.replace("ARGUMENT", argument).replace("STORE", store).replace("BODY", body)


EDIT_META = in_sync_store(
    "meta",
    'store.get("m").onsuccess = (event) => store.put({...event.target.result, ...changes}, "m");',
    argument="changes",
)


def test_a_device_that_skipped_seqs_or_lost_its_counter_stores_each_op_once(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_calculator(page, base_url, database_url)
    calculate(page, "1+1", "2+2")
    expect(sync_status(page)).to_have_text("Synced")

    page.evaluate(EDIT_META, {"next_seq": 10})  # seqs 3..9 lost: the server halts on a gap
    calculate(page, "3+3")
    expect(sync_status(page)).to_have_text("Synced")
    rows = server_rows(database_url, email)
    assert sorted((r.seq, r.expression) for r in rows) == [(1, "1+1"), (2, "2+2"), (3, "3+3")]

    page.evaluate(EDIT_META, {"next_seq": 2})  # the counter went back: seq 2 is another op
    calculate(page, "4+4")
    expect(sync_status(page)).to_have_text("Synced")
    assert live_expressions(database_url, email) == ["1+1", "2+2", "3+3", "4+4"]
    assert len({r.device_id for r in server_rows(database_url, email)}) == 2  # a new device id
    expect(history_entries(page)).to_have_count(4)


@WITHOUT_SERVICE_WORKER
def test_a_batch_too_large_is_halved(page: Page, base_url: str, database_url: str) -> None:
    errors = watch_console(page, also_ignore=re.compile(r".*status of 413\b"))
    email = premium_calculator(page, base_url, database_url)
    expect(sync_status(page)).to_have_text("Synced")
    page.context.set_offline(True)
    calculate(page, *(f"{n}×2" for n in range(1, 6)))
    expect(sync_status(page)).to_have_text("Offline — 5 waiting")

    sizes: list[int] = []

    def at_most_two(route: Route) -> None:
        ops = (route.request.post_data_json or {})["ops"]
        sizes.append(len(ops))
        if len(ops) <= 2:
            route.continue_()
        else:
            body = {"detail": "At most 2 ops", "code": "batch_too_large"}
            route.fulfill(status=413, json=body)

    page.route("**/api/v1/sync/push", at_most_two)
    page.context.set_offline(False)
    expect(sync_status(page)).to_have_text("Synced")
    # Batches of at most 500, 250, 125, 63, 32, 16, 8 (all 5 ops), 4, then 2 get through.
    assert sizes == [5, 5, 5, 5, 5, 5, 5, 4, 2, 2, 1]
    assert live_expressions(database_url, email) == [f"{n}×2" for n in range(1, 6)]
    assert errors == []


def test_a_clock_stuck_in_1980_is_corrected_by_the_server(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_account(base_url, database_url)
    sign_in(page.context, base_url, email)
    page.clock.set_fixed_time(datetime(1980, 1, 1, tzinfo=UTC))
    open_calculator(page)
    calculate(page, "1+2", "3+4", "5+6")  # the same frozen millisecond, too
    expect(sync_status(page)).to_have_text("Synced")
    assert live_expressions(database_url, email) == ["1+2", "3+4", "5+6"]
    times = run_async(_created_at(database_url, email))
    now = datetime.now(UTC)
    assert all(abs(t - now) < timedelta(minutes=5) for t in times), times


async def _created_at(database_url: str, email: str) -> list[datetime]:
    conn = await connect(database_url)
    try:
        records = await conn.fetch(
            "SELECT h.created_at FROM calculation_history h JOIN users u ON u.id = h.user_id"
            " WHERE u.email = $1",
            email,
        )
    finally:
        await conn.close()
    return [record[0] for record in records]


ADD_STALE_ROW = in_sync_store(
    "history",
    """const at = "2001-01-01T00:00:00Z";
        store.put({k: `n:${at}|99+1`, device_id: null, seq: null,
            created_at: at, expression: "99+1", result: "100", metadata: {}});""",
)


@WITHOUT_SERVICE_WORKER
def test_an_expired_cursor_rebuilds_the_cache(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    premium_calculator(page, base_url, database_url)
    calculate(page, "1+1", "2+2", "3+3")
    page.get_by_role("button", name="Delete 2+2 = 4").click()
    expect(sync_status(page)).to_have_text("Synced")

    page.evaluate(ADD_STALE_ROW)  # the cache holds a row the server no longer has
    page.reload()
    expect(history_entries(page)).to_have_count(3)

    def expire_cursors(route: Route) -> None:
        if (route.request.post_data_json or {})["cursor"] is None:
            route.continue_()
        else:
            body = {"detail": "Pull from the start", "code": "cursor_expired"}
            route.fulfill(status=409, json=body)

    page.route("**/api/v1/sync/pull", expire_cursors)
    with page.expect_response(lambda r: "/sync/pull" in r.url and r.status == 409):
        nudge(page)
    expect(history_entries(page)).to_have_count(2)  # rebuilt from the start
    expect(page.get_by_text("99+1")).to_have_count(0)
    expect(history_entries(page).first).to_contain_text("3+3 = 6")
    expect(sync_status(page)).to_have_text("Synced")


# The device's storage quota cannot be exhausted here (Chromium grants an origin a share of a
# 250 GB disk), so this one test stubs the browser at that boundary: while the flag is set,
# IndexedDB writes fail the way a full quota makes them fail.
FULL_QUOTA = """
(() => {
    const refuse = (original) => function (...args) {
        if (window.__quotaFull) {
            throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
        }
        return original.apply(this, args);
    };
    IDBObjectStore.prototype.add = refuse(IDBObjectStore.prototype.add);
    IDBObjectStore.prototype.put = refuse(IDBObjectStore.prototype.put);
})();
"""


def test_a_full_device_says_so_and_shows_nothing_unsaved(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_account(base_url, database_url)
    page.add_init_script(FULL_QUOTA)
    sign_in(page.context, base_url, email)
    open_calculator(page)
    calculate(page, "1+1")
    expect(sync_status(page)).to_have_text("Synced")

    page.evaluate("window.__quotaFull = true")
    type_expression(page, "2+2")
    expect(page.get_by_text("Not saved: this device's storage is full.")).to_be_visible()
    expect(history_entries(page)).to_have_count(1)  # nothing shown as saved that is not

    page.evaluate("window.__quotaFull = false")
    calculate(page, "3+3")
    expect(sync_status(page)).to_have_text("Synced")
    assert live_expressions(database_url, email) == ["1+1", "3+3"]
