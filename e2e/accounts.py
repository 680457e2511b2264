"""Accounts for browser tests: made through the API, signed in through the API."""

from __future__ import annotations

import contextlib
from uuid import uuid4

import httpx
from playwright.sync_api import BrowserContext, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

PASSWORD = "Correct-horse-7"


def create_account(base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign `email` up through the API (the sign-up form has its own tests)."""
    with httpx.Client(base_url=base_url) as client:
        client.get("/api/v1/auth/csrf").raise_for_status()
        response = client.post(
            "/api/v1/auth/signup",
            json={"email": email, "password": password},
            headers={"x-csrftoken": client.cookies["csrftoken"]},
        )
    assert response.status_code == 202, response.text


def new_account(base_url: str, prefix: str = "user") -> str:
    """A new account, signed up through the API: its email."""
    email = f"{prefix}-{uuid4().hex[:8]}@example.com"
    create_account(base_url, email)
    return email


def sign_in(context: BrowserContext, base_url: str, email: str) -> None:
    """Sign the browser context in through the API (it shares the context's cookies)."""
    context.request.get(f"{base_url}/api/v1/auth/csrf")
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    response = context.request.post(
        f"{base_url}/api/v1/auth/login",
        data={"email": email, "password": PASSWORD},
        headers={"x-csrftoken": token},
    )
    assert response.status == 200, response.text()


def sign_out(context: BrowserContext, base_url: str) -> None:
    """Sign the browser context out through the API (as another tab of it would)."""
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    response = context.request.post(
        f"{base_url}/api/v1/auth/logout", headers={"x-csrftoken": token}
    )
    assert response.status == 204, response.text()


def back_online(page: Page, arrived: Locator) -> None:
    """The network comes back: the page goes on by itself (the "online" event) or, in Chromium
    versions that leave navigator.onLine true in a document loaded offline (no event comes),
    once the user presses Try again; either way `arrived` shows."""
    page.context.set_offline(False)
    try_again = page.get_by_role("button", name="Try again")
    expect(try_again.or_(arrived)).to_be_visible()
    if try_again.is_visible():
        # The "online" event may take the page on between the check and the click.
        with contextlib.suppress(PlaywrightTimeoutError):
            try_again.click(timeout=5_000)
    expect(arrived).to_be_visible()
