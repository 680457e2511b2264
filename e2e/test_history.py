"""Local history (free tier): persistent, searchable, reusable, exportable, undoable."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import BrowserType, Page, expect

from e2e.calculator import (
    click_keys,
    expression,
    history_entries,
    open_calculator,
    result,
    type_expression,
)
from testkit.browser import ConsoleErrors


@pytest.fixture(autouse=True)
def calculator(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)


def calculate(page: Page, *expressions: str) -> None:
    """Type each expression (written as the Expression box shows it) and press Enter."""
    for text in expressions:
        type_expression(page, text)
        expect(history_entries(page).first).to_contain_text(text)


def test_entries_read_expression_equals_result_newest_first(page: Page) -> None:
    calculate(page, "1+1", "2×3")
    expect(history_entries(page)).to_have_count(2)
    expect(history_entries(page).nth(0)).to_contain_text("2×3 = 6")
    expect(history_entries(page).nth(1)).to_contain_text("1+1 = 2")


def test_history_survives_a_reload(page: Page) -> None:
    calculate(page, "7+3", "15×2")
    page.reload()
    expect(history_entries(page)).to_have_count(2)
    expect(history_entries(page).first).to_contain_text("15×2 = 30")


def test_search_filters_by_expression(page: Page) -> None:
    calculate(page, "12+1", "40÷2", "12×3")
    page.get_by_role("searchbox", name="Search history").fill("12")
    expect(history_entries(page)).to_have_count(2)
    page.get_by_role("searchbox", name="Search history").fill("nothing like it")
    expect(history_entries(page)).to_have_count(0)
    expect(page.get_by_text("No calculation matches.")).to_be_visible()


def test_reuse_loads_the_expression_for_editing(page: Page) -> None:
    calculate(page, "12+30")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Reuse 12+30 = 42").click()
    expect(expression(page)).to_have_value("12+30")
    expect(expression(page)).to_be_focused()
    page.keyboard.press("Backspace")
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    expect(result(page)).to_have_text("43")


def test_insert_result_puts_the_full_value_in(page: Page) -> None:
    calculate(page, "1÷3")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Insert result 0.333333333333333").click()
    click_keys(page, "×", "3", "=")
    expect(result(page)).to_have_text("1")


def test_copy_puts_an_entry_result_on_the_clipboard(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    calculate(page, "2÷3")
    page.get_by_role("button", name="Copy result 0.666666666666667").click()
    assert page.evaluate("navigator.clipboard.readText()") == "0.666666666666667"


def test_delete_one_and_undo(page: Page) -> None:
    calculate(page, "1+2", "3+4")
    page.get_by_role("button", name="Delete 1+2 = 3").click()
    expect(history_entries(page)).to_have_count(1)
    page.get_by_role("button", name="Undo").click()
    expect(history_entries(page)).to_have_count(2)
    page.get_by_role("button", name="Delete 1+2 = 3").click()
    page.reload()
    expect(history_entries(page)).to_have_count(1)


def test_clear_all_offers_undo(page: Page) -> None:
    calculate(page, "1+2", "3+4")
    page.get_by_role("button", name="Clear all").click()
    expect(history_entries(page)).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(history_entries(page)).to_have_count(2)


def test_export_csv_and_json(page: Page, tmp_path: Path) -> None:
    calculate(page, "1+2", "2×3")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export CSV").click()
    csv_path = tmp_path / "history.csv"
    csv_download.value.save_as(csv_path)
    lines = csv_path.read_text().splitlines()
    assert csv_download.value.suggested_filename.endswith(".csv")
    assert lines[0] == "created_at,expression,result,value,angle"
    assert lines[2].split(",")[1:] == ["1+2", "3", "3", ""]

    with page.expect_download() as json_download:
        page.get_by_role("button", name="Export JSON").click()
    json_path = tmp_path / "history.json"
    json_download.value.save_as(json_path)
    exported = json.loads(json_path.read_text())
    assert [(h["expression"], h["result"]) for h in exported["history"]][-1] == ("1+2", "3")


def test_newest_1000_are_kept(page: Page) -> None:
    page.evaluate(
        """() => {
            const entries = Array.from({length: 1000}, (_, i) => ({
                id: `old-${i}`, expression: `${i}+0`, result: `${i}`, value: `${i}`, engine: 1,
                created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 1000 - i)).toISOString()}));
            localStorage.setItem("calcapp.history.v1", JSON.stringify(entries));
        }"""
    )
    page.reload()
    type_expression(page, "5×5")
    stored = page.evaluate("JSON.parse(localStorage.getItem('calcapp.history.v1'))")
    assert len(stored) == 1000
    assert stored[0]["expression"] == "5×5"
    assert stored[-1]["expression"] == "998+0"


def test_full_storage_drops_the_oldest_never_the_newest(page: Page) -> None:
    # Fill the origin's storage to the brim with other data, leaving no room for history.
    page.evaluate(
        """() => {
            const entries = Array.from({length: 200}, (_, i) => ({
                id: `old-${i}`, expression: `${i}+${"1".repeat(200)}`, result: `${i}`,
                value: `${i}`, engine: 1,
                created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 1000 - i)).toISOString()}));
            localStorage.setItem("calcapp.history.v1", JSON.stringify(entries));
            let chunk = "x".repeat(1 << 20), i = 0;
            while (chunk.length > 16) {
                try { localStorage.setItem(`filler-${i++}`, chunk); }
                catch { chunk = chunk.slice(chunk.length / 2); }
            }
        }"""
    )
    page.reload()
    type_expression(page, "6×7")
    expect(result(page)).to_have_text("42")
    expect(page.get_by_text("History is full: removed the oldest")).to_be_visible()
    stored = page.evaluate("JSON.parse(localStorage.getItem('calcapp.history.v1'))")
    assert stored[0]["expression"] == "6×7"
    assert len(stored) < 201


def test_history_survives_a_browser_restart(
    browser_type: BrowserType,
    browser_type_launch_args: dict[str, object],
    base_url: str,
    tmp_path: Path,
) -> None:
    profile = tmp_path / "profile"
    for attempt in range(2):
        context = browser_type.launch_persistent_context(
            profile,
            base_url=base_url,
            **browser_type_launch_args,  # type: ignore[arg-type]
        )
        page = context.pages[0] if context.pages else context.new_page()
        open_calculator(page)
        if attempt == 0:
            calculate(page, "19+23")
        else:
            expect(history_entries(page).first).to_contain_text("19+23 = 42")
        context.close()
