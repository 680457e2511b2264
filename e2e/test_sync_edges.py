"""Premium sync at its edges in the browser: the device's own history offered to one account
once, account switches in the middle of a push, signing out with calculations not synced,
calculations the server refuses, and a restore to an earlier backup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Response, Route, expect

from e2e.accounts import sign_in, sign_out
from e2e.calculator import history_entries, open_calculator
from e2e.premium import (
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
from testkit.browser import ConsoleErrors, watch_console
from testkit.support import calcapp_env, free_port, migrated_database, running_server

OFFER = "Add 2 calculations from this device to your synced history?"

LOCAL_MARKS = (
    "JSON.parse(localStorage.getItem('calcapp.history.v1')).map((e) => e.uploaded_to ?? null)"
)
FORGET_MARKS = """() => {
    const entries = JSON.parse(localStorage.getItem("calcapp.history.v1"));
    localStorage.setItem("calcapp.history.v1",
        JSON.stringify(entries.map(({uploaded_to, ...entry}) => entry)));
}"""
DELETE_SYNC_DATABASE = """async () => {
    const name = `calcapp-sync-${localStorage.getItem("calcapp.premium-user.v1")}`;
    await new Promise((ok) => {
        const deleting = indexedDB.deleteDatabase(name);
        deleting.onsuccess = deleting.onblocked = ok;
    });
}"""


def offer(page: Page) -> Locator:
    return page.get_by_role("region", name="Calculations on this device")


def added(page: Page) -> Locator:
    """The page's announcement (a live region) once they are queued."""
    return page.locator("#notice")


def test_the_device_history_is_offered_to_one_account_once_and_never_stored_twice(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    owner = premium_account(base_url, database_url, premium=False)
    sign_in(page.context, base_url, owner)
    open_calculator(page)
    calculate(page, "4×4", "5×5")  # free: the device's own history
    assert server_rows(database_url, owner) == []

    calcapp(database_url, "users", "grant-premium", owner)
    page.reload()
    expect(sync_status(page)).to_have_text("Synced")
    expect(offer(page)).to_contain_text(
        "Add 2 calculations from this device to your synced history?"
    )
    page.get_by_role("button", name="Not now").click()
    expect(offer(page)).to_be_hidden()
    assert server_rows(database_url, owner) == []

    other_tab = page.context.new_page()  # the app opened again: asked again
    open_calculator(other_tab)
    expect(offer(other_tab)).to_contain_text(OFFER)
    other_tab.get_by_role("button", name="Add", exact=True).click()
    expect(added(other_tab)).to_have_text("Added 2 calculations to your synced history")
    expect(sync_status(other_tab)).to_have_text("Synced")
    expect(history_entries(other_tab)).to_have_count(2)
    assert live_expressions(database_url, owner) == ["4×4", "5×5"]
    other_tab.close()

    page.reload()
    expect(offer(page)).to_be_hidden()
    calculate(page, "6×6")
    expect(sync_status(page)).to_have_text("Synced")
    assert live_expressions(database_url, owner) == ["4×4", "5×5", "6×6"]
    owner_id = page.evaluate("localStorage.getItem('calcapp.premium-user.v1')")
    assert page.evaluate(LOCAL_MARKS) == [owner_id, owner_id]

    # Another premium account on this browser is not offered them.
    other = premium_account(base_url, database_url)
    sign_in(page.context, base_url, other)
    page.reload()
    expect(sync_status(page)).to_have_text("Synced")
    expect(history_entries(page)).to_have_count(0)
    expect(offer(page)).to_be_hidden()

    # The owner again, with its synced database lost but the device's history kept: nothing
    # is offered, nothing doubles; and sending them again anyway (a crash between adding them
    # and marking them) stores nothing twice.
    sign_in(page.context, base_url, owner)
    page.reload()
    expect(sync_status(page)).to_have_text("Synced")
    page.evaluate(DELETE_SYNC_DATABASE)
    page.reload()
    expect(history_entries(page)).to_have_count(3)
    expect(offer(page)).to_be_hidden()
    page.evaluate(FORGET_MARKS)
    again = page.context.new_page()  # this tab said "Not now"; a new one asks
    open_calculator(again)
    expect(offer(again)).to_contain_text(OFFER)
    again.get_by_role("button", name="Add", exact=True).click()
    expect(added(again)).to_have_text("Added 2 calculations to your synced history")
    expect(sync_status(again)).to_have_text("Synced")
    expect(history_entries(again)).to_have_count(3)
    assert live_expressions(database_url, owner) == ["4×4", "5×5", "6×6"]
    assert server_rows(database_url, other) == []


@WITHOUT_SERVICE_WORKER
def test_an_account_switch_during_a_multi_batch_push_keeps_each_accounts_calculations_its_own(
    page: Page, base_url: str, database_url: str
) -> None:
    errors = watch_console(page, also_ignore=re.compile(r".*status of 413\b"))
    first = premium_account(base_url, database_url)
    second = premium_account(base_url, database_url)
    sign_in(page.context, base_url, first)
    open_calculator(page)
    expect(sync_status(page)).to_have_text("Synced")
    page.context.set_offline(True)
    expressions = [f"{n}+100" for n in range(1, 7)]
    calculate(page, *expressions)
    expect(sync_status(page)).to_have_text("Offline — 6 waiting")

    accepted: list[list[str]] = []

    def two_at_a_time(route: Route) -> None:
        ops = (route.request.post_data_json or {})["ops"]
        if len(ops) > 2:
            route.fulfill(status=413, json={"detail": "At most 2", "code": "batch_too_large"})
            return
        accepted.append([op["data"]["expression"] for op in ops])
        if len(accepted) > 1:
            route.continue_()
            return
        # The first batch is in flight when the first account signs out and the second in.
        response = route.fetch()
        sign_out(page.context, base_url)
        sign_in(page.context, base_url, second)
        route.fulfill(response=response)

    page.route("**/api/v1/sync/push", two_at_a_time)
    page.context.set_offline(False)
    # The next batch meets the second account's session: refused, and the client stops; the
    # page moves to the second account's history.
    expect(history_entries(page)).to_have_count(0)
    expect(sync_status(page)).to_have_text("Synced")
    assert live_expressions(database_url, first) == sorted(expressions[:2])
    assert server_rows(database_url, second) == []
    assert accepted == [expressions[:2], expressions[2:4]]  # each sent once; the second refused

    # The rest waited for its own account, and goes when it signs in again.
    page.unroute("**/api/v1/sync/push")
    sign_out(page.context, base_url)
    sign_in(page.context, base_url, first)
    page.reload()
    expect(sync_status(page)).to_have_text("Synced")
    expect(history_entries(page)).to_have_count(6)
    assert live_expressions(database_url, first) == sorted(expressions)
    assert server_rows(database_url, second) == []
    assert errors == []


WAITING_IN_OUTBOX = """async (user) => {
    const db = await new Promise((ok, no) => {
        const opening = indexedDB.open(`calcapp-sync-${user}`);
        opening.onsuccess = () => ok(opening.result);
        opening.onerror = () => no(opening.error);
    });
    const count = (store) => new Promise((ok) => {
        db.transaction(store).objectStore(store).count().onsuccess = (e) => ok(e.target.result);
    });
    const counts = [await count("outbox"), await count("history")];
    db.close();
    return counts;
}"""


@WITHOUT_SERVICE_WORKER
def test_signing_out_with_calculations_not_synced_says_so_and_keeps_them_for_the_account(
    page: Page, base_url: str, database_url: str
) -> None:
    errors = watch_console(page, also_ignore=re.compile(r".*status of 503\b"))
    email = premium_calculator(page, base_url, database_url)
    calculate(page, "1+1")
    expect(sync_status(page)).to_have_text("Synced")
    user = page.evaluate("localStorage.getItem('calcapp.premium-user.v1')")

    def unavailable(route: Route) -> None:
        route.fulfill(status=503, json={"detail": "Down", "code": "service_unavailable"})

    page.route("**/api/v1/sync/push", unavailable)
    calculate(page, "2+2", "3+3", "4+4")
    expect(sync_status(page)).to_have_text("3 waiting")

    page.goto("/account.html")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("3 calculations have not synced yet.").first).to_be_visible()
    page.get_by_role("button", name="Sync now, then sign out").click()  # still failing
    expect(page.get_by_role("button", name="Sign out anyway")).to_be_visible()
    expect(page.get_by_text("3 calculations have not synced yet.").first).to_be_visible()
    page.get_by_role("button", name="Sign out anyway").click()
    expect(page.get_by_text("You're signed out.")).to_be_visible()

    # Signed out: the synced history left the device; what waits stays for the account.
    assert page.evaluate(WAITING_IN_OUTBOX, user) == [3, 0]
    open_calculator(page)
    expect(history_entries(page)).to_have_count(0)
    assert live_expressions(database_url, email) == ["1+1"]

    page.unroute("**/api/v1/sync/push")
    sign_in(page.context, base_url, email)
    page.reload()
    expect(sync_status(page)).to_have_text("Synced")
    expect(history_entries(page)).to_have_count(4)
    assert live_expressions(database_url, email) == ["1+1", "2+2", "3+3", "4+4"]

    # With the server reachable again, "Sync now" sends them, then signs out.
    page.route("**/api/v1/sync/push", unavailable)
    calculate(page, "5+5")
    expect(sync_status(page)).to_have_text("1 waiting")
    page.goto("/account.html")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("1 calculation has not synced yet.").first).to_be_visible()
    page.unroute("**/api/v1/sync/push")
    page.get_by_role("button", name="Sync now, then sign out").click()
    expect(page.get_by_text("You're signed out.")).to_be_visible()
    assert live_expressions(database_url, email) == ["1+1", "2+2", "3+3", "4+4", "5+5"]
    assert page.evaluate(WAITING_IN_OUTBOX, user) == [0, 0]
    assert errors == []


@WITHOUT_SERVICE_WORKER
def test_a_calculation_the_server_refuses_stays_marked_not_synced_until_dismissed(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = premium_calculator(page, base_url, database_url)
    expect(sync_status(page)).to_have_text("Synced")

    def spoil_six(route: Route) -> None:
        body = route.request.post_data_json or {}
        for op in body["ops"]:
            if op["kind"] == "create" and op["data"]["expression"] == "6+6":
                op["data"]["expression"] = "6+6" + "0" * 600  # over 500 characters
        route.continue_(post_data=json.dumps(body))

    page.route("**/api/v1/sync/push", spoil_six)
    calculate(page, "5+5", "6+6", "7+7")
    expect(sync_status(page)).to_have_text("Synced")  # the queue moved on
    assert live_expressions(database_url, email) == ["5+5", "7+7"]

    refused = history_entries(page).filter(has_text="6+6 = 12")
    expect(refused).to_contain_text("Not synced: ")
    expect(refused).to_contain_text("500")
    expect(refused.get_by_role("button", name="Delete 6+6 = 12")).to_have_count(0)
    page.reload()  # remembered on the device
    expect(history_entries(page)).to_have_count(3)
    expect(history_entries(page).filter(has_text="6+6 = 12")).to_contain_text("Not synced: ")

    page.get_by_role("button", name="Dismiss 6+6 = 12").click()
    expect(history_entries(page)).to_have_count(2)
    page.reload()
    expect(history_entries(page)).to_have_count(2)


@pytest.mark.slow  # 18 s; tests/integration/test_sync_edges.py proves the protocol in make test
def test_after_a_restore_to_an_earlier_backup_devices_send_again_what_the_server_lost(
    browser: Browser, make_database: Callable[[], str], tmp_path: Path
) -> None:
    database_url = migrated_database(make_database)
    env = calcapp_env(DATABASE_URL=database_url, CALCAPP_BCRYPT_ROUNDS="4")
    port = free_port()
    maker = browser.new_context(base_url=f"http://127.0.0.1:{port}")
    reader = browser.new_context(base_url=f"http://127.0.0.1:{port}")
    backup = tmp_path / "calcapp.dump"
    try:
        pages = [maker.new_page(), reader.new_page()]
        refused = re.compile(r".*net::ERR_CONNECTION_REFUSED")  # while the server is down
        errors = [watch_console(page, also_ignore=refused) for page in pages]
        with running_server(env, port=port) as (base_url, _):
            email = premium_account(base_url, database_url)
            for context, page in zip((maker, reader), pages, strict=True):
                sign_in(context, base_url, email)
                open_calculator(page)
            calculate(pages[0], "1+1", "2+2")
            expect(sync_status(pages[0])).to_have_text("Synced")
            calcapp(database_url, "db", "backup", str(backup))
            calculate(pages[0], "3+3", "4+4")
            expect(sync_status(pages[0])).to_have_text("Synced")
            nudge(pages[1])
            expect(history_entries(pages[1])).to_have_count(4)

        calcapp(database_url, "db", "restore", "--force", str(backup))  # the server lost 3+3, 4+4

        pulls: list[int] = []  # the reader's pull answers, from here on

        def on_response(response: Response) -> None:
            if response.url.endswith("/sync/pull"):
                pulls.append(response.status)

        pages[1].on("response", on_response)
        with running_server(env, port=port):
            # The maker rebuilds, and sends again what it made that was lost.
            with pages[0].expect_response(lambda r: r.url.endswith("/sync/push") and r.ok):
                nudge(pages[0])
            expect(sync_status(pages[0])).to_have_text("Synced")
            expect(history_entries(pages[0])).to_have_count(4)
            assert live_expressions(database_url, email) == ["1+1", "2+2", "3+3", "4+4"]
            # The other device's cursor is of the old epoch: it rebuilds from the restored
            # history, once poked (live sync, when its stream is back) or shown again.
            nudge(pages[1])
            if 409 not in pulls:
                pages[1].wait_for_event(
                    "response", lambda r: r.url.endswith("/sync/pull") and r.status == 409
                )
            expect(history_entries(pages[1])).to_have_count(4)
            nudge(pages[0])
            expect(sync_status(pages[0])).to_have_text("Synced")
            assert live_expressions(database_url, email) == ["1+1", "2+2", "3+3", "4+4"]
        assert errors == [[], []]
    finally:
        maker.close()
        reader.close()
