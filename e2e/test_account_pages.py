"""The account page (account.html): sign-up, mailed links, sign-in, settings, offline.

Everything goes through the live server and its real SMTP mailbox; the page is driven through
its accessible names only.

Over 400 lines: one test per journey of the account page (sixteen), which share the page's
helpers below; splitting them by journey would repeat those helpers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect

from backend.accounts.passwords import hash_now
from backend.db.server import connect
from e2e.accounts import back_online, create_account
from testkit.browser import ConsoleErrors, wait_for_service_worker
from testkit.mailbox import Mailbox
from testkit.support import run_async

PASSWORD = "Correct-horse-7"
NEW_PASSWORD = "Battery-staple-9"
VERIFY_SUBJECT = "Confirm your email"
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
RESET_SUBJECT = "Reset your Calcapp password"


def new_email() -> str:
    return f"user-{uuid4().hex[:8]}@example.com"


def local(link: str) -> str:
    """The path and fragment of a mailed link, to open on the test server."""
    parts = urlsplit(link)
    return f"{parts.path}#{parts.fragment}" if parts.fragment else parts.path


def heading(page: Page, name: str) -> Locator:
    return page.get_by_role("heading", name=name, exact=True)


@pytest.mark.parametrize(
    ("path", "shown"),
    [("/", "History"), ("/account.html", "Sign in"), ("/billing.html", "Calcapp Premium")],
)
def test_signed_out_the_pages_log_no_failed_request(page: Page, path: str, shown: str) -> None:
    # Every console error, the API's 4xx answers included (the console_errors fixture
    # forgives those): asking who is signed in must not be one.
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    with page.expect_response(lambda answer: answer.url.endswith("/api/v1/auth/session")) as asked:
        page.goto(path)
    assert asked.value.status == 200
    expect(heading(page, shown)).to_be_visible()  # the signed-out view, on the two account pages
    assert errors == []


def alert(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.get_by_role("alert").filter(has_text=text)


def status(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.get_by_role("status").filter(has_text=text)


def open_account_page(page: Page, path: str = "/account.html") -> None:
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("data-ready", "true")


@pytest.fixture(scope="module")
def shared_account(base_url: str) -> str:
    """One account for the tests that change nothing that others check: sign-up is limited to
    20 per client address per hour, and every test here comes from the same address."""
    email = new_email()
    create_account(base_url, email)
    return email


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def signed_in(page: Page, email: str, password: str = PASSWORD) -> None:
    open_account_page(page)
    sign_in(page, email, password)
    expect(heading(page, "Your account")).to_be_visible()


def test_sign_up_verify_sign_in_export_and_sign_out(
    page: Page, mailbox: Mailbox, tmp_path: Path, console_errors: ConsoleErrors
) -> None:
    email = new_email()
    open_account_page(page)
    expect(heading(page, "Sign in")).to_be_visible()
    page.get_by_role("button", name="Create an account").click()
    expect(heading(page, "Create an account")).to_be_focused()

    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("textbox", name="Display name").fill("Ada")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(alert(page, "The password needs 12 to 128 characters.")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(status(page, f"we sent a message to {email}")).to_be_visible()
    expect(heading(page, "Sign in")).to_be_focused()

    link = mailbox.link(mailbox.wait_for(email, VERIFY_SUBJECT))
    assert "/account.html#verify=" in link
    page.goto(local(link))
    expect(status(page, f"Your email {email} is confirmed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account\.html$"))  # the token left the address bar
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_label("Email", exact=True)).to_have_value(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(heading(page, "Your account")).to_be_focused()
    facts = page.get_by_role("definition")
    expect(facts.first).to_contain_text(email)
    expect(facts.first).to_contain_text("Verified")
    expect(page.get_by_role("textbox", name="Display name")).to_have_value("Ada")

    page.reload()  # the session outlives the page
    expect(heading(page, "Your account")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    path = tmp_path / "export.json"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".json")
    assert email in json.dumps(json.loads(path.read_text()))
    expect(status(page, "Downloaded")).to_be_visible()

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(heading(page, "Sign in")).to_be_focused()
    expect(status(page, "You're signed out.")).to_be_visible()
    page.reload()
    expect(heading(page, "Sign in")).to_be_visible()


def test_sign_in_recovers_from_a_missing_or_refused_csrf_cookie(
    page: Page, base_url: str, shared_account: str, console_errors: ConsoleErrors
) -> None:
    email = shared_account
    open_account_page(page)
    page.context.clear_cookies()  # the page fetches a new one before its first POST
    sign_in(page, email, PASSWORD)
    expect(heading(page, "Your account")).to_be_visible()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(heading(page, "Sign in")).to_be_visible()

    # A cookie the server no longer accepts (say, after a secret rotation): 403 csrf_failed,
    # then the page drops it, fetches a new one and sends again, once.
    page.context.add_cookies([{"name": "csrftoken", "value": "stale", "url": base_url}])
    sign_in(page, email, PASSWORD)
    expect(heading(page, "Your account")).to_be_visible()


def test_a_used_verification_link_says_so(
    page: Page, base_url: str, mailbox: Mailbox, console_errors: ConsoleErrors
) -> None:
    email = new_email()
    create_account(base_url, email)
    link = local(mailbox.link(mailbox.wait_for(email, VERIFY_SUBJECT)))
    open_account_page(page, link)
    expect(status(page, "is confirmed")).to_be_visible()
    open_account_page(page, link)
    expect(alert(page, "invalid, already used or expired")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(heading(page, "Sign in")).to_be_focused()


def test_wrong_password_and_unknown_email_get_the_same_message(
    page: Page, shared_account: str, console_errors: ConsoleErrors
) -> None:
    email = shared_account
    open_account_page(page)

    sign_in(page, email, "Wrong-password-1")
    wrong_password = alert(page, re.compile(r"\S"))
    expect(wrong_password).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    message = wrong_password.inner_text()

    sign_in(page, new_email(), PASSWORD)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(alert(page, re.compile(r"\S"))).to_have_text(message)
    expect(heading(page, "Sign in")).to_be_visible()


def test_too_many_attempts_say_when_to_try_again(
    page: Page, base_url: str, console_errors: ConsoleErrors
) -> None:
    email = new_email()  # its own: sign-in stays refused for 15 minutes
    create_account(base_url, email)
    open_account_page(page)
    limited = alert(page, re.compile(r"^Too many attempts — try again in \d+ minutes?\.$"))
    for _ in range(12):
        sign_in(page, email, "Wrong-password-1")
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_enabled()
        if limited.count():
            break
    expect(limited).to_have_text("Too many attempts — try again in 15 minutes.")


def test_forgotten_password_reset_by_the_mailed_link(
    page: Page, base_url: str, mailbox: Mailbox, console_errors: ConsoleErrors
) -> None:
    email = new_email()
    create_account(base_url, email)
    open_account_page(page)
    page.get_by_role("button", name="Forgot your password?").click()
    expect(heading(page, "Forgot your password?")).to_be_focused()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(status(page, f"If an account uses {email}")).to_be_visible()

    link = local(mailbox.link(mailbox.wait_for(email, RESET_SUBJECT)))
    assert "#reset=" in link
    page.goto(link)
    expect(heading(page, "Choose a new password")).to_be_visible()
    new_password = page.get_by_label("New password", exact=True)
    new_password.fill("Short-pw-1")
    page.get_by_role("button", name="Set new password").click()
    expect(alert(page, "The password needs 12 to 128 characters.")).to_be_visible()
    new_password.fill("password1234")  # long enough, but on every list of common passwords
    page.get_by_role("button", name="Set new password").click()
    expect(alert(page, "This password is in lists of breached or common passwords")).to_be_visible()
    new_password.fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(heading(page, "Sign in")).to_be_focused()
    expect(status(page, "Your password was changed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account\.html$"))

    sign_in(page, email, PASSWORD)
    expect(alert(page, re.compile(r"\S"))).to_be_visible()
    sign_in(page, email, NEW_PASSWORD)
    expect(heading(page, "Your account")).to_be_visible()

    page.goto(link)  # the link worked once
    page.get_by_label("New password", exact=True).fill("Another-one-3-long")
    page.get_by_role("button", name="Set new password").click()
    expect(alert(page, "invalid, already used or expired")).to_be_visible()


def test_change_display_name_and_resend_verification(
    page: Page, shared_account: str, console_errors: ConsoleErrors
) -> None:
    signed_in(page, shared_account)
    name = page.get_by_role("textbox", name="Display name")
    chosen = f"Grace {uuid4().hex[:6]}"
    name.fill(f"  {chosen} ")
    page.get_by_role("button", name="Save name").click()
    expect(status(page, "Display name saved.")).to_be_visible()
    expect(name).to_have_value(chosen)
    page.reload()
    expect(page.get_by_role("textbox", name="Display name")).to_have_value(chosen)

    expect(page.get_by_role("definition").first).to_contain_text("Not verified")
    page.get_by_role("button", name="Resend verification email").click()
    expect(status(page, f"We sent a new confirmation link to {shared_account}.")).to_be_visible()


def test_change_password_and_email(
    page: Page, base_url: str, mailbox: Mailbox, console_errors: ConsoleErrors
) -> None:
    email, new_address = new_email(), new_email()
    create_account(base_url, email)
    signed_in(page, email)

    page.get_by_label("Current password", exact=True).fill("Wrong-password-1")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(alert(page, "The current password is not correct")).to_be_visible()
    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(status(page, "Password changed.")).to_be_visible()
    expect(page.get_by_label("Current password", exact=True)).to_have_value("")

    page.get_by_label("New email", exact=True).fill(new_address)
    page.get_by_label("Your current password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change email").click()
    expect(status(page, f"We sent a confirmation link to {new_address}.")).to_be_visible()
    expect(page.get_by_role("definition").nth(1)).to_have_text(new_address)  # pending
    link = local(mailbox.link(mailbox.wait_for(new_address, VERIFY_SUBJECT)))
    page.goto(link)
    expect(status(page, f"Your email {new_address} is confirmed.")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(heading(page, "Your account")).to_be_focused()
    expect(page.get_by_role("definition").first).to_contain_text(new_address)

    page.get_by_role("button", name="Sign out", exact=True).click()
    sign_in(page, new_address, NEW_PASSWORD)
    expect(heading(page, "Your account")).to_be_visible()


def test_delete_account(page: Page, base_url: str, console_errors: ConsoleErrors) -> None:
    email = new_email()
    create_account(base_url, email)
    signed_in(page, email)
    delete = page.get_by_role("button", name="Delete my account")
    password = page.get_by_label("Password", exact=True)

    password.fill(PASSWORD)
    delete.click()
    expect(alert(page, "Tick the box to confirm")).to_be_visible()
    page.get_by_label("I understand that my account will be deleted", exact=True).check()
    password.fill("Wrong-password-1")
    delete.click()
    expect(alert(page, "The password is not correct")).to_be_visible()
    expect(heading(page, "Your account")).to_be_visible()

    password.fill(PASSWORD)
    delete.click()
    expect(heading(page, "Sign in")).to_be_focused()
    expect(status(page, "Your account was deleted.")).to_be_visible()
    sign_in(page, email, PASSWORD)
    expect(alert(page, re.compile(r"\S"))).to_be_visible()
    expect(heading(page, "Sign in")).to_be_visible()


def test_offline_the_page_loads_from_the_service_worker(
    page: Page, console_errors: ConsoleErrors
) -> None:
    page.goto("/")  # one visit to the calculator installs the service worker
    wait_for_service_worker(page)

    page.context.set_offline(True)
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name="Account").click()
    assert navigation.value is not None and navigation.value.from_service_worker
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    expect(heading(page, "Your account")).to_be_visible()
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    banner = status(page, "You're offline — account actions need the network.")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The calculator works offline.")
    expect(heading(page, "Your account")).to_be_visible()
    expect(page.get_by_role("link", name="Calculator", exact=True)).to_be_visible()

    back_online(page, heading(page, "Sign in"))
    expect(heading(page, "Sign in")).to_be_focused()
    expect(page.get_by_text("You're offline")).to_be_hidden()


def test_going_offline_while_signed_in_keeps_the_page_usable(
    page: Page, shared_account: str, console_errors: ConsoleErrors
) -> None:
    signed_in(page, shared_account)
    page.context.set_offline(True)
    expect(status(page, "You're offline — account actions need the network.")).to_be_visible()
    page.get_by_role("textbox", name="Display name").fill("Offline")
    page.get_by_role("button", name="Save name").click()
    expect(alert(page, "You're offline. Try again when you're connected.")).to_be_visible()
    expect(page.get_by_role("button", name="Save name")).to_be_enabled()

    page.context.set_offline(False)
    expect(page.get_by_text("You're offline —")).to_be_hidden()
    page.get_by_role("button", name="Save name").click()
    expect(status(page, "Display name saved.")).to_be_visible()


def test_phone_width_fits_and_targets_are_large(
    page: Page, shared_account: str, console_errors: ConsoleErrors
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    signed_in(page, shared_account)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    controls = page.locator(":is(header, main) :is(a, button, input):visible").all()
    assert len(controls) > 10
    for control in controls:
        box = control.bounding_box()
        assert box is not None
        if control.get_attribute("type") == "checkbox":  # its label makes the target
            continue
        assert box["height"] >= 44 and box["width"] >= 44, control.evaluate("e => e.outerHTML")
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, control.evaluate(
            "e => e.outerHTML"
        )


def test_signed_in_devices_are_listed_and_signed_out_from_here(
    page: Page, base_url: str, browser: Browser, console_errors: ConsoleErrors
) -> None:
    email = new_email()
    create_account(base_url, email)
    phone = browser.new_context(base_url=base_url, user_agent=PHONE_AGENT)
    try:
        phone_page = phone.new_page()
        open_account_page(phone_page)
        sign_in(phone_page, email, PASSWORD)
        expect(heading(phone_page, "Your account")).to_be_visible()

        signed_in(page, email)
        devices = page.get_by_role("list", name="Signed-in devices").get_by_role("listitem")
        expect(devices).to_have_count(2)
        expect(devices.filter(has_text="(this device)")).to_have_count(1)
        other = devices.filter(has_text="Android")
        expect(other).to_contain_text("Chrome on Android")
        other.get_by_role("button", name=re.compile(r"^Sign out Chrome on Android")).click()
        expect(status(page, "Chrome on Android is signed out.")).to_be_visible()
        expect(devices).to_have_count(1)

        phone_page.reload()  # that device's session is over
        expect(heading(phone_page, "Sign in")).to_be_visible()
        sign_in(phone_page, email, PASSWORD)
        expect(heading(phone_page, "Your account")).to_be_visible()
        page.get_by_role("button", name="Sign out all other devices").click()
        expect(status(page, "Every other device is signed out.")).to_be_visible()
        expect(devices).to_have_count(1)
        phone_page.reload()
        expect(heading(phone_page, "Sign in")).to_be_visible()
    finally:
        phone.close()


def test_the_old_address_can_undo_an_email_change(
    page: Page, base_url: str, mailbox: Mailbox, console_errors: ConsoleErrors
) -> None:
    email, taker = new_email(), new_email()
    create_account(base_url, email)
    signed_in(page, email)
    page.get_by_label("New email", exact=True).fill(taker)
    page.get_by_label("Your current password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Change email").click()
    page.goto(local(mailbox.link(mailbox.wait_for(taker, VERIFY_SUBJECT))))
    expect(status(page, f"Your email {taker} is confirmed.")).to_be_visible()

    undo = mailbox.wait_for(email, "email address of your Calcapp account was changed")
    page.goto(local(mailbox.link(undo)))
    expect(status(page, f"Your email is {email} again")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(heading(page, "Sign in")).to_be_focused()  # every device was signed out
    reset = mailbox.wait_for(email, RESET_SUBJECT)
    page.goto(local(mailbox.link(reset)))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    sign_in(page, email, NEW_PASSWORD)
    expect(heading(page, "Your account")).to_be_visible()
    expect(page.get_by_role("definition").first).to_contain_text(email)


async def _set_password(database_url: str, email: str, password: str) -> None:
    """What an account made under the first rules (8 characters, no list) may hold."""
    conn = await connect(database_url)
    try:
        hashed = hash_now(password, 4)
        await conn.execute("UPDATE users SET password_hash = $2 WHERE email = $1", email, hashed)
    finally:
        await conn.close()


def test_a_password_the_rules_refuse_now_is_to_be_replaced_after_sign_in(
    page: Page, base_url: str, database_url: str, console_errors: ConsoleErrors
) -> None:
    email = new_email()
    create_account(base_url, email)
    weak = "password1234"
    run_async(_set_password(database_url, email, weak))
    open_account_page(page)
    sign_in(page, email, weak)
    notice = page.get_by_text("Your password no longer meets our rules")
    expect(notice).to_be_visible()
    page.get_by_label("Current password", exact=True).fill(weak)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(status(page, "Password changed.")).to_be_visible()
    expect(notice).to_be_hidden()
    page.reload()
    expect(heading(page, "Your account")).to_be_visible()
    expect(page.get_by_text("Your password no longer meets our rules")).to_be_hidden()
