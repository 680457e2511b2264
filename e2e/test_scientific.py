"""The scientific mode as a user meets it: the switch, every function key by its accessible name,
the angle unit, the keyboard, paste, the phone layouts, and a function result synced to a second
device (docs/calculator.md)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from e2e.accounts import sign_in
from e2e.calculator import (
    alert,
    click_keys,
    expression,
    history_entries,
    open_calculator,
    paste,
    result,
    type_expression,
)
from e2e.premium import premium_account, sync_status
from testkit.browser import ConsoleErrors, watch_console

SCIENTIFIC_KEYS = [
    "square root",
    "power",
    "square",
    "factorial",
    "reciprocal",
    "pi",
    "exponential",
    "natural logarithm",
    "logarithm",
    "sine",
    "cosine",
    "tangent",
    "arcsine",
    "arccosine",
    "arctangent",
    "absolute value",
    "angle unit",
]


def mode_switch(page: Page) -> Locator:
    return page.get_by_role("switch", name="Scientific")


def scientific_on(page: Page) -> None:
    open_calculator(page)
    mode_switch(page).click()
    expect(mode_switch(page)).to_be_checked()


def angle_key(page: Page) -> Locator:
    return page.get_by_role("button", name="angle unit", exact=True)


def stored_history(page: Page) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = json.loads(
        page.evaluate("localStorage.getItem('calcapp.history.v1')") or "[]"
    )
    return entries


def test_the_switch_shows_every_function_key_and_is_kept(
    page: Page, console_errors: ConsoleErrors
) -> None:
    open_calculator(page)
    expect(mode_switch(page)).not_to_be_checked()
    for name in SCIENTIFIC_KEYS:
        expect(page.get_by_role("button", name=name, exact=True)).to_be_hidden()
    mode_switch(page).click()
    for name in SCIENTIFIC_KEYS:
        button = page.get_by_role("button", name=name, exact=True)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, name
    page.reload()
    expect(mode_switch(page)).to_be_checked()
    expect(page.get_by_role("button", name="sine", exact=True)).to_be_visible()
    mode_switch(page).click()
    expect(page.get_by_role("button", name="sine", exact=True)).to_be_hidden()


FUNCTION_KEYS = [
    (["square root", "1", "6"], "sqrt(16", "4"),
    (["2", "power", "1", "0"], "2^10", "1,024"),
    (["3", "square"], "3^2", "9"),
    (["5", "factorial"], "5!", "120"),
    (["reciprocal", "4"], "1/(4", "0.25"),
    (["2", "pi"], "2pi", "6.28318530717959"),
    (["exponential", "1"], "exp(1", "2.71828182845905"),
    (["natural logarithm", "1"], "ln(1", "0"),
    (["logarithm", "1", "0", "0", "0"], "log(1,000", "3"),
    (["sine", "3", "0"], "sin(30", "0.5"),
    (["cosine", "6", "0"], "cos(60", "0.5"),
    (["tangent", "4", "5"], "tan(45", "1"),
    (["arcsine", "1"], "asin(1", "90"),
    (["arccosine", "0"], "acos(0", "90"),
    (["arctangent", "1"], "atan(1", "45"),
    (["absolute value", "minus", "5"], "abs(−5", "5"),
]


def test_each_function_key_inserts_its_name_and_computes(
    page: Page, console_errors: ConsoleErrors
) -> None:
    scientific_on(page)
    for keys, shown, answer in FUNCTION_KEYS:
        click_keys(page, "AC", *keys)
        expect(expression(page), f"keys {keys}").to_have_value(shown)
        click_keys(page, "=")
        expect(result(page), f"{shown} =").to_have_text(answer)
        expect(history_entries(page).first).to_contain_text(f"= {answer}")
    expect(history_entries(page)).to_have_count(len(FUNCTION_KEYS))


def test_function_keys_edit_like_words(page: Page, console_errors: ConsoleErrors) -> None:
    scientific_on(page)
    click_keys(page, "2", "+", "square root")
    expect(expression(page)).to_have_value("2+sqrt(")
    click_keys(page, "backspace")  # the whole function name goes
    expect(expression(page)).to_have_value("2+")
    click_keys(page, "square root", "9", ")", "change sign")
    expect(expression(page)).to_have_value("2+−sqrt(9)")
    click_keys(page, "=")
    expect(result(page)).to_have_text("-1")
    # After a result, ^ continues from it and a function starts anew.
    click_keys(page, "power", "2", "=")
    expect(result(page)).to_have_text("1")
    click_keys(page, "sine")
    expect(expression(page)).to_have_value("sin(")


def test_the_angle_unit_toggles_shows_and_is_kept_with_each_entry(
    page: Page, console_errors: ConsoleErrors
) -> None:
    scientific_on(page)
    unit = angle_key(page)
    expect(unit).to_have_text("DEG")
    expect(unit).to_have_accessible_description("degrees")
    type_expression(page, "sin(90)")
    expect(result(page)).to_have_text("1")

    unit.click()
    expect(unit).to_have_text("RAD")
    expect(unit).to_have_accessible_description("radians")
    expect(page.get_by_text("Angle unit: radians")).to_be_attached()
    type_expression(page, "sin(pi)")
    expect(result(page)).to_have_text("0")
    type_expression(page, "sin(1)")
    expect(result(page)).to_have_text("0.841470984807897")
    type_expression(page, "2+2")

    stored = {entry["expression"]: entry.get("angle") for entry in stored_history(page)}
    assert stored == {"sin(90)": "deg", "sin(pi)": "rad", "sin(1)": "rad", "2+2": None}
    expect(history_entries(page).filter(has_text="sin(1) =")).to_contain_text("RAD")
    expect(history_entries(page).filter(has_text="sin(90) =")).to_contain_text("DEG")

    page.reload()
    expect(angle_key(page)).to_have_text("RAD")
    # Reusing a calculation made in degrees brings its unit back.
    page.get_by_role("button", name="Reuse sin(90) = 1").click()
    expect(angle_key(page)).to_have_text("DEG")
    click_keys(page, "=")
    expect(result(page)).to_have_text("1")


TYPED = [
    ("sqrt(2)^2", "2"),
    ("2^3^2", "512"),
    ("-2^2", "-4"),
    ("2^3!", "64"),
    ("3exp(0)", "3"),
    ("2x3", "6"),
    ("10!", "3,628,800"),
    ("SIN(30)", "0.5"),
    ("3000!", "4.14935960343785e+9130"),
]


def test_keyboard_entry(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)
    for typed, answer in TYPED:
        type_expression(page, typed)
        expect(result(page), typed).to_have_text(answer)


ERRORS = [
    ("sqrt(-1)", "Invalid input"),
    ("tan(90)", "Invalid input"),
    ("(-8)^(1/3)", "Invalid input"),
    ("0^-1", "Cannot divide by zero"),
    ("3249!", "Overflow"),
]


def test_errors_are_announced_and_not_stored(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)
    for typed, message in ERRORS:
        type_expression(page, typed)
        expect(alert(page), typed).to_have_text(message)
        expect(result(page)).to_have_text("")
        expect(expression(page)).not_to_have_value("")  # still there to edit
    expect(history_entries(page)).to_have_count(0)


def test_letters_that_spell_nothing_are_ignored(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)
    expression(page).click()
    page.keyboard.type("2qz+sinw(30")
    expect(expression(page)).to_have_value("2+sin(30")


PASTED = [
    ("√2²", "sqrt(2)^2", "2"),
    ("2π", "2pi", "6.28318530717959"),
    ("SIN(30) x 2", "sin(30)×2", "1"),
    ("2**10", "2^10", "1,024"),
]


def test_paste_normalises_scientific_symbols(page: Page, console_errors: ConsoleErrors) -> None:
    open_calculator(page)
    for pasted, normalised, answer in PASTED:
        click_keys(page, "AC")
        paste(page, pasted)
        expect(expression(page), pasted).to_have_value(normalised)
        click_keys(page, "=")
        expect(result(page), pasted).to_have_text(answer)


def every_key(page: Page) -> Locator:
    return page.locator(".key:visible")


@pytest.mark.parametrize(("width", "height"), [(390, 844), (360, 800), (320, 568)])
def test_a_phone_in_portrait_reaches_every_key_without_scrolling(
    browser: Browser, base_url: str, width: int, height: int
) -> None:
    """Every key inside the screen and at least 44 px; the smallest phone (320 x 568) scrolls
    the page a little, so there only the widths are checked."""
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": height},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    errors = watch_console(page)
    scientific_on(page)
    keys = every_key(page)
    assert keys.count() >= 24 + 17
    for index in range(keys.count()):
        box = keys.nth(index).bounding_box()
        name = keys.nth(index).text_content()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
        assert box["width"] >= 44 and box["height"] >= 44, name
        if height >= 800:
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, name
    # The function keys sit above the standard ones.
    functions = page.get_by_role("group", name="Scientific functions").bounding_box()
    keypad = page.get_by_role("group", name="Keypad").bounding_box()
    assert functions is not None and keypad is not None
    assert functions["y"] + functions["height"] <= keypad["y"]
    assert errors == []
    context.close()


@pytest.mark.parametrize(
    "viewport", [{"width": 844, "height": 390}, {"width": 1280, "height": 800}]
)
def test_landscape_and_wide_screens_put_the_functions_beside_the_keys(
    browser: Browser, base_url: str, viewport: dict[str, int]
) -> None:
    context = browser.new_context(base_url=base_url, viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    errors = watch_console(page)
    scientific_on(page)
    functions = page.get_by_role("group", name="Scientific functions").bounding_box()
    keypad = page.get_by_role("group", name="Keypad").bounding_box()
    assert functions is not None and keypad is not None
    assert functions["x"] + functions["width"] <= keypad["x"]
    assert abs(functions["y"] - keypad["y"]) < 2  # row for row
    assert abs(functions["height"] - keypad["height"]) < 2
    for index in range(every_key(page).count()):
        box = every_key(page).nth(index).bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44
    assert errors == []
    context.close()


def test_a_function_result_reaches_a_second_device_with_its_angle_unit(
    page: Page,
    base_url: str,
    database_url: str,
    browser: Browser,
    console_errors: ConsoleErrors,
) -> None:
    email = premium_account(base_url, database_url)
    sign_in(page.context, base_url, email)
    scientific_on(page)
    angle_key(page).click()
    type_expression(page, "sin(pi/6)")
    expect(result(page)).to_have_text("0.5")
    expect(sync_status(page)).to_have_text("Synced")

    other_context = browser.new_context(base_url=base_url)
    other = other_context.new_page()
    other_errors = watch_console(other)
    sign_in(other_context, base_url, email)
    open_calculator(other)
    entry = history_entries(other).filter(has_text="sin(pi÷6) = 0.5")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("RAD")
    other_context.close()
    assert other_errors == []


def test_the_standard_mode_shows_the_angle_unit_while_the_expression_uses_it(
    page: Page, console_errors: ConsoleErrors
) -> None:
    open_calculator(page)
    indicator = page.get_by_role("region", name="Calculator").get_by_title("Angles in degrees")
    expect(indicator).to_be_hidden()
    expression(page).click()
    page.keyboard.type("2+cos(60")
    expect(indicator).to_have_text("DEG")
    page.keyboard.press("Enter")
    expect(result(page)).to_have_text("2.5")
    click_keys(page, "AC")
    expect(indicator).to_be_hidden()
