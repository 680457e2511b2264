"""The billing page (billing.html) in Chromium, paying through localstripe's Stripe.js.

The live server talks to the Stripe emulator the test session started; the page loads the
emulator's Stripe.js (its card element is four plain inputs, its 3-D Secure step a dialog with
"Complete authentication" and "Fail authentication").
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from backend.db.server import connect
from e2e.accounts import back_online, new_account, sign_in
from e2e.calculator import history_entries, type_expression
from testkit.browser import ConsoleErrors, wait_for_service_worker
from testkit.stripe_support import (
    DECLINED_CARD,
    FAILING_CHARGE_CARD,
    GOOD_CARD,
    THREE_D_SECURE_CARD,
)
from testkit.support import calcapp_env, run_async, running_server

SYNC_TEXT = re.compile(r"^(Synced|Offline|Sync |\d+ waiting)")
# The emulator answers a refused card with 402, which Chromium logs like any failed request.
CARD_REFUSED = re.compile(r"^Failed to load resource: the server responded with a status of 402\b")


def heading(page: Page, name: str) -> Locator:
    return page.get_by_role("heading", name=name, exact=True)


def open_billing(page: Page) -> None:
    page.goto("/billing.html")
    expect(page.locator("html")).to_have_attribute("data-ready", "true")


def signed_in_on_billing(page: Page, base_url: str) -> str:
    email = new_account(base_url, "buyer")
    sign_in(page.context, base_url, email)
    open_billing(page)
    expect(heading(page, "Upgrade to Premium")).to_be_visible()
    return email


def pay(page: Page, card: str) -> None:
    """Type the card into the emulator's card element and press the pay button."""
    form = page.locator("[data-card]")
    form.get_by_placeholder("number").fill(card)
    form.get_by_placeholder("exp_month").fill("12")
    form.get_by_placeholder("exp_year").fill("34")
    form.get_by_placeholder("cvc").fill("123")
    form.get_by_placeholder("postal_code").fill("10001")
    page.get_by_role("button", name="Pay $5.00 a month").click()


def answer_3d_secure(page: Page, button: str) -> None:
    """Whenever the bank's dialog shows up (once or twice), press `button` in it."""
    dialog_button = page.get_by_role("button", name=button)
    page.add_locator_handler(dialog_button, lambda found: found.click())


def welcomed(page: Page) -> None:
    expect(page.get_by_role("status").filter(has_text="Welcome to Premium!")).to_be_visible()
    expect(heading(page, "Your subscription")).to_be_visible()
    expect(page.locator('[data-field="status"]')).to_have_text("Active")


async def _synced(database_url: str, email: str) -> list[str]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT h.expression FROM calculation_history h JOIN users u ON u.id = h.user_id"
            " WHERE u.email = $1",
            email,
        )
    finally:
        await conn.close()
    return [row["expression"] for row in rows]


def test_paying_with_4242_switches_premium_sync_on(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = new_account(base_url, "buyer")
    sign_in(page.context, base_url, email)
    page.goto("/account.html")
    expect(page.locator('[data-field="plan"]')).to_have_text("Free")
    page.get_by_role("link", name="Upgrade to Premium").click()
    expect(heading(page, "Upgrade to Premium")).to_be_visible()
    expect(page.get_by_text("$5.00 a month, charged monthly")).to_be_visible()
    pay(page, GOOD_CARD)
    welcomed(page)
    payments = page.get_by_role("table")
    expect(payments.get_by_role("row")).to_have_count(2)  # the header and this month's payment
    expect(payments.get_by_role("row").nth(1)).to_contain_text("$5.00")
    expect(payments.get_by_role("row").nth(1)).to_contain_text("Paid")

    page.get_by_role("link", name="Calculator").click()
    sync = page.get_by_role("status").filter(has_text=SYNC_TEXT)
    expect(sync).to_have_text("Synced")
    type_expression(page, "2+3")
    expect(history_entries(page).first).to_contain_text("2+3 = 5")
    expect(sync).to_have_text("Synced")

    assert run_async(_synced(database_url, email)) == ["2+3"]  # acked before "Synced" shows


def test_a_declined_card_is_a_clear_message_and_no_subscription(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    signed_in_on_billing(page, base_url)
    pay(page, DECLINED_CARD)
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    expect(page.get_by_role("button", name="Pay $5.00 a month")).to_be_enabled()
    open_billing(page)
    expect(heading(page, "Upgrade to Premium")).to_be_visible()
    console_errors.allow(CARD_REFUSED)  # the refused card's 402


def test_a_failed_charge_says_so_and_another_card_then_works(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    signed_in_on_billing(page, base_url)
    pay(page, FAILING_CHARGE_CARD)
    expect(page.get_by_role("alert")).to_have_text(
        "The payment did not go through. Try again or use another card."
    )
    page.locator("[data-card]").get_by_placeholder("number").fill(GOOD_CARD)
    page.get_by_role("button", name="Pay $5.00 a month").click()
    welcomed(page)
    console_errors.allow(CARD_REFUSED)  # the refused card's 402


def test_3d_secure_completed_makes_premium(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    signed_in_on_billing(page, base_url)
    answer_3d_secure(page, "Complete authentication")
    pay(page, THREE_D_SECURE_CARD)
    welcomed(page)


def test_3d_secure_failed_charges_nothing(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    signed_in_on_billing(page, base_url)
    answer_3d_secure(page, "Fail authentication")
    pay(page, THREE_D_SECURE_CARD)
    # The bank refuses when the card is saved (the emulator) or at the first charge (Stripe).
    refused = re.compile("authentication failed|did not confirm the payment")
    expect(page.get_by_role("alert")).to_have_text(refused)
    open_billing(page)
    expect(heading(page, "Upgrade to Premium")).to_be_visible()
    console_errors.allow(CARD_REFUSED)  # the refused card's 402


def test_cancel_at_period_end_resume_and_cancel_now(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    signed_in_on_billing(page, base_url)
    pay(page, GOOD_CARD)
    welcomed(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for control in page.locator("main :is(a, button):visible").all():
        box = control.bounding_box()
        assert box is not None and box["height"] >= 44, control.evaluate("e => e.outerHTML")
    facts = page.locator(".facts")

    page.get_by_role("button", name="Cancel at the end of the period").click()
    expect(page.get_by_role("status").filter(has_text="Premium stays on")).to_be_visible()
    expect(facts).to_contain_text("Premium until")
    page.get_by_role("button", name="Keep my subscription").click()
    expect(
        page.get_by_role("status").filter(has_text="Your subscription continues.")
    ).to_be_visible()
    expect(facts).to_contain_text("Next charge")

    page.get_by_role("button", name="Cancel now…").click()
    expect(page.get_by_role("button", name="End Premium now")).to_be_focused()
    page.get_by_role("button", name="Keep Premium").click()
    expect(page.get_by_role("button", name="End Premium now")).to_be_hidden()
    page.get_by_role("button", name="Cancel now…").click()
    page.get_by_role("button", name="End Premium now").click()
    expect(page.get_by_role("status").filter(has_text="Premium has ended.")).to_be_visible()
    expect(page.locator('[data-field="status"]')).to_have_text("Canceled")
    open_billing(page)  # what the server now says, after a reload
    expect(page.locator('[data-field="status"]')).to_have_text("Canceled")
    page.get_by_role("link", name="Subscribe again").click()
    expect(heading(page, "Upgrade to Premium")).to_be_focused()


def test_signed_out_the_page_asks_to_sign_in(page: Page, console_errors: ConsoleErrors) -> None:
    open_billing(page)
    expect(page.get_by_text("Sign in first")).to_be_visible()
    page.get_by_role("link", name="Sign in or create an account").click()
    expect(heading(page, "Sign in")).to_be_visible()


def test_offline_the_page_says_the_network_is_needed(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    signed_in_on_billing(page, base_url)
    wait_for_service_worker(page)
    page.context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    expect(page.get_by_role("alert")).to_have_text(
        "You're offline. Try again when you're connected."
    )
    expect(page.get_by_role("status").filter(has_text="payments need the network")).to_be_visible()
    back_online(page, heading(page, "Upgrade to Premium"))


def test_without_stripe_settings_the_page_says_billing_is_not_configured(
    page: Page, database_url: str, mail_env: dict[str, str], console_errors: ConsoleErrors
) -> None:
    with running_server(calcapp_env(DATABASE_URL=database_url, **mail_env)) as (base_url, _):
        email = new_account(base_url, "nobilling")
        sign_in(page.context, base_url, email)
        page.goto(f"{base_url}/billing.html")
        expect(page.get_by_text("Billing is not configured on this server")).to_be_visible()
