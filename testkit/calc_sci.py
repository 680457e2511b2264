"""Reference implementation of the calculator's scientific functions on Python's `decimal`.

The twin of `pwa/js/sci-math.js`: both follow the numeric contract of the scientific functions
(every result the exact value correctly rounded to 34 significant digits, ROUND_HALF_EVEN; the
range rule; the exact tables of the trigonometric functions; the error messages), and
`testkit/calc_reference.py` evaluates its scientific expressions with this module. Pure functions,
no I/O; arguments and results are `Decimal`s of at most 34 digits, zero is `Decimal(0)`.

How every result is correctly rounded:

- `sqrt`, `exp`, `ln` and `log10` are single calls of `decimal`'s own functions at 34 digits,
  which are documented as correctly rounded (ROUND_HALF_EVEN) at any precision.
- `factorial` and the integer powers whose exact value is small (at most ~7,000 bits) are exact
  integer products rounded once; x^-n is one correctly rounded division of exact operands.
- Everything else goes through a Ziv loop (`correctly_rounded`): an approximation at 34 + g
  digits together with a rigorous bound on its error, accepted when every value within the bound
  rounds to the same 34-digit number. g goes 20, 40, 80 and 120; if even then the interval holds
  a rounding boundary, the value is taken to lie exactly on the boundary nearest to it (the
  "snap": a representable number is returned, a midpoint is rounded half-even).
  The approximations are compositions of `decimal` operations (each correctly rounded, so within
  half an ulp of the working precision) and of Taylor series whose rounding and truncation
  errors are bounded term by term; the bounds below are about twice the worst case. pi comes
  from the Chudnovsky series in integer arithmetic, to as many digits as the argument reduction
  needs, and is cached.

Magnitudes are estimated before anything big is built (no 10^10000000, no 4000!), and every
context has exponent limits far beyond the calculator's range, so nothing traps or goes
subnormal; the range rule (`within_range`) is applied to the rounded result.

One module of ~700 lines on purpose: it mirrors `sci-math.js` function for function, so that a
difference between the twins can be found by reading them side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from functools import cache, lru_cache
from math import factorial as exact_factorial
from math import isqrt
from typing import Final, Literal

PRECISION: Final = 34
PI: Final[Decimal] = Decimal("3.141592653589793238462643383279503")
GUARD_DIGITS: Final = (20, 40, 80, 120)  # the Ziv loop's; then the snap
OVERFLOW_EXPONENT: Final = 10000  # a result >= 1e10000 overflows (adjusted exponents)
UNDERFLOW_EXPONENT: Final = -9999  # a nonzero result < 1e-9999 becomes 0
EXP_LIMIT: Final = Decimal(23030)  # e^23030 > 1e10001 and e^-23030 < 1e-10001
FACTORIAL_LIMIT: Final = 3249  # 3249! >= 1e10000 > 3248!
EXACT_POWER_BITS: Final = 7000  # c^n is built exactly when it has at most this many bits
CHUDNOVSKY_C3_OVER_24: Final = 640320**3 // 24

MathErrorMessage = Literal["Invalid input", "Cannot divide by zero", "Overflow"]
AngleUnit = Literal["deg", "rad"]
Trigonometric = Literal["sin", "cos", "tan"]
Inverse = Literal["asin", "acos", "atan"]

INVALID: Final = "Invalid input"
DIVIDE_BY_ZERO: Final = "Cannot divide by zero"
OVERFLOW: Final = "Overflow"

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
HALF: Final = Decimal("0.5")
INFINITY: Final = Decimal("Infinity")
QUARTER_TURN: Final = Decimal("0.785")  # just below pi/4: smaller radians need no reduction
ATAN_SERIES_LIMIT: Final = Decimal("0.05")  # atan's argument is halved to at most this

# The exact trigonometric values, by the angle in degrees modulo 360 (the rational entries of the
# multiples of 30 and 45 degrees); None marks where tan is undefined.
SIN_TABLE: Final[dict[int, Decimal | None]] = {
    0: ZERO,
    30: HALF,
    90: ONE,
    150: HALF,
    180: ZERO,
    210: -HALF,
    270: -ONE,
    330: -HALF,
}
COS_TABLE: Final[dict[int, Decimal | None]] = {
    0: ONE,
    60: HALF,
    90: ZERO,
    120: -HALF,
    180: -ONE,
    240: -HALF,
    270: ZERO,
    300: HALF,
}
TAN_TABLE: Final[dict[int, Decimal | None]] = {
    0: ZERO,
    45: ONE,
    90: None,
    135: -ONE,
    180: ZERO,
    225: ONE,
    270: None,
    315: -ONE,
}
FORWARD_TABLES: Final[dict[Trigonometric, dict[int, Decimal | None]]] = {
    "sin": SIN_TABLE,
    "cos": COS_TABLE,
    "tan": TAN_TABLE,
}
# The exact inverse values, by the argument, in each unit.
INVERSE_TABLES: Final[dict[Inverse, dict[AngleUnit, dict[Decimal, Decimal]]]] = {
    "asin": {
        "deg": {
            ZERO: ZERO,
            HALF: Decimal(30),
            -HALF: Decimal(-30),
            ONE: Decimal(90),
            -ONE: Decimal(-90),
        },
        "rad": {ZERO: ZERO},
    },
    "acos": {
        "deg": {
            ONE: ZERO,
            HALF: Decimal(60),
            ZERO: Decimal(90),
            -HALF: Decimal(120),
            -ONE: Decimal(180),
        },
        "rad": {ONE: ZERO},
    },
    "atan": {
        "deg": {ZERO: ZERO, ONE: Decimal(45), -ONE: Decimal(-45)},
        "rad": {ZERO: ZERO},
    },
}


class MathError(Exception):
    def __init__(self, message: MathErrorMessage) -> None:
        super().__init__(message)
        self.message: MathErrorMessage = message


# --- contexts and error bounds ---------------------------------------------------------------


def context(precision: int, rounding: str = ROUND_HALF_EVEN) -> Context:
    """A context with exponent limits far beyond the calculator's range."""
    return Context(
        prec=precision,
        rounding=rounding,
        Emax=MAX_EMAX,
        Emin=MIN_EMIN,
        capitals=1,
        clamp=0,
        traps=[InvalidOperation, DivisionByZero, Overflow],
    )


RESULT_CONTEXT: Final = context(PRECISION)
ESTIMATE_CONTEXT: Final = context(25)  # magnitude estimates
ERROR_CONTEXT: Final = context(8, ROUND_UP)  # error bounds, rounded up
EXACT_CONTEXT: Final = Context(
    prec=100,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)

# A value and a bound on its error: |exact - value| <= error.
Approximation = tuple[Decimal, Decimal]


def units(count: int, precision: int) -> Decimal:
    """count * 10^(1 - precision): `count` times twice the relative rounding error at
    `precision` digits."""
    return Decimal(count).scaleb(1 - precision, ERROR_CONTEXT)


def bound(*factors: Decimal) -> Decimal:
    """The product of the factors' magnitudes, rounded up."""
    product = ONE
    for factor in factors:
        product = ERROR_CONTEXT.multiply(product, factor.copy_abs())
    return product


def total(*errors: Decimal) -> Decimal:
    """The sum of error bounds, rounded up."""
    result = ZERO
    for error in errors:
        result = ERROR_CONTEXT.add(result, error)
    return result


# --- correct rounding ------------------------------------------------------------------------


def within_range(value: Decimal) -> Decimal:
    """A 34-digit result under the range rule: Overflow, or 0 below 1e-9999."""
    if value.is_zero() or value.adjusted() < UNDERFLOW_EXPONENT:
        return ZERO
    if value.adjusted() >= OVERFLOW_EXPONENT:
        raise MathError(OVERFLOW)
    normal = RESULT_CONTEXT.normalize(value)
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)
    # Integers below 10^34 without an exponent (3628800 rather than 3.6288E+6).
    integral = exponent > 0 and normal.adjusted() < PRECISION
    return normal.quantize(ONE, context=RESULT_CONTEXT) if integral else normal


def unique_rounding(value: Decimal, error: Decimal) -> Decimal | None:
    """The 34-digit rounding shared by every number within `error` of `value`, if there is one."""
    if error.is_zero():
        return RESULT_CONTEXT.plus(value)
    digits = max(len(value.as_tuple().digits), PRECISION) + 10
    low = context(digits, ROUND_FLOOR).subtract(value, error)
    high = context(digits, ROUND_CEILING).add(value, error)
    rounded = RESULT_CONTEXT.plus(low)
    return rounded if rounded == RESULT_CONTEXT.plus(high) else None


def snap(value: Decimal) -> Decimal:
    """The rounding boundary nearest to `value` (a 34-digit number or the midpoint of two),
    rounded half-even."""
    if value.is_zero():
        return value
    half_ulp = Decimal(5).scaleb(value.adjusted() - PRECISION)
    wide = context(max(len(value.as_tuple().digits), PRECISION) + 10)
    steps = wide.divide(value, half_ulp).to_integral_value(ROUND_HALF_EVEN)
    return RESULT_CONTEXT.plus(wide.multiply(steps, half_ulp))


def correctly_rounded(approximate: Callable[[int], Approximation]) -> Decimal:
    """The Ziv loop: `approximate(digits)` is the value at `digits` significant digits with its
    error bound; more digits until the rounding is certain, then the snap."""
    value = ZERO
    for guard in GUARD_DIGITS:
        value, error = approximate(PRECISION + guard)
        rounded = unique_rounding(value, error)
        if rounded is not None:
            return within_range(rounded)
    return within_range(snap(value))


# --- pi --------------------------------------------------------------------------------------


def chudnovsky_terms(a: int, b: int) -> tuple[int, int, int]:
    """Binary splitting of the Chudnovsky series over its terms a..b-1: (P, Q, T)."""
    if b - a == 1:
        if a == 0:
            p = q = 1
        else:
            p = (6 * a - 5) * (2 * a - 1) * (6 * a - 1)
            q = a * a * a * CHUDNOVSKY_C3_OVER_24
        t = p * (13591409 + 545140134 * a)
        return p, q, -t if a % 2 else t
    middle = (a + b) // 2
    p_left, q_left, t_left = chudnovsky_terms(a, middle)
    p_right, q_right, t_right = chudnovsky_terms(middle, b)
    return p_left * p_right, q_left * q_right, q_right * t_left + p_left * t_right


@cache
def pi_scaled(digits: int) -> int:
    """floor(pi * 10^digits) within one unit: the Chudnovsky series (14 digits a term) with ten
    guard digits, whose floored square root and division err by a few guard units."""
    scale = 10 ** (digits + 10)
    _, q, t = chudnovsky_terms(0, digits // 14 + 2)
    pi_guarded = q * 426880 * isqrt(10005 * scale * scale) // t
    return pi_guarded // 10**10


@lru_cache(maxsize=256)
def pi_value(places: int) -> Decimal:
    """pi to `places` decimal places: |pi_value(places) - pi| <= 2 * 10^-places."""
    computed = 64
    while computed < places:
        computed *= 2
    scaled = pi_scaled(computed) // 10 ** (computed - places)
    return Decimal(scaled).scaleb(-places, context(places + 10))


# --- sqrt, exp, ln, log10, factorial ---------------------------------------------------------


def sqrt(x: Decimal) -> Decimal:
    if x < 0:
        raise MathError(INVALID)
    return within_range(RESULT_CONTEXT.sqrt(x))


def exp(x: Decimal) -> Decimal:
    if x > EXP_LIMIT:
        raise MathError(OVERFLOW)
    if x < -EXP_LIMIT:
        return ZERO
    return within_range(RESULT_CONTEXT.exp(x))


def ln(x: Decimal) -> Decimal:
    if x <= 0:
        raise MathError(INVALID)
    return within_range(RESULT_CONTEXT.ln(x))


def log10(x: Decimal) -> Decimal:
    if x <= 0:
        raise MathError(INVALID)
    return within_range(RESULT_CONTEXT.log10(x))


def is_integer(x: Decimal) -> bool:
    return x == x.to_integral_value()


def factorial(n: Decimal) -> Decimal:
    if n < 0 or not is_integer(n):
        raise MathError(INVALID)
    if n >= FACTORIAL_LIMIT:
        raise MathError(OVERFLOW)
    return within_range(RESULT_CONTEXT.create_decimal(exact_factorial(int(n))))


# --- power -----------------------------------------------------------------------------------


def is_odd(n: Decimal) -> bool:
    """Whether the integer n is odd (one of 34 significant digits that is 10^34 or more ends
    in 0)."""
    return n.adjusted() < PRECISION and int(n) % 2 == 1


def exponent_estimate(x: Decimal, y: Decimal) -> Decimal:
    """y * ln(x) to ~25 digits, for x > 0: the natural logarithm of x^y."""
    return ESTIMATE_CONTEXT.multiply(y, ESTIMATE_CONTEXT.ln(x))


def exp_of_product(x: Decimal, y: Decimal) -> Callable[[int], Approximation]:
    """x^y = exp(y * ln x) for x > 0 and |y * ln x| <= 23030, with its error bound.

    ln and exp are correctly rounded, the product too: with u = 10^(1 - p) / 2,
    t = y * ln(x) * (1 + e1) * (1 + e2) and the result is exp(t) * (1 + e3), |ei| <= u; so the
    relative error is at most |t| * 2.01u * 1.01 + u. Six extra digits cover |t| < 10^5.
    """

    def approximate(digits: int) -> Approximation:
        precision = digits + 6
        working = context(precision)
        logarithm = working.multiply(y, working.ln(x))
        value = working.exp(logarithm)
        relative = ERROR_CONTEXT.add(ERROR_CONTEXT.multiply(logarithm.copy_abs(), 3), 2)
        return value, bound(value, relative, units(1, precision))

    return approximate


def exact_power(coefficient: int, exponent: int, n: int) -> Decimal:
    """(coefficient * 10^exponent)^n, correctly rounded, from the exact coefficient^|n|."""
    power = coefficient ** abs(n)
    if n > 0:
        return within_range(
            RESULT_CONTEXT.create_decimal(power).scaleb(exponent * n, EXACT_CONTEXT)
        )
    return within_range(RESULT_CONTEXT.divide(ONE.scaleb(exponent * n), Decimal(power)))


def integer_power(x: Decimal, y: Decimal) -> Decimal:
    """x^y for x > 0, x != 1 and an integer y whose result is near the range."""
    _, digits, exponent = x.normalize(EXACT_CONTEXT).as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)))
    n = int(y)  # |y| < 10^39: |y * ln x| <= 23030 and |ln x| > 10^-35
    if coefficient == 1 or coefficient.bit_length() * abs(n) <= EXACT_POWER_BITS:
        return exact_power(coefficient, exponent, n)
    return correctly_rounded(exp_of_product(x, y))


def positive_power(x: Decimal, y: Decimal, integral: bool) -> Decimal:
    if x == 1:
        return ONE
    estimate = exponent_estimate(x, y)
    if estimate > EXP_LIMIT:
        raise MathError(OVERFLOW)
    if estimate < -EXP_LIMIT:
        return ZERO
    if integral:
        return integer_power(x, y)
    return correctly_rounded(exp_of_product(x, y))


def power(x: Decimal, y: Decimal) -> Decimal:
    """x^y: exact for integer y where that is cheap, otherwise exp(y * ln x) in a Ziv loop."""
    if y.is_zero():
        return ONE
    if x.is_zero():
        if y < 0:
            raise MathError(DIVIDE_BY_ZERO)
        return ZERO
    integral = is_integer(y)
    if x < 0 and not integral:
        raise MathError(INVALID)
    result = positive_power(x.copy_abs(), y, integral)
    if x < 0 and is_odd(y) and not result.is_zero():
        return RESULT_CONTEXT.minus(result)
    return result


# --- sin, cos, tan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reduced:
    """An angle as radians + quadrant * pi/2, |radians| <= ~pi/4, with the radians' error."""

    radians: Decimal
    error: Decimal
    quadrant: int


def exact_degrees(x: Decimal, unit: AngleUnit, pi_multiple: Fraction | None) -> Fraction | None:
    """The angle in degrees when it is known exactly."""
    if unit == "deg":
        return Fraction(x)
    return None if pi_multiple is None else pi_multiple * 180


def table_value(function: Trigonometric, degrees: Fraction) -> Decimal | None:
    """The exact value at a multiple of 30 or 45 degrees where it is rational."""
    turn = degrees % 360
    if turn.denominator != 1:
        return None
    table = FORWARD_TABLES[function]
    key = int(turn)
    if key in table and table[key] is None:
        raise MathError(INVALID)
    return table.get(key)


def degree_reduction(degrees: Fraction) -> Callable[[int], Reduced]:
    """The angle reduced exactly in degrees to b + 90k, |b| <= 45, then b in radians."""
    turn = degrees % 360
    k = round(turn / 90)
    remainder = turn - 90 * k
    b = EXACT_CONTEXT.divide(Decimal(remainder.numerator), Decimal(remainder.denominator))

    def reduce(digits: int) -> Reduced:
        precision = digits + 5  # pi / 180 and two roundings: relative error < 10^(1 - precision)
        working = context(precision)
        radians = working.divide(working.multiply(b, pi_value(precision)), 180)
        return Reduced(radians, bound(radians, units(2, precision)), k % 4)

    return reduce


def reduce_radians(x: Decimal, places: int) -> Reduced:
    """x = r + k * pi/2 with the nearest k, r to `places` decimal places (and some)."""
    if x.copy_abs() <= QUARTER_TURN:
        return Reduced(x, ZERO, 0)
    scale = max(0, x.adjusted())
    pi_places = scale + places + 5
    # Wide enough for x / (pi/2), and for k * pi/2 and x - k * pi/2 to be exact.
    wide = context(pi_places + scale + 10)
    half_pi = wide.divide(pi_value(pi_places), 2)
    k = wide.divide(x, half_pi).to_integral_value(ROUND_HALF_EVEN)
    exact = wide.subtract(x, wide.multiply(k, half_pi))
    radians = context(places + 10).plus(exact)
    error = total(
        bound(ERROR_CONTEXT.add(k.copy_abs(), ONE), ONE.scaleb(-pi_places)),  # pi/2's error
        ERROR_CONTEXT.subtract(radians, exact).copy_abs(),
    )
    quadrant = int(wide.remainder(k, Decimal(4))) % 4
    return Reduced(radians, error, quadrant)


def radian_reduction(x: Decimal) -> Callable[[int], Reduced]:
    """Radians reduced with pi to the digits needed: twice when r is small (x near k * pi/2)."""

    def reduce(digits: int) -> Reduced:
        reduced = reduce_radians(x, digits)
        radians = reduced.radians
        if radians.is_zero() or radians.adjusted() < -2:
            extra = digits if radians.is_zero() else -radians.adjusted()
            reduced = reduce_radians(x, digits + extra)
        return reduced

    return reduce


def taylor(r: Decimal, odd: bool, working: Context) -> Approximation:
    """sin(r) (odd) or cos(r) by the Taylor series, |r| < 1, at the context's precision.

    The k-th term carries at most 3k + 1 roundings and the sum one more per term: the rounding
    error is at most (4 * terms + 2)u times the sum of the terms' magnitudes; the series
    alternates with decreasing terms, so the first term left out bounds the truncation.
    """
    with localcontext(working):
        square = r * r
        term = +r if odd else ONE
        value = term
        magnitude = abs(term)
        count = 1
        index = 1 if odd else 0
        while True:
            index += 2
            term = -term * square / ((index - 1) * index)
            if term.is_zero() or term.adjusted() < value.adjusted() - working.prec - 2:
                break
            value += term
            magnitude += abs(term)
            count += 1
    rounding = bound(magnitude, units(4 * count + 4, working.prec))
    return value, total(rounding, term.copy_abs())


def sin_or_cos(reduced: Reduced, sine: bool, working: Context) -> Approximation:
    """sin or cos of the reduced radians; their derivatives are at most 1 in magnitude."""
    value, error = taylor(reduced.radians, sine, working)
    return value, total(error, reduced.error)


def quotient(
    numerator: Approximation, denominator: Approximation, working: Context
) -> Approximation:
    """n / d with its error: |n'/d' - n/d| <= 2 (|dn| + |n/d| |dd|) / |d| when |dd| <= |d|/2."""
    n, n_error = numerator
    d, d_error = denominator
    if d.is_zero() or ERROR_CONTEXT.multiply(d_error, 2) >= d.copy_abs():
        return ZERO, INFINITY
    value = working.divide(n, d)
    propagated = ERROR_CONTEXT.divide(
        ERROR_CONTEXT.multiply(total(n_error, bound(value, d_error)), 2), d.copy_abs()
    )
    return value, total(propagated, bound(value, units(1, working.prec)))


def evaluate_trigonometric(function: Trigonometric, reduced: Reduced, digits: int) -> Approximation:
    """sin, cos or tan of radians + quadrant * pi/2."""
    working = context(digits + 5)
    quadrant = reduced.quadrant
    if function == "tan":
        sine = sin_or_cos(reduced, True, working)
        cosine = sin_or_cos(reduced, False, working)
        if quadrant % 2 == 0:
            return quotient(sine, cosine, working)
        value, error = quotient(cosine, sine, working)  # tan(r + pi/2) = -cot(r)
        return working.minus(value), error
    use_sine = (quadrant % 2 == 0) == (function == "sin")
    value, error = sin_or_cos(reduced, use_sine, working)
    negative = quadrant in ((2, 3) if function == "sin" else (1, 2))
    return (working.minus(value) if negative else value), error


def trigonometric(
    function: Trigonometric, x: Decimal, unit: AngleUnit, pi_multiple: Fraction | None
) -> Decimal:
    degrees = exact_degrees(x, unit, pi_multiple)
    if degrees is not None:
        value = table_value(function, degrees)
        if value is not None:
            return value
    reduce = degree_reduction(Fraction(x)) if unit == "deg" else radian_reduction(x)
    return correctly_rounded(
        lambda digits: evaluate_trigonometric(function, reduce(digits), digits)
    )


def sin(x: Decimal, unit: AngleUnit, pi_multiple: Fraction | None = None) -> Decimal:
    return trigonometric("sin", x, unit, pi_multiple)


def cos(x: Decimal, unit: AngleUnit, pi_multiple: Fraction | None = None) -> Decimal:
    return trigonometric("cos", x, unit, pi_multiple)


def tan(x: Decimal, unit: AngleUnit, pi_multiple: Fraction | None = None) -> Decimal:
    return trigonometric("tan", x, unit, pi_multiple)


# --- asin, acos, atan ------------------------------------------------------------------------


def half_pi(working: Context) -> Approximation:
    """pi/2 at the context's precision: pi_value's error halved, plus the division's rounding."""
    return working.divide(pi_value(working.prec), 2), units(1, working.prec)


def atan_series(z: Decimal, working: Context) -> Approximation:
    """atan(z) for |z| <= 1 (z exact): z halved by atan(z) = 2 atan(z / (1 + sqrt(1 + z^2)))
    until |z| <= 0.05, then the Taylor series.

    Each halving adds at most 5u to the relative error of z (atan's relative condition number is
    at most 1, so also to the result's); the series as in `taylor`; the doubling back one more.
    """
    with localcontext(working):
        halvings = 0
        while abs(z) > ATAN_SERIES_LIMIT:
            z = z / (1 + (1 + z * z).sqrt())
            halvings += 1
        square = z * z
        power = z
        value = z
        magnitude = abs(z)
        count = 1
        index = 1
        while True:
            power = -power * square
            index += 2
            term = power / index
            if term.is_zero() or term.adjusted() < value.adjusted() - working.prec - 2:
                break
            value += term
            magnitude += abs(term)
            count += 1
        scale = 2**halvings
        value *= scale
    rounding = bound(magnitude, Decimal(scale), units(6 * halvings + 4 * count + 8, working.prec))
    return value, total(rounding, bound(term, Decimal(scale)))


def atan_any(z: Decimal, relative_error: Decimal, working: Context) -> Approximation:
    """atan(z) for z known within |z| * relative_error: atan(z) = ±pi/2 - atan(1/z) for |z| > 1."""
    if z.copy_abs() <= 1:
        value, error = atan_series(z, working)
        return value, total(error, bound(value, relative_error))
    inner, inner_error = atan_series(working.divide(ONE, z), working)
    quarter_turn, quarter_turn_error = half_pi(working)
    value = working.subtract(quarter_turn if z > 0 else working.minus(quarter_turn), inner)
    inner_relative = total(relative_error, units(1, working.prec))  # 1/z's rounding
    return value, total(
        inner_error,
        bound(inner, inner_relative),
        quarter_turn_error,
        bound(value, units(1, working.prec)),  # the subtraction's rounding
    )


def asin_radians(x: Decimal, working: Context) -> Approximation:
    """asin(x) = atan(x / sqrt((1 - x)(1 + x))), ±pi/2 at ±1."""
    if x.copy_abs() == 1:
        quarter_turn, error = half_pi(working)
        return (quarter_turn if x > 0 else working.minus(quarter_turn)), error
    with localcontext(working):
        z = x / ((1 - x) * (1 + x)).sqrt()
    return atan_any(z, units(4, working.prec), working)


def acos_radians(x: Decimal, working: Context) -> Approximation:
    """acos(x) = 2 atan(sqrt((1 - x) / (1 + x))), pi at -1 (no cancellation near 1)."""
    if x == -1:
        return pi_value(working.prec), ONE.scaleb(1 - working.prec)
    with localcontext(working):
        z = ((1 - x) / (1 + x)).sqrt()
    value, error = atan_any(z, units(4, working.prec), working)
    doubled = working.multiply(value, 2)
    return doubled, total(bound(error, Decimal(2)), bound(doubled, units(1, working.prec)))


def atan_radians(x: Decimal, working: Context) -> Approximation:
    return atan_any(x, ZERO, working)


INVERSE_RADIANS: Final[dict[Inverse, Callable[[Decimal, Context], Approximation]]] = {
    "asin": asin_radians,
    "acos": acos_radians,
    "atan": atan_radians,
}


def in_unit(radians: Approximation, unit: AngleUnit, working: Context) -> Approximation:
    """An angle in the unit: degrees = radians * 180 / pi (pi's relative error < 10^-p)."""
    if unit == "rad":
        return radians
    value, error = radians
    degrees = working.divide(working.multiply(value, 180), pi_value(working.prec))
    return degrees, total(bound(error, Decimal(58)), bound(degrees, units(3, working.prec)))


def inverse_trigonometric(function: Inverse, x: Decimal, unit: AngleUnit) -> Decimal:
    if function != "atan" and x.copy_abs() > 1:
        raise MathError(INVALID)
    exact = INVERSE_TABLES[function][unit].get(x)
    if exact is not None:
        return exact
    radians = INVERSE_RADIANS[function]

    def approximate(digits: int) -> Approximation:
        working = context(digits + 5)
        return in_unit(radians(x, working), unit, working)

    return correctly_rounded(approximate)


def asin(x: Decimal, unit: AngleUnit) -> Decimal:
    return inverse_trigonometric("asin", x, unit)


def acos(x: Decimal, unit: AngleUnit) -> Decimal:
    return inverse_trigonometric("acos", x, unit)


def atan(x: Decimal, unit: AngleUnit) -> Decimal:
    return inverse_trigonometric("atan", x, unit)
