"""Numbers in the user's locale (pwa/js/numbers.js), in browser contexts of three locales.

The Expression box, the result and the history show the locale's grouping and decimal
separator (1,234,567.89 in en-US, 1.234.567,89 in de-DE, 12,34,567.89 in en-IN); typing,
paste and search take either form; copies give the shown form or, by a setting, the canonical
one; and what is stored on the device, exported and synced stays canonical.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from backend.db.server import connect
from e2e.calculator import (
    click_keys,
    expression,
    history_entries,
    key,
    open_calculator,
    paste,
    result,
    type_expression,
)
from e2e.premium import premium_calculator, sync_status
from testkit.browser import ConsoleErrors
from testkit.support import run_async

LOCALES = ["en-US", "de-DE", "en-IN"]
DECIMAL = {"en-US": ".", "de-DE": ",", "en-IN": "."}
SHOWN = {"en-US": "1,234,567.89", "de-DE": "1.234.567,89", "en-IN": "12,34,567.89"}
DOUBLED = {"en-US": "2,469,135.78", "de-DE": "2.469.135,78", "en-IN": "24,69,135.78"}
UNGROUPED = {"en-US": "1234567.89", "de-DE": "1234567,89", "en-IN": "1234567.89"}
UNGROUPED_DOUBLED = {"en-US": "2469135.78", "de-DE": "2469135,78", "en-IN": "2469135.78"}
FIFTEEN = {
    "en-US": "123,456,789,012,345",
    "de-DE": "123.456.789.012.345",
    "en-IN": "12,34,56,78,90,12,345",
}
CANONICAL = "1234567.89"
KEYS = list(CANONICAL)


@pytest.fixture(params=LOCALES)
def locale(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], locale: str) -> dict[str, Any]:
    """Every test here runs in a browser context of `locale` (what navigator.language and
    Intl say), as a user of that locale's device would."""
    return {**browser_context_args, "locale": locale}


@pytest.fixture(autouse=True)
def calculator(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)


def stored_history(page: Page) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = page.evaluate(
        "JSON.parse(localStorage.getItem('calcapp.history.v1') ?? '[]')"
    )
    return entries


def draft_text(page: Page) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('calcapp.draft.v2')).text"))


def clipboard(page: Page) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def number_format(page: Page) -> None:
    """Open the Number format settings (a disclosure under the keypad)."""
    page.get_by_text("Number format", exact=True).click()


def test_keypad_entry_and_result_are_shown_in_the_locale(page: Page, locale: str) -> None:
    decimal_key = key(page, ".")
    expect(decimal_key).to_have_text(DECIMAL[locale])  # named "decimal point" all the same
    click_keys(page, *KEYS)
    expect(expression(page)).to_have_value(SHOWN[locale])
    click_keys(page, "=")
    # What a screen reader reads: the Result status's text, the locale's number.
    expect(result(page)).to_have_text(SHOWN[locale])
    expect(history_entries(page).first).to_contain_text(f"{SHOWN[locale]} = {SHOWN[locale]}")
    expect(page.get_by_role("button", name=f"Copy result {SHOWN[locale]}")).to_be_visible()

    entry = stored_history(page)[0]
    assert (entry["expression"], entry["result"], entry["value"]) == (CANONICAL,) * 3
    assert draft_text(page) == CANONICAL


def test_typed_entry_is_shown_in_the_locale_and_stored_canonical(page: Page, locale: str) -> None:
    type_expression(page, "1234567.89*2")
    expect(expression(page)).to_have_value(f"{SHOWN[locale]}×2")
    expect(result(page)).to_have_text(DOUBLED[locale])
    expect(history_entries(page).first).to_contain_text(f"{SHOWN[locale]}×2 = {DOUBLED[locale]}")
    entry = stored_history(page)[0]
    assert (entry["expression"], entry["result"]) == ("1234567.89×2", "2469135.78")

    page.reload()  # the draft is canonical and shown localized again
    expect(expression(page)).to_have_value(f"{SHOWN[locale]}×2")
    expect(result(page)).to_have_text(DOUBLED[locale])


@pytest.mark.parametrize("locale", ["de-DE"])
def test_a_comma_or_a_point_typed_in_german_is_the_decimal_separator(page: Page) -> None:
    type_expression(page, "1234,5+0.5")
    expect(expression(page)).to_have_value("1.234,5+0,5")
    expect(result(page)).to_have_text("1.235")
    assert stored_history(page)[0]["expression"] == "1234.5+0.5"


@pytest.mark.parametrize(
    ("locale", "after_nine", "after_zero"),
    [
        ("en-US", ("12,934", 4), ("129,034", 5)),
        ("de-DE", ("12.934", 4), ("129.034", 5)),
        ("en-IN", ("12,934", 4), ("1,29,034", 6)),
    ],
)
def test_the_caret_stays_with_the_digits_as_separators_move(
    page: Page, after_nine: tuple[str, int], after_zero: tuple[str, int]
) -> None:
    box = expression(page)
    box.click()
    page.keyboard.type("1234")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # 1,2|34
    page.keyboard.type("9")
    expect(box).to_have_value(after_nine[0])
    assert box.evaluate("el => el.selectionStart") == after_nine[1]  # right after the 9
    page.keyboard.type("0")
    expect(box).to_have_value(after_zero[0])
    assert box.evaluate("el => [el.selectionStart, el.selectionEnd]") == [after_zero[1]] * 2
    page.keyboard.press("Backspace")
    expect(box).to_have_value(after_nine[0])
    page.keyboard.press("Enter")
    assert stored_history(page)[0]["expression"] == "12934"


def test_a_native_edit_of_the_box_is_read_back(page: Page, locale: str) -> None:
    """Select part of the box and cut it: the browser edits the shown text; the calculator
    reads it back canonical and shows it grouped again."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    box = expression(page)
    click_keys(page, *KEYS)
    box.focus()
    box.evaluate("el => el.setSelectionRange(0, 2)")  # "1," / "1." / "12"
    page.keyboard.press("Control+x")
    remaining = {"en-US": "234,567.89", "de-DE": "234.567,89", "en-IN": "34,567.89"}[locale]
    expect(box).to_have_value(remaining)
    page.keyboard.press("Enter")
    canonical = {"en-US": "234567.89", "de-DE": "234567.89", "en-IN": "34567.89"}[locale]
    assert stored_history(page)[0]["expression"] == canonical


def test_the_15_digit_limit_counts_digits_not_separators(page: Page, locale: str) -> None:
    click_keys(page, *"123456789012345")
    expect(expression(page)).to_have_value(FIFTEEN[locale])
    click_keys(page, "6")
    expect(expression(page)).to_have_value(FIFTEEN[locale])
    expect(page.locator("#notice")).to_have_text("At most 15 digits per number")
    click_keys(page, "=")
    expect(result(page)).to_have_text(FIFTEEN[locale])
    # Typed: the box never cuts a long expression short on its separators.
    type_expression(page, "+".join(["123456789012345"] * 15))
    expect(expression(page)).to_have_value("+".join([FIFTEEN[locale]] * 15))
    assert expression(page).evaluate("el => el.maxLength >= el.value.length")


def test_paste_takes_the_locale_form_and_the_canonical_form(page: Page, locale: str) -> None:
    for pasted in (SHOWN[locale], CANONICAL, f" {SHOWN[locale]} × 2 ="):
        paste(page, pasted)
        expect(expression(page)).to_have_value(
            f"{SHOWN[locale]}×2" if pasted.endswith("=") else SHOWN[locale]
        )
        page.keyboard.press("Enter")
        expect(result(page)).to_have_text(
            DOUBLED[locale] if pasted.endswith("=") else SHOWN[locale]
        )
        page.keyboard.press("Escape")
    assert [e["expression"] for e in stored_history(page)] == ["1234567.89×2", CANONICAL, CANONICAL]


AMBIGUOUS_PASTES = {  # pasted: (shown, canonical)
    "de-DE": {
        "1.234": ("1.234", "1234"),  # the locale's reading wins (what Calcapp copies)
        "1.5": ("1,5", "1.5"),  # cannot be German grouping: canonical
        "1234.5": ("1.234,5", "1234.5"),
        "1,234,567.89": ("1.234.567,89", "1234567.89"),  # the English form
        "1,5e+20": ("1,5e+20", "1.5e+20"),
    },
    "en-IN": {"1,234,567.89": ("12,34,567.89", "1234567.89")},  # the Western form
    "en-US": {"1.234.567,89": ("1,234,567.89", "1234567.89")},  # the German form
}


def test_ambiguous_pastes(page: Page, locale: str) -> None:
    for pasted, (shown, canonical) in AMBIGUOUS_PASTES[locale].items():
        page.keyboard.press("Escape")
        paste(page, pasted)
        expect(expression(page), pasted).to_have_value(shown)
        assert draft_text(page) == canonical, pasted


def test_copy_gives_the_shown_form_or_canonical_by_the_setting(page: Page, locale: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    click_keys(page, *KEYS, "=")
    expect(result(page)).to_have_text(SHOWN[locale])
    key(page, "=").focus()
    page.keyboard.press("Control+c")
    assert clipboard(page) == SHOWN[locale]
    page.get_by_role("button", name=f"Copy result {SHOWN[locale]}").click()
    expect(page.locator("#notice")).to_have_text(f"Copied {SHOWN[locale]}")
    assert clipboard(page) == SHOWN[locale]

    number_format(page)
    canonical_copy = page.get_by_role("checkbox", name="Copy numbers without grouping")
    expect(canonical_copy).not_to_be_checked()
    canonical_copy.check()
    key(page, "=").focus()
    page.keyboard.press("Control+c")
    assert clipboard(page) == CANONICAL
    page.get_by_role("button", name=f"Copy result {SHOWN[locale]}").click()
    expect(page.locator("#notice")).to_have_text(f"Copied {CANONICAL}")
    assert clipboard(page) == CANONICAL
    # The selected part of the Expression box, canonical too.
    box = expression(page)
    box.focus()
    box.press("Control+a")
    box.press("Control+c")
    assert clipboard(page) == CANONICAL
    stored = page.evaluate("JSON.parse(localStorage.getItem('calcapp.numbers.v1'))")
    assert stored == {"grouping": True, "canonicalCopy": True}


def test_grouping_can_be_switched_off(page: Page, locale: str) -> None:
    type_expression(page, "1234567.89*2")
    expect(result(page)).to_have_text(DOUBLED[locale])
    number_format(page)
    grouping = page.get_by_role("checkbox", name="Group digits")
    expect(grouping).to_be_checked()
    grouping.uncheck()
    ungrouped_double = UNGROUPED_DOUBLED[locale]
    # At once: the expression, the result and the history.
    expect(expression(page)).to_have_value(f"{UNGROUPED[locale]}×2")
    expect(result(page)).to_have_text(ungrouped_double)
    expect(history_entries(page).first).to_contain_text(
        f"{UNGROUPED[locale]}×2 = {ungrouped_double}"
    )
    page.reload()
    expect(result(page)).to_have_text(ungrouped_double)
    number_format(page)
    grouping = page.get_by_role("checkbox", name="Group digits")
    expect(grouping).not_to_be_checked()
    grouping.check()
    expect(result(page)).to_have_text(DOUBLED[locale])


def test_history_search_takes_either_form(page: Page, locale: str) -> None:
    for typed in ("1234567.89", "5+5"):
        type_expression(page, typed)
        expect(history_entries(page).first).to_contain_text(" = ")
    search = page.get_by_role("searchbox", name="Search history")
    for query in (SHOWN[locale], CANONICAL):
        search.fill(query)
        expect(history_entries(page)).to_have_count(1)
        expect(history_entries(page).first).to_contain_text(f"{SHOWN[locale]} = {SHOWN[locale]}")


@pytest.mark.parametrize("locale", ["de-DE"])  # what an export holds does not vary by locale
def test_export_is_canonical(page: Page, tmp_path: Path) -> None:
    type_expression(page, "1234567.89*2")
    expect(history_entries(page)).to_have_count(1)
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export CSV").click()
    csv_path = tmp_path / "history.csv"
    csv_download.value.save_as(csv_path)
    (row,) = csv.DictReader(csv_path.read_text().splitlines())
    assert (row["expression"], row["result"], row["value"]) == (
        "1234567.89×2",
        "2469135.78",
        "2469135.78",
    )
    with page.expect_download() as json_download:
        page.get_by_role("button", name="Export JSON").click()
    json_path = tmp_path / "history.json"
    json_download.value.save_as(json_path)
    (item,) = json.loads(json_path.read_text())["history"]
    assert (item["expression"], item["result"], item["value"]) == (
        "1234567.89×2",
        "2469135.78",
        "2469135.78",
    )


@pytest.mark.parametrize("locale", ["en-US"])
def test_numbers_module_in_other_locales(page: Page) -> None:
    """The pure functions on locales with other separators: U+202F and U+00A0 groups (fr-FR,
    pl-PL), an apostrophe (de-CH), no grouping of four digits (es-ES)."""
    cases = page.evaluate(
        """async () => {
            const n = await import("/js/numbers.js");
            const show = (locale, text) => n.localizeExpression(text, {locale});
            const paste = (locale, text) => n.canonicalPaste(text, {locale});
            const india = {locale: "en-IN"};
            return {
                fr: show("fr-FR", "1234567.89×sin(1000)+1.5e+1000"),
                frBack: n.canonicalize(show("fr-FR", "1234567.89"), {locale: "fr-FR"}),
                frPaste: paste("fr-FR", "1\\u202f234\\u202f567,89 + 1 234,5 + 1.5"),
                pl: [show("pl-PL", "1234"), show("pl-PL", "12345")],
                ch: show("de-CH", "1234567.89"),
                es: [show("es-ES", "1234.5"), show("es-ES", "12345.5")],
                off: n.localizeExpression("1234567.89", {locale: "de-DE", grouping: false}),
                names: show("en-US", "log10(100000)+pi×2^1000!"),
                caret: [0, 1, 4, 7].map((i) => n.shownCaret("1234567", i, india)),
                back: [0, 1, 2, 5, 9].map((i) => n.canonicalCaret("12,34,567", i, india)),
            };
        }"""
    )
    assert cases == {
        "fr": "1\u202f234\u202f567,89×sin(1\u202f000)+1,5e+1000",
        "frBack": "1234567.89",
        "frPaste": "1234567.89 + 1234.5 + 1.5",
        "pl": ["1234", "12\u00a0345"],
        "ch": "1'234'567.89",
        "es": ["1234,5", "12.345,5"],
        "off": "1234567,89",
        "names": "log10(100,000)+pi×2^1,000!",
        "caret": [0, 1, 5, 9],
        "back": [0, 1, 2, 4, 7],
    }


async def _server_rows(database_url: str, email: str) -> list[tuple[str, str]]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT h.expression, h.result FROM calculation_history h"
            " JOIN users u ON u.id = h.user_id WHERE u.email = $1 AND h.deleted_at IS NULL",
            email,
        )
    finally:
        await conn.close()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.parametrize("locale", ["de-DE"])
def test_what_reaches_the_server_is_canonical(page: Page, base_url: str, database_url: str) -> None:
    email = premium_calculator(page, base_url, database_url)
    expect(sync_status(page)).to_have_text("Synced")
    type_expression(page, "1234567.89*2")
    expect(history_entries(page).first).to_contain_text("1.234.567,89×2 = 2.469.135,78")
    expect(sync_status(page)).to_have_text("Synced")
    assert run_async(_server_rows(database_url, email)) == [("1234567.89×2", "2469135.78")]
    # The server's search is asked in canonical form, whichever form is typed.
    search = page.get_by_role("searchbox", name="Search history")
    search.fill("1.234.567,89")
    expect(history_entries(page)).to_have_count(1)
    search.fill("9999,5")
    expect(history_entries(page)).to_have_count(0)
