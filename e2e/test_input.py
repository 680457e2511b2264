"""Bad input never breaks anything: a clear message, the previous state intact, no exception."""

import pytest
from playwright.sync_api import Page, expect

from e2e.calculator import alert, expression, open_calculator, paste, result, type_expression
from testkit.browser import ConsoleErrors


@pytest.fixture(autouse=True)
def calculator(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)


def test_a_pasted_expression_is_normalised(page: Page) -> None:
    paste(page, " 1,234.5 × 2 − 1 =")
    expect(expression(page)).to_have_value("1,234.5×2−1")  # shown grouped (en-US)
    draft = page.evaluate("JSON.parse(localStorage.getItem('calcapp.draft.v2'))")
    assert draft["text"] == "1234.5×2−1"  # kept canonical
    page.keyboard.press("Enter")
    expect(result(page)).to_have_text("2,468")


def test_real_clipboard_paste(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("navigator.clipboard.writeText('12*(3+4)')")
    expression(page).focus()
    page.keyboard.press("Control+v")
    page.keyboard.press("Enter")
    expect(result(page)).to_have_text("84")


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("hello world", "Invalid expression"),
        ("1" * 10_000, "Expression too long"),
        ("1" * 40, "Number too long"),
        ("((1+2)", None),  # unbalanced: closed at equals, so accepted
        ("2++*3", "Invalid expression"),
        ("2+😀", "Invalid expression"),
    ],
)
def test_bad_pastes_are_rejected_whole(page: Page, pasted: str, message: str | None) -> None:
    type_expression(page, "7+8")
    expect(result(page)).to_have_text("15")
    paste(page, pasted)
    if message is None:
        expect(alert(page)).to_have_text("")
        return
    expect(alert(page)).to_have_text(f"Paste rejected: {message}")
    expect(expression(page)).to_have_value("7+8")
    expect(result(page)).to_have_text("")


@pytest.mark.parametrize("typed", ["qwz", "😀", "$#@&", "hjk"])  # letters that start no name
def test_typed_characters_that_are_not_keys_are_ignored(page: Page, typed: str) -> None:
    expression(page).click()
    page.keyboard.type(f"1{typed}+2")
    expect(expression(page)).to_have_value("1+2")


@pytest.mark.parametrize(
    ("typed", "message", "shown"),
    [
        ("1" * 40, "Number too long", f"{int('1' * 40):,}"),  # shown grouped (en-US)
        ("2+*/3", "Invalid expression", "2+×÷3"),
        ("(((", "Invalid expression", "((("),
    ],
)
def test_bad_typed_expressions_get_a_message_and_stay_editable(
    page: Page, typed: str, message: str, shown: str
) -> None:
    type_expression(page, typed)
    expect(alert(page)).to_have_text(message)
    expect(expression(page)).to_have_value(shown)


def test_unbalanced_parentheses_are_closed_at_equals(page: Page) -> None:
    type_expression(page, "2*(3+(4")
    expect(result(page)).to_have_text("14")
