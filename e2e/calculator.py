"""How the end-to-end tests drive the calculator: through its accessibility contract only."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

KEY_NAMES = {
    "+": "plus",
    "-": "minus",
    "−": "minus",
    "*": "multiply",
    "×": "multiply",
    "/": "divide",
    "÷": "divide",
    "%": "percent",
    "(": "open parenthesis",
    ")": "close parenthesis",
    ".": "decimal point",
    "±": "change sign",
    "⌫": "backspace",
    "=": "equals",
    "AC": "all clear",
    "MC": "memory clear",
    "MR": "memory recall",
    "M+": "memory add",
    "M-": "memory subtract",
    "MS": "memory store",
}

ALL_KEY_NAMES = [*(str(d) for d in range(10)), *sorted(set(KEY_NAMES.values()))]


def open_calculator(page: Page, path: str = "/") -> None:
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("data-ready", "true")


def key(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=KEY_NAMES.get(name, name), exact=True)


def click_keys(page: Page, *keys: str) -> None:
    for name in keys:
        key(page, name).click()


def expression(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Expression")


def result(page: Page) -> Locator:
    return page.get_by_role("status", name="Result")


def alert(page: Page) -> Locator:
    return page.get_by_role("alert")


def history(page: Page) -> Locator:
    return page.get_by_role("list", name="History")


def history_entries(page: Page) -> Locator:
    return history(page).get_by_role("listitem")


def type_expression(page: Page, text: str) -> None:
    """Type into the Expression box with the keyboard, then press Enter."""
    box = expression(page)
    box.click()
    box.press("Escape")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def paste(page: Page, text: str) -> None:
    """Paste `text` into the Expression box as the browser does for Ctrl+V."""
    expression(page).focus()
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const event = new ClipboardEvent(
                "paste", {clipboardData: data, bubbles: true, cancelable: true});
            document.getElementById("expression").dispatchEvent(event);
        }""",
        text,
    )
