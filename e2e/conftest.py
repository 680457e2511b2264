"""End-to-end fixtures: a live `calcapp serve` process and Chromium through Playwright.

The browser is the distribution's `chromium` (or `CHROMIUM_PATH`) when present, otherwise the
one `python -m playwright install chromium` downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.support import calcapp_env, chromium_executable, running_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(os.path.dirname(__file__)):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    with running_server(calcapp_env(DATABASE_URL=database_url)) as (base_url, _):
        yield base_url


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_executable()
    return {**browser_type_launch_args, **({"executable_path": path} if path else {})}


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Errors the page logs or throws; every e2e test should end with none."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
