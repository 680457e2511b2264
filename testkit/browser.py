"""Waiting for page state in Chromium without `page.wait_for_function`.

`wait_for_function` polls with a predicate the page compiles itself, which the app's
Content-Security-Policy (no 'unsafe-eval') refuses whenever the first check fails;
`page.evaluate` runs through the DevTools protocol, outside the CSP. So these evaluate a
promise that settles on the page's own event.
"""

from __future__ import annotations

from playwright.sync_api import Page

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
