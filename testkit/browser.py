"""Waiting for page state in Chromium without `page.wait_for_function`.

`wait_for_function` polls with a predicate the page compiles itself, which the app's
Content-Security-Policy (no 'unsafe-eval') refuses whenever the first check fails;
`page.evaluate` runs through the DevTools protocol, outside the CSP. So these evaluate a
promise that settles on the page's own event.
"""

from __future__ import annotations

import re

from playwright.sync_api import ConsoleMessage, Page

CONTROLLED = """() => navigator.serviceWorker.ready.then(() =>
  navigator.serviceWorker.controller !== null || new Promise((resolve) =>
    navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true),
                                             { once: true })))"""

MARKED = """(name) => performance.getEntriesByName(name).length > 0 || new Promise((resolve) =>
  new PerformanceObserver((list, observer) => {
    if (list.getEntriesByName(name).length > 0) { observer.disconnect(); resolve(true); }
  }).observe({ type: "mark", buffered: true }))"""


def wait_for_service_worker(page: Page) -> None:
    """Until a service worker controls the page (installed and claimed it)."""
    page.evaluate(CONTROLLED)


def wait_for_mark(page: Page, name: str) -> None:
    """Until the page has made the performance mark `name`."""
    page.evaluate(MARKED, name)


# Chromium logs every 4xx answer to fetch() as "Failed to load resource: the server responded
# with a status of 401 (Unauthorized)", and every request refused while offline as "Failed to
# load resource: net::ERR_INTERNET_DISCONNECTED". The API's documented failures (signed out,
# wrong password, invalid link, too many attempts) and being offline are situations the pages
# handle, not page errors; anything else (a 404, a 500, an exception) still counts.
API_ANSWER = re.compile(
    r"^Failed to load resource: (the server responded with a status of 4(00|01|03|09|22|29)\b"
    r"|net::ERR_INTERNET_DISCONNECTED$)"
)


class ConsoleErrors(list[str]):
    """What a page logged as an error or threw, but the API's documented failures."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: re.Pattern[str]) -> None:
        """Errors this test expects (a refused card's 402, say)."""
        self.allowed.append(pattern)

    def unexpected(self) -> list[str]:
        return [e for e in self if not any(p.match(e) for p in self.allowed)]


def watch_console(page: Page, *, also_ignore: re.Pattern[str] | None = None) -> ConsoleErrors:
    """Collect `page`'s errors from now on: what it logs as an error and what it throws, but
    `API_ANSWER` (and `also_ignore`) for requests to the API."""
    errors = ConsoleErrors()

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        api = "/api/v1/" in message.location.get("url", "")
        ignored = API_ANSWER.match(message.text) or (
            also_ignore and also_ignore.match(message.text)
        )
        if api and ignored:
            return
        errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
