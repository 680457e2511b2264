"""The scientific functions' reference (testkit/calc_sci.py) against the contract's exact cases and
against mpmath as an oracle.

The oracle evaluates each function with mpmath at 60 significant digits or more (plus the
digits of a huge argument), rounds the value to 34 digits half-even through its decimal string
and applies the range rule; the value is accepted when a second evaluation at 30 more digits
rounds the same way, else both precisions are doubled (an ill-conditioned argument, such as a
radian close to a multiple of pi, needs more). The domain errors are decided here from the
contract's rules, not by mpmath. pi_multiple arguments at a multiple of 30 or 45 degrees with a
rational value expect that value (found by mpmath at the exact angle); everything else, the
table angles in degrees included, is compared with mpmath's value.

Over 400 lines: the contract's exact cases as data, then the oracle and its property tests.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from math import factorial as exact_factorial
from typing import Any, Final, Literal, get_args

import mpmath  # type: ignore[import-untyped]
import pytest

from testkit import calc_sci as sci
from testkit.calc_sci import AngleUnit, MathErrorMessage

Function = Literal[
    "sqrt",
    "power",
    "factorial",
    "exp",
    "ln",
    "log10",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
]
Outcome = Decimal | MathErrorMessage  # a result or an error message

INVALID: Final = "Invalid input"
DIVIDE_BY_ZERO: Final = "Cannot divide by zero"
OVERFLOW: Final = "Overflow"
ROUNDING: Final = Context(prec=34, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)
EXACT: Final = Context(prec=200, Emax=MAX_EMAX, Emin=MIN_EMIN)
DISPLAY: Final = Context(prec=15, rounding=ROUND_HALF_UP, Emax=MAX_EMAX, Emin=MIN_EMIN)
HALF: Final = Decimal("0.5")
ORACLE_DIGITS: Final = 60
SAMPLES_PER_FUNCTION: Final = 1500
SEED: Final = 20260514

D = Decimal


# --- the oracle ------------------------------------------------------------------------------


def in_range(value: Decimal) -> Outcome:
    """The contract's range rule on a 34-digit value."""
    if value.is_zero() or value.adjusted() < -9999:
        return D(0)
    return OVERFLOW if value.adjusted() >= 10000 else value


def rounded(value: Any) -> Outcome:
    """An mpmath value (or an error message) rounded to 34 digits half-even, via its string."""
    if isinstance(value, str):
        assert value == INVALID
        return INVALID
    if value and abs(mpmath.mag(value)) > 34000:  # 2^34000 > 10^10000: beyond the range
        return OVERFLOW if abs(value) > 1 else D(0)
    text = mpmath.nstr(value, mpmath.mp.dps, strip_zeros=False)
    return in_range(ROUNDING.plus(D(text)))


def oracle(compute: Callable[[], Any], digits: int = ORACLE_DIGITS) -> Outcome:
    """compute() (run at the working precision) rounded, once two precisions agree."""
    while digits < 100_000:
        outcomes: list[Outcome] = []
        for precision in (digits, digits + 30):
            with mpmath.workdps(precision):
                outcomes.append(rounded(compute()))
        if outcomes[0] == outcomes[1]:
            return outcomes[1]
        digits *= 2
    raise AssertionError("the oracle does not converge")


def mp(x: Decimal) -> Any:
    """x as an mpmath number at the working precision (from its string, never a float)."""
    return mpmath.mpf(str(x))


def pi_times(multiple: Fraction) -> Decimal:
    """multiple * pi rounded to 34 digits, as a calculator's `pi/6` is."""
    value = oracle(lambda: mpmath.pi * multiple.numerator / multiple.denominator)
    assert isinstance(value, Decimal)
    return value


def is_integer(x: Decimal) -> bool:
    return x == x.to_integral_value()


def exact_degrees_of(pi_multiple: Fraction) -> Fraction:
    return pi_multiple * 180 % 360


def at_table_angle(degrees: Fraction) -> bool:
    return degrees.denominator == 1 and (degrees.numerator % 30 == 0 or degrees.numerator % 45 == 0)


def rational_table_value(function: str, pi_multiple: Fraction) -> Outcome | None:
    """The exact value at a pi_multiple whose angle is a multiple of 30 or 45 degrees when it
    is one of the contract's rational values (0, ±0.5, ±1; tan undefined), else None."""
    if not at_table_angle(exact_degrees_of(pi_multiple)):
        return None
    with mpmath.workdps(80):
        turn = mpmath.mpf(pi_multiple.numerator) / pi_multiple.denominator
        sine, cosine = mpmath.sinpi(turn), mpmath.cospi(turn)
        if function == "tan" and abs(cosine) < mpmath.mpf("1e-60"):
            return INVALID
        value = {"sin": sine, "cos": cosine, "tan": sine / cosine if cosine else 0}[function]
        candidates = (D(0), D(1), D(-1)) if function == "tan" else (D(0), D(1), D(-1), HALF, -HALF)
        rational = [c for c in candidates if abs(value - mp(c)) < mpmath.mpf("1e-60")]
    return rational[0] if rational else None


# --- calls -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    function: Function
    args: tuple[Decimal, ...]
    unit: AngleUnit = "rad"
    pi_multiple: Fraction | None = field(default=None)

    def label(self) -> str:
        text = f"{self.function}({', '.join(map(str, self.args))}"
        if self.function in ("sin", "cos", "tan", "asin", "acos", "atan"):
            text += f", {self.unit}"
        if self.pi_multiple is not None:
            text += f", {self.pi_multiple}"
        return text + ")"

    def run(self) -> Outcome:
        try:
            return self.result()
        except sci.MathError as error:
            return error.message

    def result(self) -> Decimal:
        x = self.args[0]
        match self.function:
            case "sin" | "cos" | "tan":
                trig = {"sin": sci.sin, "cos": sci.cos, "tan": sci.tan}[self.function]
                return trig(x, self.unit, self.pi_multiple)
            case "asin" | "acos" | "atan":
                inverse = {"asin": sci.asin, "acos": sci.acos, "atan": sci.atan}[self.function]
                return inverse(x, self.unit)
            case "power":
                return sci.power(x, self.args[1])
            case _:
                unary: dict[str, Callable[[Decimal], Decimal]] = {
                    "sqrt": sci.sqrt,
                    "factorial": sci.factorial,
                    "exp": sci.exp,
                    "ln": sci.ln,
                    "log10": sci.log10,
                }
                return unary[self.function](x)

    def expected(self) -> Outcome:
        x = self.args[0]
        match self.function:
            case "sqrt":
                return INVALID if x < 0 else oracle(lambda: mpmath.sqrt(mp(x)))
            case "exp":
                return oracle(lambda: mpmath.exp(mp(x)), ORACLE_DIGITS + 6)
            case "ln" | "log10":
                log = mpmath.ln if self.function == "ln" else mpmath.log10
                return INVALID if x <= 0 else oracle(lambda: log(mp(x)))
            case "factorial":
                if x < 0 or not is_integer(x):
                    return INVALID
                return oracle(lambda: mpmath.factorial(int(x)))
            case "power":
                return expected_power(x, self.args[1])
            case "sin" | "cos" | "tan":
                return self.expected_trigonometric(x)
            case "asin" | "acos" | "atan":
                return self.expected_inverse(x)

    def expected_trigonometric(self, x: Decimal) -> Outcome:
        digits = ORACLE_DIGITS + max(0, x.adjusted())
        if self.unit == "deg":
            return oracle(lambda: degree_function(self.function, mp(x) / 180), digits)
        if self.pi_multiple is not None:
            exact = rational_table_value(self.function, self.pi_multiple)
            if exact is not None:
                return exact
        function = {"sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan}[self.function]
        return oracle(lambda: function(mp(x)), digits)

    def expected_inverse(self, x: Decimal) -> Outcome:
        if self.function != "atan" and x.copy_abs() > 1:
            return INVALID
        function = {"asin": mpmath.asin, "acos": mpmath.acos, "atan": mpmath.atan}[self.function]
        if self.unit == "deg":
            return oracle(lambda: mpmath.degrees(function(mp(x))))
        return oracle(lambda: function(mp(x)))


def degree_function(function: str, turns: Any) -> Any:
    """sin, cos or tan of `turns` half turns (x degrees / 180): exact at the multiples of 90."""
    sine, cosine = mpmath.sinpi(turns), mpmath.cospi(turns)
    if function == "tan":
        return INVALID if cosine == 0 else sine / cosine
    return sine if function == "sin" else cosine


def expected_power(x: Decimal, y: Decimal) -> Outcome:
    if y.is_zero():
        return D(1)
    if x.is_zero():
        return DIVIDE_BY_ZERO if y < 0 else D(0)
    if not is_integer(y):
        if x < 0:
            return INVALID
        return oracle(lambda: mpmath.power(mp(x), mp(y)), ORACLE_DIGITS + 6)
    # x's string is converted within 10^-digits: x^n needs the digits of n more.
    n = int(y)
    return oracle(lambda: mpmath.power(mp(x), n), ORACLE_DIGITS + 6 + len(str(abs(n))))


# --- the contract's exact cases --------------------------------------------------------------


def call(
    function: Function, *args: str, unit: AngleUnit = "rad", pi: Fraction | None = None
) -> Call:
    return Call(function, tuple(D(arg) for arg in args), unit, pi)


THIRD: Final = "0.3333333333333333333333333333333333"
EXACT_CASES: Final[list[tuple[Call, Outcome]]] = [
    (call("sqrt", "16"), D(4)),
    (call("sqrt", "0"), D(0)),
    (call("sqrt", "2.25"), D("1.5")),
    (call("sqrt", "1E-9998"), D("1E-4999")),
    (call("sqrt", "-1"), INVALID),
    (call("sqrt", "-1E-9999"), INVALID),
    (call("power", "2", "10"), D(1024)),
    (call("power", "0.1", "3"), D("0.001")),
    (call("power", "4", "1.5"), D(8)),
    (call("power", "0.25", "0.5"), D("0.5")),
    (call("power", "8", THIRD), D(2)),
    (call("power", "0", "0"), D(1)),
    (call("power", "5", "0"), D(1)),
    (call("power", "-3", "0"), D(1)),
    (call("power", "0", "2"), D(0)),
    (call("power", "0", "0.5"), D(0)),
    (call("power", "0", "-1"), DIVIDE_BY_ZERO),
    (call("power", "0", "-0.5"), DIVIDE_BY_ZERO),
    (call("power", "-8", THIRD), INVALID),
    (call("power", "-2", "0.5"), INVALID),
    (call("power", "-2", "3"), D(-8)),
    (call("power", "-2", "2"), D(4)),
    (call("power", "-2", "-1"), D("-0.5")),
    (call("power", "-1", "1E+9999"), D(1)),
    (call("power", "-1", "1234567890123456789012345678901235"), D(-1)),
    (call("power", "1", "1E+9999"), D(1)),
    (call("power", "10", "10000"), OVERFLOW),
    (call("power", "10", "9999"), D("1E+9999")),
    (call("power", "10", "-9999"), D("1E-9999")),
    (call("power", "10", "-10000"), D(0)),
    (call("power", "2", "1E+9999"), OVERFLOW),
    (call("power", "0.5", "1E+9999"), D(0)),
    (call("power", "-2", "-1E+9999"), D(0)),
    (call("power", "1E-9999", "-2"), OVERFLOW),
    (call("power", "1E+5000", "2"), OVERFLOW),
    (call("power", "3", "2"), D(9)),
    (call("power", "1.5", "2"), D("2.25")),
    (call("power", "100", "0.5"), D(10)),
    (call("power", "1E+20", "0.5"), D("1E+10")),
    (call("power", "16", "0.25"), D(2)),
    (call("power", "16", "-0.25"), D("0.5")),
    (
        call("power", "1.000000000000000000000000000000001", "1000000"),
        D("1.000000000000000000000000001"),
    ),
    (call("factorial", "0"), D(1)),
    (call("factorial", "1"), D(1)),
    (call("factorial", "10"), D(3628800)),
    (call("factorial", "25"), D("1.551121004333098598400000E+25")),
    (call("factorial", "3000"), D("4.149359603437854085556867093086612E+9130")),
    (call("factorial", "3248"), D("1.973634253086042531204708003403143E+9997")),
    (call("factorial", "3249"), OVERFLOW),
    (call("factorial", "1E+9999"), OVERFLOW),
    (call("factorial", "1.5"), INVALID),
    (call("factorial", "-1"), INVALID),
    (call("factorial", "-1.5"), INVALID),
    (call("exp", "0"), D(1)),
    (call("exp", "1"), D("2.718281828459045235360287471352662")),
    (call("exp", "23025"), D("4.270176462662951634812865930866055E+9999")),
    (call("exp", "23026"), OVERFLOW),
    (call("exp", "100000"), OVERFLOW),
    (call("exp", "1E+9999"), OVERFLOW),
    (call("exp", "-23030"), D(0)),
    (call("exp", "-1E+9999"), D(0)),
    (call("exp", "1E-9999"), D(1)),
    (call("ln", "1"), D(0)),
    (call("ln", "0"), INVALID),
    (call("ln", "-1"), INVALID),
    (call("ln", "2.718281828459045235360287471352662"), D("0.9999999999999999999999999999999998")),
    (call("log10", "1000"), D(3)),
    (call("log10", "0.01"), D(-2)),
    (call("log10", "1E+9999"), D(9999)),
    (call("log10", "1E-9999"), D(-9999)),
    (call("log10", "1"), D(0)),
    (call("log10", "-5"), INVALID),
    (call("log10", "0"), INVALID),
    (call("sin", "30", unit="deg"), D("0.5")),
    (call("tan", "45", unit="deg"), D(1)),
    (call("cos", "90", unit="deg"), D(0)),
    (call("sin", "-30", unit="deg"), D("-0.5")),
    (call("sin", "390", unit="deg"), D("0.5")),
    (call("cos", "-240", unit="deg"), D("-0.5")),
    (call("cos", "1E+9999", unit="deg"), D("0.1736481776669303488517166267693148")),
    (call("sin", "0", unit="deg"), D(0)),
    (call("sin", "0", unit="rad"), D(0)),
    (call("cos", "0", unit="rad"), D(1)),
    (call("tan", "0", unit="rad"), D(0)),
    (call("tan", "90", unit="deg"), INVALID),
    (call("tan", "-90", unit="deg"), INVALID),
    (call("tan", "270", unit="deg"), INVALID),
    (call("tan", "1E+9999", unit="deg"), D("-5.671281819617709530994418439863964")),
    (call("tan", "135", unit="deg"), D(-1)),
    (call("sin", str(sci.PI), pi=Fraction(1)), D(0)),
    (call("sin", str(sci.PI)), D("-1.158028306006248941790250554076922E-34")),
    (call("cos", str(pi_times(Fraction(2, 3))), pi=Fraction(2, 3)), D("-0.5")),
    (call("sin", str(pi_times(Fraction(1, 6))), pi=Fraction(1, 6)), D("0.5")),
    (call("tan", str(pi_times(Fraction(1, 2))), pi=Fraction(1, 2)), INVALID),
    (call("tan", str(pi_times(Fraction(-3, 4))), pi=Fraction(-3, 4)), D(1)),
    (call("cos", str(pi_times(Fraction(7, 2))), pi=Fraction(7, 2)), D(0)),
    (call("asin", "2", unit="deg"), INVALID),
    (call("asin", "2", unit="rad"), INVALID),
    (call("acos", "-1.000000000000000000000000000000001", unit="rad"), INVALID),
    (call("asin", "0", unit="deg"), D(0)),
    (call("asin", "0.5", unit="deg"), D(30)),
    (call("asin", "-0.5", unit="deg"), D(-30)),
    (call("asin", "1", unit="deg"), D(90)),
    (call("asin", "-1", unit="deg"), D(-90)),
    (call("acos", "1", unit="deg"), D(0)),
    (call("acos", "0.5", unit="deg"), D(60)),
    (call("acos", "0", unit="deg"), D(90)),
    (call("acos", "-0.5", unit="deg"), D(120)),
    (call("acos", "-1", unit="deg"), D(180)),
    (call("atan", "0", unit="deg"), D(0)),
    (call("atan", "1", unit="deg"), D(45)),
    (call("atan", "-1", unit="deg"), D(-45)),
    (call("asin", "0", unit="rad"), D(0)),
    (call("acos", "1", unit="rad"), D(0)),
    (call("atan", "0", unit="rad"), D(0)),
    (call("asin", "1", unit="rad"), D("1.570796326794896619231321691639751")),
    (call("acos", "-1", unit="rad"), sci.PI),
    (call("atan", "1E+9999", unit="rad"), D("1.570796326794896619231321691639751")),
]


@pytest.mark.parametrize(
    ("case", "expected"), EXACT_CASES, ids=[case.label() for case, _ in EXACT_CASES]
)
def test_exact_case(case: Call, expected: Outcome) -> None:
    outcome = case.run()
    assert outcome == expected
    if isinstance(outcome, Decimal):
        assert len(outcome.as_tuple().digits) <= 34 and not (
            outcome.is_zero() and outcome.is_signed()
        )


def test_ln_of_e_displays_as_1() -> None:
    value = sci.ln(sci.exp(D(1)))
    assert value == D("0.9999999999999999999999999999999998")
    assert DISPLAY.plus(value).normalize() == 1


def test_pi_is_pi_rounded_and_every_cached_pi_is_within_its_bound() -> None:
    assert oracle(lambda: +mpmath.pi) == sci.PI
    with mpmath.workdps(5100):
        pi = +mpmath.pi
        for places in (10, 34, 100, 1000, 5000):
            assert abs(mp(sci.pi_value(places)) - pi) <= 2 * mpmath.mpf(10) ** -places


def test_every_table_angle_in_degrees() -> None:
    """All multiples of 15 degrees over three turns: the rational values exactly, the others
    (and tan at 90 + 180k) as the oracle says."""
    for function in ("sin", "cos", "tan"):
        for degrees in range(-720, 1081, 15):
            case = Call(function, (D(degrees),), "deg")
            assert case.run() == case.expected(), case.label()


def test_every_table_angle_as_a_pi_multiple() -> None:
    for function in ("sin", "cos", "tan"):
        for twelfths in range(-48, 49):
            multiple = Fraction(twelfths, 12)
            case = Call(function, (pi_times(multiple),), "rad", multiple)
            assert case.run() == case.expected(), case.label()


def test_factorials_are_the_exact_products_rounded_once() -> None:
    for n in (*range(60), 100, 1000, 2500, 3247, 3248):
        assert sci.factorial(D(n)) == ROUNDING.create_decimal(exact_factorial(n))


def test_the_ziv_loop_snaps_to_the_nearest_boundary() -> None:
    """An approximation whose error never excludes a rounding boundary is snapped to it: a
    representable number is kept, a midpoint rounded half-even."""

    def never_sure(value: str) -> Callable[[int], tuple[Decimal, Decimal]]:
        return lambda digits: (EXACT.add(D(value), D(1).scaleb(-digits - 3)), D(1).scaleb(-digits))

    assert sci.correctly_rounded(never_sure("1.0000000000000000000000000000000005")) == 1
    assert sci.correctly_rounded(never_sure("1.0000000000000000000000000000000015")) == D(
        "1.000000000000000000000000000000002"
    )
    assert sci.correctly_rounded(never_sure("9.9999999999999999999999999999999995")) == 10
    assert sci.correctly_rounded(never_sure("2")) == 2


# --- random arguments against the oracle -----------------------------------------------------


class Sampler:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def number(self, low: int, high: int, negative: float = 0.0, digits: int = 0) -> Decimal:
        """1..34 digits (or `digits`), adjusted exponent in low..high, negative at that rate."""
        count = digits or self.rng.randint(1, 34)
        coefficient = self.rng.randrange(10 ** (count - 1), 10**count)
        value = D(f"{coefficient}E{self.rng.randint(low, high) - count + 1}")
        return value.copy_negate() if self.chance(negative) else value

    def integer(self, low: int, high: int) -> Decimal:
        return D(self.rng.randint(low, high))

    def near(self, value: Decimal, closest: int = -34, farthest: int = -1) -> Decimal:
        """value ± a small number, rounded to 34 digits."""
        return ROUNDING.add(value, self.number(closest, farthest, negative=0.5))

    def pick(self, *options: Callable[[], Decimal]) -> Decimal:
        return self.rng.choice(options)()

    def unit(self) -> AngleUnit:
        return "deg" if self.chance(0.5) else "rad"


def sqrt_samples(s: Sampler) -> list[Call]:
    def square() -> Decimal:
        root = s.number(-20, 20, digits=s.rng.randint(1, 17))
        return EXACT.multiply(root, root)

    return [
        Call(
            "sqrt",
            (
                s.pick(
                    lambda: s.number(-40, 40),
                    lambda: s.number(-40, 40),
                    lambda: s.number(-9999, 9999),
                    square,
                    lambda: s.integer(0, 10**6),
                    lambda: s.number(-10, 10).copy_negate(),
                ),
            ),
        )
        for _ in range(SAMPLES_PER_FUNCTION)
    ]


def exp_samples(s: Sampler) -> list[Call]:
    return [
        Call(
            "exp",
            (
                s.pick(
                    lambda: s.number(-30, 1, negative=0.5),
                    lambda: s.number(-30, 1, negative=0.5),
                    lambda: s.number(2, 5, negative=0.5),
                    lambda: s.integer(-23100, 23100),
                    lambda: s.near(D("23025.85"), -30, 0),
                    lambda: s.near(D("-23023.5"), -30, 0),
                    lambda: s.number(-9999, -31, negative=0.5),
                ),
            ),
        )
        for _ in range(SAMPLES_PER_FUNCTION)
    ]


def logarithm_samples(function: Function, s: Sampler) -> list[Call]:
    return [
        Call(
            function,
            (
                s.pick(
                    lambda: s.number(-40, 40),
                    lambda: s.number(-40, 40),
                    lambda: s.number(-9999, 9999),
                    lambda: s.near(D(1)),
                    lambda: s.near(D(1)),
                    lambda: D(1).scaleb(s.rng.randint(-9999, 9999)),
                    lambda: s.integer(1, 10**9),
                    lambda: s.number(-5, 5, negative=1.0) if s.chance(0.8) else D(0),
                ),
            ),
        )
        for _ in range(SAMPLES_PER_FUNCTION)
    ]


def power_samples(s: Sampler) -> list[Call]:
    nice = [D("0.5"), D("1.5"), D("2.5"), D("-0.5"), D("0.25"), D("0.75"), D(THIRD)]

    def base() -> Decimal:
        return s.pick(
            lambda: s.number(-10, 10),
            lambda: s.number(-10, 10),
            lambda: s.near(D(1)),
            lambda: s.number(-5, 5, negative=1.0),
            lambda: s.integer(2, 100),
            lambda: s.integer(-20, 20),
        )

    def exponent(x: Decimal) -> Decimal:
        if x.is_zero() or abs(x - 1) > D("1E-10"):
            return s.pick(
                lambda: s.integer(-40, 40),
                lambda: s.integer(-40, 40),
                lambda: s.number(-6, 2, negative=0.5),
                lambda: s.rng.choice(nice),
                lambda: s.integer(-3000, 3000),
            )
        return s.pick(lambda: s.number(0, 40, negative=0.5), lambda: s.integer(-(10**9), 10**9))

    calls = []
    for _ in range(SAMPLES_PER_FUNCTION):
        x = base()
        calls.append(Call("power", (x, exponent(x))))
    return calls


def factorial_samples(s: Sampler) -> list[Call]:
    return [
        Call(
            "factorial",
            (
                s.pick(
                    lambda: s.integer(0, 3248),
                    lambda: s.integer(0, 3248),
                    lambda: s.integer(0, 30),
                    lambda: s.integer(3249, 4000),
                    lambda: s.number(-3, 3, negative=0.5),
                ),
            ),
        )
        for _ in range(SAMPLES_PER_FUNCTION)
    ]


def trigonometric_samples(function: Function, s: Sampler) -> list[Call]:
    calls = []
    for index in range(SAMPLES_PER_FUNCTION):
        if index < 2:  # the slowest arguments, a couple per function
            calls.append(Call(function, (s.number(9000, 9999, negative=0.5),), s.unit()))
        elif s.chance(0.45):
            degrees = s.pick(
                lambda: s.number(-10, 5, negative=0.5),
                lambda: s.number(-10, 5, negative=0.5),
                lambda: D(15 * s.rng.randint(-100, 100)),
                lambda: s.near(D(30 * s.rng.randint(-24, 24)), -30, -1),
                lambda: s.near(D(45 * s.rng.randint(-16, 16)), -34, -10),
                lambda: D("29.999999999999"),
                lambda: s.number(-9999, -20, negative=0.5),
                lambda: s.number(20, 400, negative=0.5).to_integral_value(),
            )
            calls.append(Call(function, (degrees,), "deg"))
        elif s.chance(0.15):
            multiple = Fraction(
                s.rng.randint(-50, 50), s.rng.choice((1, 2, 3, 4, 6, 12, 5, 7, 180))
            )
            calls.append(Call(function, (pi_times(multiple),), "rad", multiple))
        else:
            radians = s.pick(
                lambda: s.number(-10, 6, negative=0.5),
                lambda: s.number(-10, 6, negative=0.5),
                lambda: s.near(pi_times(Fraction(s.rng.randint(-1000, 1000), 2)), -34, -20),
                lambda: pi_times(Fraction(s.rng.randint(-1000, 1000), 2)),
                lambda: s.number(100, 400, negative=0.5),
                lambda: s.number(-9999, -20, negative=0.5),
            )
            calls.append(Call(function, (radians,), "rad"))
    return calls


def inverse_samples(function: Function, s: Sampler) -> list[Call]:
    def argument() -> Decimal:
        return s.pick(
            lambda: s.number(-30, -1, negative=0.5),
            lambda: s.number(-3, -1, negative=0.5),
            lambda: s.near(D(1), -34, -1),
            lambda: s.near(D(-1), -34, -1),
            lambda: ROUNDING.subtract(D(1), s.number(-34, -1)),
            lambda: ROUNDING.add(D(-1), s.number(-34, -1)),
            lambda: s.rng.choice((D(0), D("0.5"), D("-0.5"), D(1), D(-1))),
            lambda: s.number(-9999, -30, negative=0.5),
            lambda: s.number(0, 40, negative=0.5),
            lambda: s.number(-9999, 9999, negative=0.5),
        )

    return [Call(function, (argument(),), s.unit()) for _ in range(SAMPLES_PER_FUNCTION)]


def samples(function: Function) -> list[Call]:
    s = Sampler(SEED + get_args(Function).index(function))
    match function:
        case "sqrt":
            return sqrt_samples(s)
        case "exp":
            return exp_samples(s)
        case "ln" | "log10":
            return logarithm_samples(function, s)
        case "power":
            return power_samples(s)
        case "factorial":
            return factorial_samples(s)
        case "sin" | "cos" | "tan":
            return trigonometric_samples(function, s)
        case "asin" | "acos" | "atan":
            return inverse_samples(function, s)


# The errors each function's samples must reach (besides values).
REACHED_ERRORS: Final[dict[str, tuple[str, ...]]] = {
    "sqrt": (INVALID,),
    "power": (INVALID, DIVIDE_BY_ZERO, OVERFLOW),
    "factorial": (INVALID, OVERFLOW),
    "exp": (OVERFLOW,),
    "ln": (INVALID,),
    "log10": (INVALID,),
    "tan": (INVALID,),
    "asin": (INVALID,),
    "acos": (INVALID,),
}


@pytest.mark.parametrize("function", get_args(Function))
def test_random_arguments_against_mpmath(function: Function) -> None:
    calls = samples(function)
    assert len(calls) >= 500
    mismatches = []
    outcomes: Counter[str] = Counter()
    for case in calls:
        outcome, expected = case.run(), case.expected()
        outcomes[outcome if isinstance(outcome, str) else "value"] += 1
        if outcome != expected:
            mismatches.append(f"{case.label()}: {outcome} != {expected}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:20])
    assert set(outcomes) == {"value", *REACHED_ERRORS.get(function, ())}
    assert outcomes["value"] >= 0.6 * len(calls)


# --- the error bounds behind the Ziv loop ----------------------------------------------------


def approximation(case: Call, digits: int) -> tuple[Decimal, Decimal] | None:
    """The module's (value, error bound) for the case at `digits` digits, or None when the case
    does not go through an approximation (a table value, an error, an exact power)."""
    x = case.args[0]
    if case.function in ("sin", "cos", "tan"):
        degrees = sci.exact_degrees(x, case.unit, case.pi_multiple)
        if degrees is not None and at_table_angle(degrees % 360):
            return None
        reduce = (
            sci.degree_reduction(Fraction(x)) if case.unit == "deg" else sci.radian_reduction(x)
        )
        return sci.evaluate_trigonometric(case.function, reduce(digits), digits)
    if case.function in ("asin", "acos", "atan"):
        if (case.function != "atan" and x.copy_abs() >= 1) or x.is_zero():
            return None
        working = sci.context(digits + 5)
        return sci.in_unit(sci.INVERSE_RADIANS[case.function](x, working), case.unit, working)
    y = case.args[1]
    if x <= 0 or x == 1 or y.is_zero() or sci.exponent_estimate(x, y).copy_abs() > 23030:
        return None
    return sci.exp_of_product(x, y)(digits)


def true_value(case: Call) -> Any:
    x = mp(case.args[0])
    match case.function:
        case "sin" | "cos" | "tan":
            if case.unit == "deg":
                return degree_function(case.function, x / 180)
            return {"sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan}[case.function](x)
        case "asin" | "acos" | "atan":
            function = {"asin": mpmath.asin, "acos": mpmath.acos, "atan": mpmath.atan}
            radians = function[case.function](x)
            return mpmath.degrees(radians) if case.unit == "deg" else radians
        case _:
            return mpmath.power(x, mp(case.args[1]))


@pytest.mark.parametrize("function", ["sin", "cos", "tan", "asin", "acos", "atan", "power"])
def test_every_error_bound_holds_and_is_tight(function: Function) -> None:
    """|exact - value| <= error for the approximations at 20 and 40 guard digits (checked at
    150 digits and more), and the bound is small enough for the Ziv loop to end at once."""
    checked = 0
    for case in samples(function)[:250]:
        for digits in (54, 74):
            approximate = approximation(case, digits)
            if approximate is None:
                continue
            value, error = approximate
            with mpmath.workdps(150 + max(0, case.args[0].adjusted())):
                assert abs(true_value(case) - mp(value)) <= mp(error), case.label()
            assert error <= value.copy_abs().scaleb(8 - digits), case.label()
            checked += 1
    assert checked >= 300
