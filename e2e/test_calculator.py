"""The calculator in Chromium, driven as a user: keypad clicks and the keyboard."""

import pytest
from playwright.sync_api import Page, expect

from e2e.calculator import (
    ALL_KEY_NAMES,
    alert,
    click_keys,
    expression,
    key,
    open_calculator,
    paste,
    result,
    type_expression,
)
from testkit.browser import ConsoleErrors


@pytest.fixture(autouse=True)
def calculator(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)


def test_every_key_is_a_named_button(page: Page) -> None:
    for name in ALL_KEY_NAMES:
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(1)
    expect(expression(page)).to_be_editable()
    expect(result(page)).to_have_attribute("aria-live", "polite")


@pytest.mark.parametrize(
    ("keys", "shown"),
    [
        (["2", "+", "3", "×", "4", "="], "14"),
        (["1", "0", "−", "4", "−", "3", "="], "3"),
        (["0", ".", "1", "+", "0", ".", "2", "="], "0.3"),
        (["1", "÷", "3", "="], "0.333333333333333"),
        (["2", "0", "0", "+", "1", "0", "%", "="], "220"),
        (["6", "÷", "2", "(", "1", "+", "2", ")", "="], "9"),
        (["2", "×", "−", "3", "="], "-6"),
        (["5", "±", "+", "2", "="], "-3"),
        (["(", "2", "+", "3", "="], "5"),
    ],
)
def test_clicking_keys_gives_the_spec_results(page: Page, keys: list[str], shown: str) -> None:
    click_keys(page, *keys)
    expect(result(page)).to_have_text(shown)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2+3*4", "14"),
        ("100/10/5", "2"),
        ("0.1+0.2-0.3", "0"),
        ("2--3", "5"),
        ("200-10%", "180"),
        ("10+20+10%", "33"),
        ("200*10%", "20"),
        ("3x4", "12"),
        ("1,5+1", "2.5"),
        ("999999999999999+1", "1e+15"),
        ("2+3*", "5"),
    ],
)
def test_typing_gives_the_spec_results(page: Page, typed: str, shown: str) -> None:
    type_expression(page, typed)
    expect(result(page)).to_have_text(shown)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1/0", "Cannot divide by zero"),
        ("0/0", "Result is undefined"),
        ("2*/3", "Invalid expression"),
        ("1e9999*10", "Overflow"),
    ],
)
def test_errors_are_announced_and_the_expression_stays(
    page: Page, typed: str, message: str
) -> None:
    type_expression(page, typed)
    expect(alert(page)).to_have_text(message)
    expect(result(page)).to_have_text("")
    expect(expression(page)).not_to_have_value("")
    page.keyboard.press("Backspace")  # still editable


def test_repeated_equals_repeats_the_last_operation(page: Page) -> None:
    click_keys(page, "2", "+", "3", "=")
    expect(result(page)).to_have_text("5")
    key(page, "=").click()
    expect(result(page)).to_have_text("8")
    page.keyboard.press("Enter")
    expect(result(page)).to_have_text("11")


def test_an_operator_continues_from_the_result_at_full_precision(page: Page) -> None:
    click_keys(page, "1", "÷", "3", "=", "×", "3", "=")
    expect(result(page)).to_have_text("1")


def test_a_digit_after_a_result_starts_a_new_expression(page: Page) -> None:
    click_keys(page, "2", "+", "2", "=", "7")
    expect(expression(page)).to_have_value("7")


def test_keypad_operator_replaces_the_previous_one(page: Page) -> None:
    click_keys(page, "8", "+", "×", "2")
    expect(expression(page)).to_have_value("8×2")
    click_keys(page, "AC", "8", "×", "−", "2")
    expect(expression(page)).to_have_value("8×−2")


def test_enter_on_a_focused_key_computes_instead_of_pressing_it(page: Page) -> None:
    click_keys(page, "4", "+", "5")
    key(page, "5").focus()
    page.keyboard.press("Enter")
    expect(result(page)).to_have_text("9")
    expect(expression(page)).to_have_value("4+5")


def test_keyboard_clear_keys(page: Page) -> None:
    type_expression(page, "12+34")
    page.keyboard.press("Escape")
    expect(expression(page)).to_have_value("")
    expect(result(page)).to_have_text("")
    expression(page).click()
    page.keyboard.type("12+345")
    page.keyboard.press("Delete")
    expect(expression(page)).to_have_value("12+")


def test_sixteenth_digit_is_refused_and_announced(page: Page) -> None:
    click_keys(page, *("9" * 16))
    expect(expression(page)).to_have_value("999,999,999,999,999")  # 15 digits, grouped (en-US)
    expect(page.locator("#notice")).to_have_text("At most 15 digits per number")


def test_memory_keys_and_indicator(page: Page) -> None:
    indicator = page.locator("#memory-indicator")
    expect(indicator).to_be_hidden()
    click_keys(page, "1", "÷", "3", "=", "MS")
    expect(indicator).to_be_visible()
    click_keys(page, "AC", "M+", "MR", "×", "3", "=")
    # memory holds 1/3 at full precision, M+ of nothing keeps it; recall, ×3 → 1
    expect(result(page)).to_have_text("1")
    click_keys(page, "MC")
    expect(indicator).to_be_hidden()


def test_copy_puts_the_result_on_the_clipboard(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    click_keys(page, "2", "÷", "3", "=")
    key(page, "=").focus()
    page.keyboard.press("Control+c")
    assert page.evaluate("navigator.clipboard.readText()") == "0.666666666666667"


def test_editing_the_expression_clears_a_result_that_no_longer_matches(page: Page) -> None:
    type_expression(page, "12+3")
    expect(result(page)).to_have_text("15")
    page.keyboard.press("Backspace")
    expect(expression(page)).to_have_value("12+")
    expect(result(page)).to_have_text("")


def test_a_reload_keeps_a_finished_calculation_finished(page: Page) -> None:
    click_keys(page, "9", "−", "1", "=")
    page.reload()
    expect(expression(page)).to_have_value("9−1")
    expect(result(page)).to_have_text("8")
    click_keys(page, "5")  # a digit starts a new calculation
    expect(expression(page)).to_have_value("5")
    expect(result(page)).to_have_text("")

    click_keys(page, "AC", "1", "÷", "3", "=")
    page.reload()
    click_keys(page, "×", "3", "=")  # an operator continues from the result, at full precision
    expect(result(page)).to_have_text("1")
    page.reload()
    click_keys(page, "=")  # and "=" repeats the last operation
    expect(result(page)).to_have_text("3")


@pytest.mark.parametrize("reload", [False, True], ids=["as-computed", "after-a-reload"])
def test_typing_or_pasting_over_the_whole_expression_replaces_it(page: Page, reload: bool) -> None:
    for replace in ("type", "paste"):
        type_expression(page, "9−1")
        expect(result(page)).to_have_text("8")
        if reload:
            page.reload()
            expect(result(page)).to_have_text("8")
        box = expression(page)
        box.click()
        box.press("Control+a")
        if replace == "type":
            page.keyboard.type("+4×4")
        else:
            paste(page, "+4×4")
        expect(box).to_have_value("+4×4")
        page.keyboard.press("Enter")
        expect(result(page)).to_have_text("16")
