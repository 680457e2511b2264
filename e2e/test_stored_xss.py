"""Stored XSS: text a user (or an attacker with a session) saved comes back as text, never markup.

The pages never use innerHTML for user data, and the CSP forbids inline script; these tests
check the outcome: the markup is shown literally and its script never runs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from e2e.accounts import new_account, sign_in
from e2e.calculator import history_entries
from testkit.browser import ConsoleErrors
from testkit.support import calcapp_env, run_calcapp

PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def csrf(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def test_a_display_name_with_markup_is_shown_as_text(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    email = new_account(base_url, "xss")
    sign_in(page.context, base_url, email)
    answer = page.context.request.patch(
        f"{base_url}/api/v1/me", data={"display_name": PAYLOAD}, headers={"x-csrftoken": csrf(page)}
    )
    assert answer.status == 200, answer.text()
    page.goto("/account.html")
    expect(page.get_by_role("textbox", name="Display name")).to_have_value(PAYLOAD)
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img[src='x']").count() == 0


def test_a_synced_expression_with_markup_is_shown_as_text(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = new_account(base_url, "xss")
    done = run_calcapp("users", "grant-premium", email, env=calcapp_env(DATABASE_URL=database_url))
    assert done.returncode == 0, done.stderr
    sign_in(page.context, base_url, email)
    # Another device of the same account (or a stolen session) stored markup on the server.
    created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    op = {
        "seq": 1,
        "op_id": str(uuid.uuid4()),
        "kind": "create",
        "created_at": created,
        "data": {"expression": PAYLOAD, "result": PAYLOAD, "metadata": {"engine": 1}},
    }
    pushed = page.context.request.post(
        f"{base_url}/api/v1/sync/push",
        data={"device_id": str(uuid.uuid4()), "ops": [op]},
        headers={"x-csrftoken": csrf(page)},
    )
    assert pushed.status == 200, pushed.text()
    page.goto("/")
    expect(history_entries(page).first).to_contain_text(PAYLOAD)
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
