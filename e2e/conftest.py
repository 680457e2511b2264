"""End-to-end fixtures: a live `calcapp serve` process and Chromium through Playwright.

The browser is the distribution's `chromium` (or `CHROMIUM_PATH`) when present, otherwise the
one `python -m playwright install chromium` downloaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.stripe_support import register_webhook, stripe_env
from tests.support import calcapp_env, chromium_executable, free_port, running_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(os.path.dirname(__file__)):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def live_server(database_url: str, mail_env: dict[str, str], stripe_api_base: str) -> Iterator[str]:
    port = free_port()
    env = calcapp_env(
        DATABASE_URL=database_url,
        CALCAPP_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **mail_env,
        **stripe_env(stripe_api_base),
    )
    with running_server(env, port=port) as (base_url, _):
        register_webhook(stripe_api_base, "e2e", f"{base_url}/api/v1/billing/webhook")
        yield base_url


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Pages read numbers in the browser's locale (1,234.5): en-US unless a test says otherwise
    (e2e/test_locale.py overrides this per test), whatever the machine's own locale."""
    return {"locale": "en-US", **browser_context_args}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_executable()
    return {**browser_type_launch_args, **({"executable_path": path} if path else {})}


# Chromium logs every 4xx answer to fetch() as "Failed to load resource: the server responded
# with a status of 401 (Unauthorized)", and every request refused while offline as "Failed to
# load resource: net::ERR_INTERNET_DISCONNECTED". The API's documented failures (signed out,
# wrong password, invalid link, too many attempts) and being offline are situations the pages
# handle, not page errors; anything else (a 404, a 500, an exception) still counts.
API_ANSWER = re.compile(
    r"^Failed to load resource: (the server responded with a status of 4(00|01|03|09|22|29)\b"
    r"|net::ERR_INTERNET_DISCONNECTED$)"
)


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Errors the page logs or throws; every e2e test should end with none."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if API_ANSWER.match(message.text) and "/api/v1/" in message.location.get("url", ""):
            return
        errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_limits: None) -> None:
    """All browser traffic comes from 127.0.0.1: start each test with no attempts counted."""
