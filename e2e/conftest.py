"""End-to-end fixtures: a live `calcapp serve` process and Chromium through Playwright.

The browser is the distribution's `chromium` (or `CHROMIUM_PATH`) when present, otherwise the
one `python -m playwright install chromium` downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from testkit.browser import ConsoleErrors, watch_console
from testkit.fixtures import CalcappServer
from testkit.support import chromium_executable, free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(os.path.dirname(__file__)):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def live_server(calcapp_server: CalcappServer) -> Iterator[str]:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    with calcapp_server(webhook="e2e", port=port, CALCAPP_PUBLIC_URL=public_url) as base_url:
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


@pytest.fixture
def console_errors(page: Page) -> Iterator[ConsoleErrors]:
    """Errors the page logs or throws (testkit.browser.watch_console): the test fails at its
    end if there is any it did not `allow`."""
    errors = watch_console(page)
    yield errors
    assert errors.unexpected() == [], "the page logged errors"


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_limits: None) -> None:
    """All browser traffic comes from 127.0.0.1: start each test with no attempts counted."""
