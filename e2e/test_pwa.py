"""The installable app: offline after one visit, installable, fits a phone, updates safely."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, Playwright, expect

from e2e.calculator import ALL_KEY_NAMES, expression, open_calculator, result, type_expression
from testkit.browser import wait_for_service_worker
from testkit.support import calcapp_env, running_server

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"


@pytest.fixture
def fresh_page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url)
    yield context.new_page()
    context.close()


def test_works_offline_after_one_visit(fresh_page: Page) -> None:
    page = fresh_page
    open_calculator(page)
    wait_for_service_worker(page)

    page.context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    type_expression(page, "0.1+0.2")
    expect(result(page)).to_have_text("0.3")
    assert (
        page.evaluate("fetch('/api/v1/health').then(() => 'reached', () => 'offline')") == "offline"
    )


def test_api_answers_are_never_cached(fresh_page: Page) -> None:
    page = fresh_page
    open_calculator(page)
    wait_for_service_worker(page)
    assert page.evaluate("fetch('/api/v1/health').then(r => r.status)") == 200
    cached = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) urls.push(request.url);
            }
            return urls;
        }"""
    )
    assert cached and not [url for url in cached if "/api/" in url]


def test_installable_in_a_persistent_profile(
    browser_type: BrowserType,
    browser_type_launch_args: dict[str, Any],
    base_url: str,
    tmp_path: Path,
) -> None:
    context = browser_type.launch_persistent_context(
        tmp_path / "profile", base_url=base_url, **browser_type_launch_args
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        open_calculator(page)
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors") == {"installabilityErrors": []}
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == []
        assert manifest["url"].endswith("/manifest.webmanifest")
    finally:
        context.close()


@pytest.mark.parametrize("device", ["Pixel 7", "iPhone 13", None])
def test_a_phone_shows_every_key_without_scrolling(
    playwright: Playwright, browser: Browser, base_url: str, device: str | None
) -> None:
    options: dict[str, Any] = (
        dict(playwright.devices[device])
        if device
        else {"viewport": {"width": 360, "height": 800}, "is_mobile": True, "has_touch": True}
    )
    context = browser.new_context(**options, base_url=base_url)
    try:
        page = context.new_page()
        open_calculator(page)
        viewport = page.viewport_size
        assert viewport is not None
        for name in ALL_KEY_NAMES:
            box = page.get_by_role("button", name=name, exact=True).bounding_box()
            assert box is not None, name
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], name
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], name
            assert box["width"] >= 44 and box["height"] >= 44, name
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.get_by_role("button", name="7", exact=True).tap()
        expect(expression(page)).to_have_value("7")
        if device and device.startswith("iPhone"):  # no install prompt there: instructions
            page.get_by_role("button", name="Install app").tap()
            expect(page.get_by_text("Add to Home Screen")).to_be_visible()
    finally:
        context.close()


def test_no_layout_shift_while_loading_and_calculating(fresh_page: Page) -> None:
    page = fresh_page
    page.add_init_script(
        """window.__shifts = [];
        new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) {
                if (!entry.hadRecentInput) window.__shifts.push(entry.value);
            }
        }).observe({type: "layout-shift", buffered: true});"""
    )
    open_calculator(page)
    type_expression(page, "1÷0")
    type_expression(page, "2+2")
    expect(result(page)).to_have_text("4")
    # Observer callbacks run as tasks: the next frame's task comes after those queued now.
    shifts = page.evaluate(
        "new Promise((done) =>"
        " requestAnimationFrame(() => setTimeout(() => done(window.__shifts))))"
    )
    assert shifts == []


@pytest.fixture
def editable_shell(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server of its own over a copy of the PWA folder that the test may change."""
    folder = tmp_path / "pwa"
    shutil.copytree(PWA_DIR, folder)
    env = calcapp_env(DATABASE_URL=database_url, CALCAPP_STATIC_DIR=str(folder))
    with running_server(env) as (base_url, _):
        yield base_url, folder


def test_an_update_is_offered_and_keeps_what_the_user_typed(
    browser: Browser, editable_shell: tuple[str, Path]
) -> None:
    base_url, folder = editable_shell
    context: BrowserContext = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        open_calculator(page)
        wait_for_service_worker(page)
        old_version = page.evaluate("caches.keys()")
        expression(page).click()
        page.keyboard.type("12+30")

        styles = folder / "styles.css"
        styles.write_text(styles.read_text() + "\n/* a new release */\n")
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")

        banner = page.get_by_role("status").filter(has_text="Update available")
        expect(banner).to_be_visible()
        with page.expect_navigation():
            banner.get_by_role("button", name="Reload").click()
        expect(page.locator("html")).to_have_attribute("data-ready", "true")
        expect(expression(page)).to_have_value("12+30")
        new_version = page.evaluate("caches.keys()")
        assert len(new_version) == 1 and new_version != old_version
        css = page.evaluate("fetch('styles.css').then((r) => r.text())")
        assert "a new release" in css
    finally:
        context.close()
