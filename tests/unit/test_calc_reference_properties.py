"""Properties of the calculator's Python reference (`testkit/calc_reference.py`) that hold for
every input, per the spec (`shared/design/calculator.md`), checked on generated inputs
(hypothesis; derandomized, so a run is reproducible).

The spec's examples are checked one by one in `test_calc_reference.py`; these are the rules
behind them: any text gives a result or one of the spec's error messages, never an exception;
decimal arithmetic is exact and commutative; the display has at most 15 significant digits in
the spec's notation, and reading a display back gives the same display.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import Any, get_args

from hypothesis import example, given, settings
from hypothesis import strategies as st

from testkit import calc_reference as ref

PROPERTY = settings(max_examples=200, derandomize=True, database=None, deadline=None)
ERRORS = set(get_args(ref.ErrorMessage))
EXACT = Context(prec=200)  # far more digits than any sum or product below can need
ROUND_34 = Context(prec=34, rounding=ROUND_HALF_EVEN)

# The display: fixed notation, or d.ddd e±N; no trailing zeros or point, no "-0".
FIXED = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")
EXPONENT = re.compile(r"-?[1-9](\.[0-9]*[1-9])?e[+-][1-9][0-9]*")


def significant_digits(display: str) -> int:
    mantissa = display.lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.strip("0")) if "e" not in display else len(mantissa)


@st.composite
def literals(draw: st.DrawFn, max_exponent: int = 30) -> str:
    """A number literal within the spec's limits: at most 15 digits, an exponent of at most 4
    digits; written in one of the ways the grammar takes (`12.5`, `.5`, `125e-1`, `1.25E+1`)."""
    digits = draw(st.integers(min_value=0, max_value=10**15 - 1))
    exponent = draw(st.integers(min_value=-max_exponent, max_value=max_exponent))
    text = str(digits)
    point = draw(st.integers(min_value=0, max_value=len(text)))
    whole, fraction = text[: len(text) - point], text[len(text) - point :]
    mantissa = f"{whole}.{fraction}" if fraction else whole
    if mantissa.startswith(".") and draw(st.booleans()):
        mantissa = "0" + mantissa
    exponent += point  # the point moved the digits; keep the value at digits × 10^exponent
    if exponent == 0 and draw(st.booleans()):
        return mantissa
    sign = "-" if exponent < 0 else draw(st.sampled_from(["", "+"]))
    return f"{mantissa}{draw(st.sampled_from(['e', 'E']))}{sign}{abs(exponent)}"


def signed(literal: str, negative: bool) -> str:
    return f"-{literal}" if negative else literal


def check_result(result: Any) -> None:
    """The shape of every answer: a success with strings, or one of the spec's messages."""
    assert set(result) in ({"ok", "display", "value", "repeat"}, {"ok", "error"})
    if result["ok"]:
        assert isinstance(result["display"], str) and isinstance(result["value"], str)
        assert FIXED.fullmatch(result["display"]) or EXPONENT.fullmatch(result["display"])
        assert result["display"] != "-0"
    else:
        assert result["error"] in ERRORS


# --- any text --------------------------------------------------------------------------------

EXPRESSION_CHARACTERS = st.sampled_from("0123456789.eE+-*/()% \t,x\u2212×÷")


@PROPERTY
@given(st.text())
@example("(" * 30 + "1")
@example("1" * 300)
@example("9e9999*10")
def test_any_text_gives_a_result_or_a_spec_error_never_an_exception(text: str) -> None:
    check_result(ref.evaluate(text))


@PROPERTY
@given(st.text(EXPRESSION_CHARACTERS, max_size=40))
def test_any_expression_like_text_gives_a_result_or_a_spec_error(text: str) -> None:
    result = ref.evaluate(text)
    check_result(result)
    if result["ok"]:
        assert ref.format_display(result["value"]) == result["display"]


@PROPERTY
@given(st.text(), st.dictionaries(st.sampled_from(["display", "value"]), st.text()))
def test_a_carry_of_any_shape_never_breaks_evaluation(text: str, carry: Any) -> None:
    check_result(ref.evaluate(text, carry))


@settings(PROPERTY, max_examples=30)
@given(st.text(min_size=ref.MAX_LENGTH + 1, max_size=2 * ref.MAX_LENGTH))
def test_text_over_256_characters_is_too_long(text: str) -> None:
    assert ref.evaluate(text) == {"ok": False, "error": ref.TOO_LONG}


# --- arithmetic ------------------------------------------------------------------------------


@PROPERTY
@given(literals(), literals(), st.booleans(), st.booleans())
@example("0.1", "0.2", False, False)
@example("1e30", "1e-30", False, True)
def test_sums_and_products_are_the_exact_result_rounded_to_34_digits(
    a: str, b: str, minus_a: bool, minus_b: bool
) -> None:
    """Decimal, not binary: the exact sum or product, rounded half even to 34 digits only
    when it needs more (a product of two 15-digit numbers never does; 0.1+0.2 is 0.3)."""
    x, y = signed(a, minus_a), signed(b, minus_b)
    left, right = Decimal(x), Decimal(y)
    for operator, exact in (("+", EXACT.add(left, right)), ("*", EXACT.multiply(left, right))):
        result = ref.evaluate(f"{x}{operator}{y}")
        assert result["ok"], result
        expected = ROUND_34.plus(exact)
        assert result["value"] == ref.value_string(expected)
        if len(exact.normalize(EXACT).as_tuple().digits) <= 34:
            assert Decimal(result["value"]) == exact


@PROPERTY
@given(literals(max_exponent=9000), literals(max_exponent=9000), st.booleans(), st.booleans())
def test_addition_and_multiplication_commute(a: str, b: str, minus_a: bool, minus_b: bool) -> None:
    """`a + b` and `b + a` are the same answer (value and display, or the same error), as are
    `a × b` and `b × a`: even when 34 digits round, or the result overflows or flushes to 0."""
    x, y = signed(a, minus_a), signed(b, minus_b)
    for operator in ("+", "×"):
        one, other = ref.evaluate(f"{x}{operator}{y}"), ref.evaluate(f"{y}{operator}{x}")
        check_result(one)
        if one["ok"]:
            assert other["ok"]
            assert (one["value"], one["display"]) == (other["value"], other["display"])
        else:
            assert one == other
    assert ref.add(x, y) == ref.add(y, x)


@PROPERTY
@given(literals(), st.booleans())
def test_a_number_minus_itself_is_zero_and_plus_zero_is_itself(a: str, minus: bool) -> None:
    x = signed(a, minus)
    difference = ref.evaluate(f"{x}-{x}")
    assert difference["ok"] and difference["display"] == "0"
    assert ref.subtract(x, x) == {"ok": True, "display": "0", "value": "0", "repeat": None}
    plus_zero = ref.evaluate(f"{x}+0")
    assert plus_zero["ok"] and Decimal(plus_zero["value"]) == Decimal(x)


@PROPERTY
@given(literals(), st.booleans())
def test_dividing_by_zero_is_the_spec_error(a: str, minus: bool) -> None:
    expected = ref.UNDEFINED if Decimal(a).is_zero() else ref.DIVIDE_BY_ZERO
    assert ref.evaluate(f"{signed(a, minus)}/0") == {"ok": False, "error": expected}


@PROPERTY
@given(literals(), st.integers(min_value=1, max_value=ref.MAX_NESTING))
def test_parentheses_up_to_25_deep_change_nothing(a: str, depth: int) -> None:
    plain = ref.evaluate(a)
    assert ref.evaluate("(" * depth + a + ")" * depth) == plain
    assert ref.evaluate("(" * depth + a) == plain  # closed at `=`
    too_deep = "(" * (ref.MAX_NESTING + 1) + a + ")" * (ref.MAX_NESTING + 1)
    assert ref.evaluate(too_deep) == {"ok": False, "error": ref.INVALID}


@PROPERTY
@given(
    st.lists(st.tuples(st.sampled_from(["+", "-", "*", "/"]), literals()), min_size=1, max_size=5),
    literals(),
    st.sampled_from([" ", "\t", "\u00a0", "  "]),
)
def test_whitespace_and_the_typographic_operators_change_nothing(
    terms: list[tuple[str, str]], first: str, space: str
) -> None:
    ascii_text = first + "".join(operator + literal for operator, literal in terms)
    typographic = first + "".join(
        {"-": "\u2212", "*": "×", "/": "÷"}.get(operator, operator) + literal
        for operator, literal in terms
    )
    spaced = first + "".join(f"{space}{operator}{space}{literal}" for operator, literal in terms)
    result = ref.evaluate(ascii_text)
    assert ref.evaluate(typographic) == result
    assert ref.evaluate(spaced) == result


@PROPERTY
@given(st.integers(min_value=10**15, max_value=10**40))
def test_a_literal_of_more_than_15_digits_is_too_long(number: int) -> None:
    assert ref.evaluate(str(number)) == {"ok": False, "error": ref.NUMBER_TOO_LONG}
    assert ref.evaluate(f"1+{number}") == {"ok": False, "error": ref.NUMBER_TOO_LONG}


# --- display ---------------------------------------------------------------------------------


@PROPERTY
@given(literals(max_exponent=9000), literals(max_exponent=9000), st.sampled_from("+-*/"))
@example("1", "3", "/")
@example("999999999999999", "1", "+")
def test_results_show_at_most_15_significant_digits_in_the_spec_notation(
    a: str, b: str, operator: str
) -> None:
    result = ref.evaluate(f"{a}{operator}{b}")
    check_result(result)
    if not result["ok"]:
        return
    display = result["display"]
    assert significant_digits(display) <= 15
    value = Decimal(result["value"])
    if value.is_zero():
        assert display == "0"
        return
    # The display is the value rounded half up (ties away from zero) to 15 digits...
    rounded = Context(prec=15, rounding=ROUND_HALF_UP).plus(value)
    assert Decimal(display) == rounded
    # ...in fixed notation exactly when 1e-7 <= |x| < 1e15.
    fixed = Decimal("1e-7") <= abs(rounded) < Decimal("1e15")
    assert bool(FIXED.fullmatch(display)) == fixed
    assert bool(EXPONENT.fullmatch(display)) == (not fixed)


@PROPERTY
@given(literals(max_exponent=9000), literals(max_exponent=9000), st.sampled_from("+-*/"))
def test_a_display_read_back_gives_the_same_display(a: str, b: str, operator: str) -> None:
    """parse(format(x)) is stable: a result's display is a valid expression (15 digits, a
    4-digit exponent at most) whose value is the display itself."""
    result = ref.evaluate(f"{a}{operator}{b}")
    if not result["ok"]:
        return
    display = result["display"]
    again = ref.evaluate(display)
    assert again["ok"], again
    assert again["display"] == display
    assert Decimal(again["value"]) == Decimal(display)
    assert ref.format_display(display) == display
    assert ref.format_display(result["value"]) == display


@PROPERTY
@given(literals(max_exponent=9000), literals(max_exponent=9000), st.sampled_from("+-*/"))
def test_the_full_precision_value_round_trips(a: str, b: str, operator: str) -> None:
    """The stored full-precision value reads back as itself (what reuse and memory rely on),
    and continuing from a result uses it, not the rounded display."""
    result = ref.evaluate(f"{a}{operator}{b}")
    if not result["ok"]:
        return
    value = ref.parse_value(result["value"])
    assert value is not None and ref.value_string(value) == result["value"]
    carry: ref.Carry = {"display": result["display"], "value": result["value"]}
    continued = ref.evaluate(f"{result['display']}+0", carry)
    assert continued["ok"] and continued["value"] == result["value"]
