"""The calculator spec as data: hand-written cases and a generator of random expressions.

`SPEC_CASES` covers every rule of "Arithmetic" and "Display and limits" in
design/calculator.md and of the scientific mode (docs/calculator.md; each example verbatim,
then the edges). Both implementations must give each case's expected answer: the Python
reference in tests/unit/test_calc_reference.py, the browser engine in e2e/test_engine.py.
`generate_expressions`, `generate_pastes`, `generate_follow_ups` and
`generate_scientific_calls` (functions, powers, factorials and pi in both angle units) feed
the differential test between the two.

Over 400 lines because it is data: the spec's hundreds of cases, one per line.
"""

# The cases are written with the calculator's own characters (× ÷ − –) on purpose.

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from testkit import calc_reference as ref
from testkit.calc_reference import Carry, Failure, Operator, PasteResult, Repeat, Result, Success
from testkit.calc_sci import AngleUnit

Function = Literal["evaluate", "applyRepeat", "normalizePaste", "add", "subtract", "formatDisplay"]
Answer = Result | PasteResult | str


@dataclass(frozen=True)
class Call:
    """One call of the engine's API, by its JavaScript name."""

    function: Function
    text: str
    carry: Carry | None = None
    repeat: Repeat | None = None
    other: str = ""
    angle: AngleUnit = "deg"

    def js_args(self) -> list[object]:
        match self.function:
            case "evaluate":
                return [self.text, self.carry, self.angle]
            case "applyRepeat":
                return [self.text, self.repeat]
            case "add" | "subtract":
                return [self.text, self.other]
            case "normalizePaste" | "formatDisplay":
                return [self.text]

    def reference(self) -> Answer:
        """The answer of the Python reference."""
        match self.function:
            case "evaluate":
                return ref.evaluate(self.text, self.carry, self.angle)
            case "applyRepeat":
                if self.repeat is None:
                    raise ValueError("applyRepeat needs a repeat")
                return ref.apply_repeat(self.text, self.repeat)
            case "add":
                return ref.add(self.text, self.other)
            case "subtract":
                return ref.subtract(self.text, self.other)
            case "normalizePaste":
                return ref.normalize_paste(self.text)
            case "formatDisplay":
                return ref.format_display(self.text)

    def label(self) -> str:
        """A short readable name, for test ids and failure messages."""
        text = self.text if len(self.text) <= 40 else f"{self.text[:30]}...({len(self.text)})"
        extras = [repr(text), *[repr(x) for x in (self.carry, self.repeat) if x is not None]]
        if self.angle == "rad":
            extras.append("'rad'")
        if self.function in ("add", "subtract"):
            extras.append(repr(self.other))
        return f"{self.function}({', '.join(extras)})"


@dataclass(frozen=True)
class SpecCase:
    rule: str
    call: Call
    expected: Answer


def ok(display: str, value: str, repeat: tuple[Operator, str] | None = None) -> Success:
    operation: Repeat | None = None
    if repeat is not None:
        operation = {"operator": repeat[0], "operand": repeat[1]}
    return {"ok": True, "display": display, "value": value, "repeat": operation}


def error(message: ref.ErrorMessage) -> Failure:
    return {"ok": False, "error": message}


DIVIDE_BY_ZERO = error("Cannot divide by zero")
UNDEFINED = error("Result is undefined")
OVERFLOW = error("Overflow")
INVALID = error("Invalid expression")
NUMBER_TOO_LONG = error("Number too long")
TOO_LONG = error("Expression too long")
INVALID_INPUT = error("Invalid input")

ONE_THIRD = "0.3333333333333333333333333333333333"
TWO_THIRDS = "0.6666666666666666666666666666666667"
NEARLY_ONE = "0.9999999999999999999999999999999999"
JUST_UNDER_OVERFLOW = "9.999999999999999999999999999999999E+9999"


def evaluates(
    rule: str,
    text: str,
    expected: Result,
    carry: Carry | None = None,
    angle: AngleUnit = "deg",
) -> SpecCase:
    return SpecCase(rule, Call("evaluate", text, carry=carry, angle=angle), expected)


def radians(rule: str, text: str, expected: Result) -> SpecCase:
    return evaluates(rule, text, expected, angle="rad")


def repeats(rule: str, value: str, repeat: tuple[Operator, str], expected: Result) -> SpecCase:
    operation: Repeat = {"operator": repeat[0], "operand": repeat[1]}
    return SpecCase(rule, Call("applyRepeat", value, repeat=operation), expected)


def pastes(rule: str, text: str, expected: str | Failure) -> SpecCase:
    answer: PasteResult = (
        {"ok": True, "expression": expected} if isinstance(expected, str) else expected
    )
    return SpecCase(rule, Call("normalizePaste", text), answer)


def memory(function: Literal["add", "subtract"], a: str, b: str, expected: Result) -> SpecCase:
    return SpecCase(f"memory {function}", Call(function, a, other=b), expected)


def formats(value: str, expected: str) -> SpecCase:
    return SpecCase("formatDisplay", Call("formatDisplay", value), expected)


def carry(display: str, value: str) -> Carry:
    return {"display": display, "value": value}


EXAMPLES = "example of calculator.md"
EXACT = "exact decimal arithmetic, 34 digits half even"
PRECEDENCE = "precedence and left associativity"
IMPLICIT = "implicit multiplication"
SIGNS = "unary signs"
PERCENT = "p% is p/100"
SUM_PERCENT = "sum rule: left +- p% of left"
NOT_SUM_PERCENT = "sum rule exception: plain p/100"
EXPONENT = "exponent literals"
AT_EQUALS = "at =: trailing operators dropped, parentheses closed"
SYNTAX = "syntax error"
DIVISION = "division by zero"
RANGE = "overflow and underflow flush"
LITERAL_LENGTH = "at most 15 digits per literal"
LENGTH = "at most 256 characters"
NESTING = "at most 25 nested parentheses"
DISPLAY = "display: 15 digits half up, fixed for 1e-7 <= |x| < 1e15"
VALUE = "value: str(d.normalize())"
REPEAT = "repeated ="
CARRY = "continuation from a result"
PASTE = "paste normalisation"
SCIENTIFIC = "example of the scientific mode"
FUNCTIONS = "functions, correctly rounded at 34 digits"
POWERS = "^ is right-associative, tighter than a sign on its left, looser than !"
DOMAIN = "outside a function's domain: Invalid input"
PI_MULTIPLES = "radians: multiples of pi written with pi are exact"
SCI_PASTE = "paste: scientific symbols"

PI_VALUE = "3.141592653589793238462643383279503"
E_VALUE = "2.718281828459045235360287471352662"

SPEC_CASES: list[SpecCase] = [
    # --- every example of calculator.md, verbatim ---
    evaluates(EXAMPLES, "0.1+0.2", ok("0.3", "0.3", ("+", "0.2"))),
    evaluates(EXAMPLES, "0.1+0.2-0.3", ok("0", "0", ("-", "0.3"))),
    evaluates(EXAMPLES, "2+3*4", ok("14", "14", ("+", "12"))),
    evaluates(EXAMPLES, "10-4-3", ok("3", "3", ("-", "3"))),
    evaluates(EXAMPLES, "100/10/5", ok("2", "2", ("/", "5"))),
    evaluates(EXAMPLES, "6/2(1+2)", ok("9", "9", ("*", "3"))),
    evaluates(EXAMPLES, "2+-3", ok("-1", "-1", ("+", "-3"))),
    evaluates(EXAMPLES, "2--3", ok("5", "5", ("-", "-3"))),
    evaluates(EXAMPLES, "1.5e+20", ok("1.5e+20", "1.5E+20")),
    evaluates(EXAMPLES, "2E-3", ok("0.002", "0.002")),
    evaluates(EXAMPLES, "2+3*", ok("5", "5", ("+", "3"))),
    evaluates(EXAMPLES, "50%", ok("0.5", "0.5")),
    evaluates(EXAMPLES, "200*10%", ok("20", "2E+1", ("*", "0.1"))),
    evaluates(EXAMPLES, "200/10%", ok("2000", "2E+3", ("/", "0.1"))),
    evaluates(EXAMPLES, "200+10%", ok("220", "2.2E+2", ("+", "2E+1"))),
    evaluates(EXAMPLES, "200-10%", ok("180", "1.8E+2", ("-", "2E+1"))),
    evaluates(EXAMPLES, "10+20+10%", ok("33", "33", ("+", "3"))),
    evaluates(EXAMPLES, "100+(5+5)%", ok("110", "1.1E+2", ("+", "1E+1"))),
    evaluates(EXAMPLES, "200+10%*2", ok("200.2", "200.2", ("+", "0.2"))),
    evaluates(EXAMPLES, "1/3", ok("0.333333333333333", ONE_THIRD, ("/", "3"))),
    evaluates(EXAMPLES, "999999999999999+1", ok("1e+15", "1E+15", ("+", "1"))),
    evaluates(EXAMPLES, "2+3", ok("5", "5", ("+", "3"))),
    repeats(EXAMPLES, "5", ("+", "3"), ok("8", "8", ("+", "3"))),
    repeats(EXAMPLES, "8", ("+", "3"), ok("11", "11", ("+", "3"))),
    evaluates(EXAMPLES, "1÷3", ok("0.333333333333333", ONE_THIRD, ("/", "3"))),
    evaluates(
        EXAMPLES,
        "0.333333333333333×3",
        ok("1", NEARLY_ONE, ("*", "3")),
        carry=carry("0.333333333333333", ONE_THIRD),
    ),
    # --- exact decimals, 34 significant digits, half even ---
    evaluates(EXACT, "2/3", ok("0.666666666666667", TWO_THIRDS, ("/", "3"))),
    evaluates(
        EXACT, "1/7", ok("0.142857142857143", "0.1428571428571428571428571428571429", ("/", "7"))
    ),
    evaluates(EXACT, "1÷3×3", ok("1", NEARLY_ONE, ("*", "3"))),
    evaluates(EXACT, "2/3*3-2", ok("0", "0", ("-", "2"))),
    evaluates(EXACT, "1/3*3-1", ok("-1e-34", "-1E-34", ("-", "1"))),
    evaluates(EXACT, "10/4", ok("2.5", "2.5", ("/", "4"))),
    evaluates(EXACT, "1e33+0.5", ok("1e+33", "1E+33", ("+", "0.5"))),
    evaluates(EXACT, "1e33+1.5", ok("1e+33", "1000000000000000000000000000000002", ("+", "1.5"))),
    evaluates(EXACT, "1e33+2.5", ok("1e+33", "1000000000000000000000000000000002", ("+", "2.5"))),
    evaluates(
        EXACT, "-1e33-2.5", ok("-1e+33", "-1000000000000000000000000000000002", ("-", "2.5"))
    ),
    evaluates(EXACT, "1e33+2.51", ok("1e+33", "1000000000000000000000000000000003", ("+", "2.51"))),
    evaluates(EXACT, "1e34+1e-30", ok("1e+34", "1E+34", ("+", "1E-30"))),
    evaluates(EXACT, "1+5e-34", ok("1", "1", ("+", "5E-34"))),
    evaluates(EXACT, "1+6e-34", ok("1", "1.000000000000000000000000000000001", ("+", "6E-34"))),
    evaluates(EXACT, "1-6e-35", ok("1", NEARLY_ONE, ("-", "6E-35"))),
    evaluates(EXACT, "1-6e-36", ok("1", "1", ("-", "6E-36"))),
    evaluates(
        EXACT,
        "123456789012345×123456789012345",
        ok("1.52415787532387e+28", "15241578753238669120562399025", ("*", "123456789012345")),
    ),
    evaluates(EXACT, "0.000000000000001*0.000000000000001", ok("1e-30", "1E-30", ("*", "1E-15"))),
    # --- precedence and associativity ---
    evaluates(PRECEDENCE, "2*3+4*5", ok("26", "26", ("+", "2E+1"))),
    evaluates(PRECEDENCE, "(2+3)*4", ok("20", "2E+1", ("*", "4"))),
    evaluates(PRECEDENCE, "2*(3+4)", ok("14", "14", ("*", "7"))),
    evaluates(PRECEDENCE, "2×3−4÷8", ok("5.5", "5.5", ("-", "0.5"))),
    evaluates(PRECEDENCE, "8÷4÷2", ok("1", "1", ("/", "2"))),
    evaluates(PRECEDENCE, "2−3−4", ok("-5", "-5", ("-", "4"))),
    evaluates(PRECEDENCE, "1+2-3+4", ok("4", "4", ("+", "4"))),
    evaluates(PRECEDENCE, "12/2(3)", ok("18", "18", ("*", "3"))),
    evaluates(PRECEDENCE, " 2 +\t3 ", ok("5", "5", ("+", "3"))),
    evaluates(PRECEDENCE, "2\u00a0×\n3", ok("6", "6", ("*", "3"))),
    # --- implicit multiplication ---
    evaluates(IMPLICIT, "(2)(3)", ok("6", "6", ("*", "3"))),
    evaluates(IMPLICIT, "2(3)4", ok("24", "24", ("*", "4"))),
    evaluates(IMPLICIT, "(2)3", ok("6", "6", ("*", "3"))),
    evaluates(IMPLICIT, "2 (3)", ok("6", "6", ("*", "3"))),
    evaluates(IMPLICIT, "50%2", ok("1", "1", ("*", "2"))),
    evaluates(IMPLICIT, "50%(4)", ok("2", "2", ("*", "4"))),
    evaluates(IMPLICIT, "2(3)%", ok("0.06", "0.06", ("*", "0.03"))),
    evaluates(IMPLICIT, "3(-2)", ok("-6", "-6", ("*", "-2"))),
    evaluates(IMPLICIT, "1+2(3+4)", ok("15", "15", ("+", "14"))),
    evaluates(IMPLICIT, "2(3)(4)", ok("24", "24", ("*", "4"))),
    evaluates(IMPLICIT, "12 34", INVALID),
    evaluates(IMPLICIT, "1 .5", INVALID),
    # --- unary signs ---
    evaluates(SIGNS, "--3", ok("3", "3")),
    evaluates(SIGNS, "-−-3", ok("-3", "-3")),
    evaluates(SIGNS, "+5", ok("5", "5")),
    evaluates(SIGNS, "2×−3", ok("-6", "-6", ("*", "-3"))),
    evaluates(SIGNS, "2÷-4", ok("-0.5", "-0.5", ("/", "-4"))),
    evaluates(SIGNS, "2*+3", ok("6", "6", ("*", "3"))),
    evaluates(SIGNS, "2+++3", ok("5", "5", ("+", "3"))),
    evaluates(SIGNS, "-2(3)", ok("-6", "-6", ("*", "3"))),
    evaluates(SIGNS, "-2*3", ok("-6", "-6", ("*", "3"))),
    evaluates(SIGNS, "-(2+3)", ok("-5", "-5")),
    evaluates(SIGNS, "(2+3)", ok("5", "5")),
    # --- percent ---
    evaluates(PERCENT, "10%", ok("0.1", "0.1")),
    evaluates(PERCENT, "5%%", ok("0.0005", "0.0005")),
    evaluates(PERCENT, "-50%", ok("-0.5", "-0.5")),
    evaluates(PERCENT, "(50+50)%", ok("1", "1")),
    evaluates(PERCENT, "2*3%", ok("0.06", "0.06", ("*", "0.03"))),
    evaluates(PERCENT, "1e-9999%", ok("0", "0")),
    evaluates(SUM_PERCENT, "2*3+10%", ok("6.6", "6.6", ("+", "0.6"))),
    evaluates(SUM_PERCENT, "200-10%-10%", ok("162", "162", ("-", "18"))),
    evaluates(SUM_PERCENT, "10%+10%", ok("0.11", "0.11", ("+", "0.01"))),
    evaluates(SUM_PERCENT, "-200+10%", ok("-220", "-2.2E+2", ("+", "-2E+1"))),
    evaluates(SUM_PERCENT, "200+0%", ok("200", "2E+2", ("+", "0"))),
    evaluates(SUM_PERCENT, "(200+10%)", ok("220", "2.2E+2")),
    evaluates(SUM_PERCENT, "100+((5+5))%", ok("110", "1.1E+2", ("+", "1E+1"))),
    evaluates(
        SUM_PERCENT,
        "1/3+50%",
        ok(
            "0.5",
            "0.4999999999999999999999999999999999",
            ("+", "0.1666666666666666666666666666666666"),
        ),
    ),
    evaluates(SUM_PERCENT, "1e9999+1000%", OVERFLOW),
    evaluates(NOT_SUM_PERCENT, "200+-10%", ok("199.9", "199.9", ("+", "-0.1"))),
    evaluates(NOT_SUM_PERCENT, "200++10%", ok("200.1", "200.1", ("+", "0.1"))),
    evaluates(NOT_SUM_PERCENT, "200+10%%", ok("200.001", "200.001", ("+", "0.001"))),
    evaluates(NOT_SUM_PERCENT, "200+10%(2)", ok("200.2", "200.2", ("+", "0.2"))),
    evaluates(NOT_SUM_PERCENT, "200+10%2", ok("200.2", "200.2", ("+", "0.2"))),
    evaluates(NOT_SUM_PERCENT, "200+10%/2", ok("200.05", "200.05", ("+", "0.05"))),
    evaluates(NOT_SUM_PERCENT, "200+(10%)", ok("200.1", "200.1", ("+", "0.1"))),
    evaluates(NOT_SUM_PERCENT, "200*10%", ok("20", "2E+1", ("*", "0.1"))),
    evaluates(SYNTAX, "%5", INVALID),
    evaluates(SYNTAX, "5+%", INVALID),
    evaluates(SYNTAX, "(%)", INVALID),
    # --- exponent literals ---
    evaluates(EXPONENT, "2e3", ok("2000", "2E+3")),
    evaluates(EXPONENT, "5.e2", ok("500", "5E+2")),
    evaluates(EXPONENT, ".5e1", ok("5", "5")),
    evaluates(EXPONENT, "1e0001", ok("10", "1E+1")),
    evaluates(EXPONENT, "1e−3", ok("0.001", "0.001")),
    evaluates(EXPONENT, "1.5e+20*2", ok("3e+20", "3E+20", ("*", "2"))),
    evaluates(EXPONENT, "1e9999", ok("1e+9999", "1E+9999")),
    evaluates(EXPONENT, "123456789012345e2", ok("1.23456789012345e+16", "1.23456789012345E+16")),
    evaluates(EXPONENT, "1e10000", INVALID),
    evaluates(EXPONENT, "1e00001", INVALID),
    evaluates(EXPONENT, "1e", INVALID),
    evaluates(EXPONENT, "1e+", INVALID),
    evaluates(EXPONENT, "e5", INVALID),
    evaluates(EXPONENT, "1e5e5", INVALID),
    evaluates(EXPONENT, "1e 5", INVALID),
    evaluates(EXPONENT, "1234567890123456e2", NUMBER_TOO_LONG),
    evaluates(EXPONENT, "1234567890123456e", INVALID),
    # --- at =: trailing operators and open parentheses ---
    evaluates(AT_EQUALS, "2×−", ok("2", "2")),
    evaluates(AT_EQUALS, "(2+3", ok("5", "5")),
    evaluates(AT_EQUALS, "2×(3+(4", ok("14", "14", ("*", "7"))),
    evaluates(AT_EQUALS, "2+", ok("2", "2")),
    evaluates(AT_EQUALS, "(2+", ok("2", "2")),
    evaluates(AT_EQUALS, "2+3 *  ", ok("5", "5", ("+", "3"))),
    evaluates(AT_EQUALS, "5%+", ok("0.05", "0.05")),
    evaluates(AT_EQUALS, "((1", ok("1", "1")),
    evaluates(AT_EQUALS, "2*/", INVALID),
    evaluates(AT_EQUALS, "2(", INVALID),
    evaluates(AT_EQUALS, "2+(", INVALID),
    evaluates(AT_EQUALS, "2+(−", INVALID),
    evaluates(AT_EQUALS, "-", INVALID),
    # --- syntax errors ---
    evaluates(SYNTAX, "2*/3", INVALID),
    evaluates(SYNTAX, "2×÷3", INVALID),
    evaluates(SYNTAX, "2+*3", INVALID),
    evaluates(SYNTAX, "()", INVALID),
    evaluates(SYNTAX, "2+()", INVALID),
    evaluates(SYNTAX, ")", INVALID),
    evaluates(SYNTAX, "2)", INVALID),
    evaluates(SYNTAX, "(2))", INVALID),
    evaluates(SYNTAX, ")(", INVALID),
    evaluates(SYNTAX, "×2", INVALID),
    evaluates(SYNTAX, "÷2", INVALID),
    evaluates(SYNTAX, "%", INVALID),
    evaluates(SYNTAX, "", INVALID),
    evaluates(SYNTAX, "   ", INVALID),
    evaluates(SYNTAX, ".", INVALID),
    evaluates(SYNTAX, "1..2", INVALID),
    evaluates(SYNTAX, "1.2.3", INVALID),
    evaluates(SYNTAX, "2,5", INVALID),
    evaluates(SYNTAX, "2^^3", INVALID),
    evaluates(SYNTAX, "2+3=", INVALID),
    evaluates(SYNTAX, "abc", INVALID),
    evaluates(SYNTAX, "2+😀", INVALID),
    evaluates(SYNTAX, "٣+1", INVALID),
    evaluates(SYNTAX, "2\u200b+1", INVALID),
    evaluates(SYNTAX, "a+1234567890123456", INVALID),
    # --- division by zero; the first arithmetic error from the left wins ---
    evaluates(DIVISION, "1/0", DIVIDE_BY_ZERO),
    evaluates(DIVISION, "-1÷0", DIVIDE_BY_ZERO),
    evaluates(DIVISION, "0/0", UNDEFINED),
    evaluates(DIVISION, "0÷0", UNDEFINED),
    evaluates(DIVISION, "5/(2-2)", DIVIDE_BY_ZERO),
    evaluates(DIVISION, "(1-1)/(2-2)", UNDEFINED),
    evaluates(DIVISION, "0/0+1/0", UNDEFINED),
    evaluates(DIVISION, "1/0+0/0", DIVIDE_BY_ZERO),
    evaluates(DIVISION, "1/0+1e9999*10", DIVIDE_BY_ZERO),
    evaluates(DIVISION, "1e9999*10+1/0", OVERFLOW),
    evaluates(DIVISION, "1e-9999/0", DIVIDE_BY_ZERO),
    evaluates(DIVISION, "0.1e-9999/0", UNDEFINED),
    evaluates(DIVISION, "5/0%", DIVIDE_BY_ZERO),
    # --- overflow at 1e10000, flush to zero below 1e-9999 ---
    evaluates(RANGE, "10e9999", OVERFLOW),
    evaluates(RANGE, "1e9999*10", OVERFLOW),
    evaluates(RANGE, "-1e9999*10", OVERFLOW),
    evaluates(RANGE, "5e9999+5e9999", OVERFLOW),
    evaluates(RANGE, "10/1e-9999", OVERFLOW),
    evaluates(RANGE, "1/1e-9999", ok("1e+9999", "1E+9999", ("/", "1E-9999"))),
    evaluates(RANGE, "1e9999+1e9999", ok("2e+9999", "2E+9999", ("+", "1E+9999"))),
    evaluates(
        RANGE, "9.99999999999999e9999", ok("9.99999999999999e+9999", "9.99999999999999E+9999")
    ),
    evaluates(RANGE, "1e9999-1e-9999", ok("1e+9999", "1E+9999", ("-", "1E-9999"))),
    evaluates(RANGE, "1e-9999", ok("1e-9999", "1E-9999")),
    evaluates(RANGE, "1e-9999/10", ok("0", "0", ("/", "1E+1"))),
    evaluates(RANGE, "-1e-9999/10", ok("0", "0", ("/", "1E+1"))),
    evaluates(RANGE, "0.1e-9999", ok("0", "0")),
    evaluates(RANGE, "1e-5000*1e-5000", ok("0", "0", ("*", "1E-5000"))),
    evaluates(RANGE, "1e-9999*10", ok("1e-9998", "1E-9998", ("*", "1E+1"))),
    evaluates(RANGE, "1.5e-9999-1e-9999", ok("0", "0", ("-", "1E-9999"))),
    evaluates(RANGE, "1e-9999/10+1", ok("1", "1", ("+", "1"))),
    # --- number literals: at most 15 digits, leading zeros not counted ---
    evaluates(LITERAL_LENGTH, "123456789012345", ok("123456789012345", "123456789012345")),
    evaluates(LITERAL_LENGTH, "1234567890123456", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, "123456789012345678", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, "1.000000000000000", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, "100000000000000.0", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, "12345678901234.56", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, "0.000000000000001", ok("1e-15", "1E-15")),
    evaluates(LITERAL_LENGTH, "0000000000000000001", ok("1", "1")),
    evaluates(LITERAL_LENGTH, "1.23456789012345", ok("1.23456789012345", "1.23456789012345")),
    evaluates(LITERAL_LENGTH, "1+1234567890123456", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, "1234567890123456+a", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, "1234567890123456/0", NUMBER_TOO_LONG),
    evaluates(LITERAL_LENGTH, ")+1234567890123456", NUMBER_TOO_LONG),
    # --- at most 256 characters (code points), checked before anything else ---
    evaluates(LENGTH, "1+" * 127 + "11", ok("138", "138", ("+", "11"))),
    evaluates(LENGTH, "1+" * 128 + "1", TOO_LONG),
    evaluates(LENGTH, "a" * 257, TOO_LONG),
    evaluates(LENGTH, " " * 256 + "1", TOO_LONG),
    evaluates(LENGTH, "(" * 300, TOO_LONG),
    evaluates(LENGTH, "😀" * 200, INVALID),
    # --- at most 25 nested parentheses ---
    evaluates(NESTING, "(" * 25 + "1" + ")" * 25, ok("1", "1")),
    evaluates(NESTING, "(" * 25 + "1", ok("1", "1")),
    evaluates(NESTING, "(" * 26 + "1" + ")" * 26, INVALID),
    evaluates(NESTING, "(" * 26 + "1", INVALID),
    evaluates(NESTING, "(1)+" * 30 + "1", ok("31", "31", ("+", "1"))),
    # --- display ---
    evaluates(DISPLAY, "1e-7", ok("0.0000001", "1E-7")),
    evaluates(DISPLAY, "1e-8", ok("1e-8", "1E-8")),
    evaluates(DISPLAY, "1.5e-7", ok("0.00000015", "1.5E-7")),
    evaluates(DISPLAY, "9.99999999999999e-8", ok("9.99999999999999e-8", "9.99999999999999E-8")),
    evaluates(DISPLAY, "1e-7-1e-23", ok("0.0000001", "9.999999999999999E-8", ("-", "1E-23"))),
    evaluates(DISPLAY, "-1e-8", ok("-1e-8", "-1E-8")),
    evaluates(DISPLAY, "1e14", ok("100000000000000", "1E+14")),
    evaluates(DISPLAY, "1e15", ok("1e+15", "1E+15")),
    evaluates(DISPLAY, "-1e15", ok("-1e+15", "-1E+15")),
    evaluates(DISPLAY, "999999999999999", ok("999999999999999", "999999999999999")),
    evaluates(
        DISPLAY, "999999999999999+0.4", ok("999999999999999", "999999999999999.4", ("+", "0.4"))
    ),
    evaluates(DISPLAY, "999999999999999+0.5", ok("1e+15", "999999999999999.5", ("+", "0.5"))),
    evaluates(
        DISPLAY,
        "123456789012345*10",
        ok("1.23456789012345e+15", "1.23456789012345E+15", ("*", "1E+1")),
    ),
    evaluates(DISPLAY, "12345678.9012345", ok("12345678.9012345", "12345678.9012345")),
    evaluates(
        DISPLAY,
        "0.123456789012344+0.0000000000000005",
        ok("0.123456789012345", "0.1234567890123445", ("+", "5E-16")),
    ),
    evaluates(
        DISPLAY,
        "-0.123456789012344-0.0000000000000005",
        ok("-0.123456789012345", "-0.1234567890123445", ("-", "5E-16")),
    ),
    evaluates(
        DISPLAY, "100000000000000+0.5", ok("100000000000001", "100000000000000.5", ("+", "0.5"))
    ),
    evaluates(
        DISPLAY,
        "9.99999999999999e9999+9.99999999999999e9984+9999e9966",
        ok("1e+10000", JUST_UNDER_OVERFLOW, ("+", "9.999E+9969")),
    ),
    evaluates(DISPLAY, "2.50*2", ok("5", "5", ("*", "2"))),
    evaluates(DISPLAY, "1.50", ok("1.5", "1.5")),
    evaluates(DISPLAY, "007", ok("7", "7")),
    evaluates(DISPLAY, "-0", ok("0", "0")),
    evaluates(DISPLAY, "-0.0", ok("0", "0")),
    evaluates(DISPLAY, "0*-1", ok("0", "0", ("*", "-1"))),
    evaluates(DISPLAY, "-(1-1)", ok("0", "0")),
    evaluates(DISPLAY, "-1e-9999/10", ok("0", "0", ("/", "1E+1"))),
    # --- value strings ---
    evaluates(VALUE, "100", ok("100", "1E+2")),
    evaluates(VALUE, "0.000001", ok("0.000001", "0.000001")),
    evaluates(VALUE, "0.0000001", ok("0.0000001", "1E-7")),
    evaluates(VALUE, "1230", ok("1230", "1.23E+3")),
    evaluates(VALUE, "-12.50", ok("-12.5", "-12.5")),
    # --- repeated = ---
    repeats(REPEAT, "2.2E+2", ("+", "2E+1"), ok("240", "2.4E+2", ("+", "2E+1"))),
    repeats(REPEAT, "9", ("-", "3"), ok("6", "6", ("-", "3"))),
    repeats(REPEAT, "2", ("*", "-3"), ok("-6", "-6", ("*", "-3"))),
    repeats(REPEAT, "1", ("/", "3"), ok("0.333333333333333", ONE_THIRD, ("/", "3"))),
    repeats(REPEAT, ONE_THIRD, ("*", "3"), ok("1", NEARLY_ONE, ("*", "3"))),
    repeats(REPEAT, "10", ("/", "0"), DIVIDE_BY_ZERO),
    repeats(REPEAT, "0", ("/", "0"), UNDEFINED),
    repeats(REPEAT, "1E+9999", ("*", "10"), OVERFLOW),
    repeats(REPEAT, "1E-9999", ("/", "10"), ok("0", "0", ("/", "10"))),
    repeats(REPEAT, "abc", ("+", "1"), INVALID),
    repeats(REPEAT, "5", ("+", ""), INVALID),
    repeats(REPEAT, "5", ("+", "NaN"), INVALID),
    repeats(REPEAT, "5", ("+", "1_000"), INVALID),
    # --- continuation after a result ---
    evaluates(
        CARRY, "0.333333333333333×3", ok("0.999999999999999", "0.999999999999999", ("*", "3"))
    ),
    evaluates(
        CARRY,
        "0.333333333333333 ×3",
        ok("1", NEARLY_ONE, ("*", "3")),
        carry=carry("0.333333333333333", ONE_THIRD),
    ),
    evaluates(
        CARRY,
        "0.666666666666667%",
        ok("0.00666666666666667", "0.006666666666666666666666666666666667"),
        carry=carry("0.666666666666667", TWO_THIRDS),
    ),
    evaluates(
        CARRY,
        "-0.333333333333333×3",
        ok("-1", f"-{NEARLY_ONE}", ("*", "3")),
        carry=carry("-0.333333333333333", f"-{ONE_THIRD}"),
    ),
    evaluates(
        CARRY,
        "−0.333333333333333×3",
        ok("-1", f"-{NEARLY_ONE}", ("*", "3")),
        carry=carry("−0.333333333333333", f"-{ONE_THIRD}"),
    ),
    evaluates(
        CARRY,
        "1e−8×3",
        ok("3e-8", "3.000000000000000000000000000000003E-8", ("*", "3")),
        carry=carry("1e−8", "1.000000000000000000000000000000001E-8"),
    ),
    evaluates(
        CARRY,
        "1e+10000-1e9999",
        ok("9e+9999", "8.999999999999999999999999999999999E+9999", ("-", "1E+9999")),
        carry=carry("1e+10000", JUST_UNDER_OVERFLOW),
    ),
    evaluates(CARRY, "1e+10000-1e9999", INVALID),
    evaluates(
        CARRY,
        "0.333333333333333(3)",
        ok("0.999999999999999", "0.999999999999999", ("*", "3")),
        carry=carry("0.333333333333333", ONE_THIRD),
    ),
    evaluates(
        CARRY,
        "0.333333333333333",
        ok("0.333333333333333", "0.333333333333333"),
        carry=carry("0.333333333333333", ONE_THIRD),
    ),
    evaluates(CARRY, "55+1", ok("56", "56", ("+", "1")), carry=carry("5", "5.4")),
    evaluates(CARRY, "1+1", ok("2", "2", ("+", "1")), carry=carry("0.333333333333333", ONE_THIRD)),
    evaluates(CARRY, "abc+1", INVALID, carry=carry("abc", "1")),
    evaluates(CARRY, "5+1", ok("6", "6", ("+", "1")), carry=carry("5", "five")),
    # --- paste ---
    pastes(PASTE, "1,234.56", "1234.56"),
    pastes(PASTE, "1.234,56", "1234.56"),
    pastes(PASTE, "1,234,567", "1234567"),
    pastes(PASTE, "1,5+2", "1.5+2"),
    pastes(PASTE, "1,2345", "1.2345"),
    pastes(PASTE, ",5", ".5"),
    pastes(PASTE, "1,23,456", INVALID),
    pastes(PASTE, "1.234.567", INVALID),
    pastes(PASTE, "1 234 567", "1234567"),
    pastes(PASTE, "1\u00a0234,5", "1234.5"),
    pastes(PASTE, "1\u202f234\u202f567", "1234567"),
    pastes(PASTE, "1'234'567.89", "1234567.89"),
    pastes(PASTE, "1’000", "1000"),
    pastes(PASTE, "1_000_000", "1000000"),
    pastes(PASTE, "1__000", INVALID),
    pastes(PASTE, "'5", INVALID),
    pastes(PASTE, "2 * 3", "2×3"),
    pastes(PASTE, "2x3", "2×3"),
    pastes(PASTE, "2X3", "2×3"),
    pastes(PASTE, "6 / 2", "6÷2"),
    pastes(PASTE, "5 - 3", "5−3"),
    pastes(PASTE, "5 – 3", "5−3"),
    pastes(PASTE, "2*3/4-1", "2×3÷4−1"),
    pastes(PASTE, "(1+2)*3 = ", "(1+2)×3"),
    pastes(PASTE, "2+3=", "2+3"),
    pastes(PASTE, "2+3==", INVALID),
    pastes(PASTE, "=", INVALID),
    pastes(PASTE, "1,234.5 + 1.234,5", "1234.5+1234.5"),
    pastes(PASTE, "1.5e-20", "1.5e−20"),
    pastes(PASTE, "-5", "−5"),
    pastes(PASTE, "2+", "2+"),
    pastes(PASTE, "1/0", "1÷0"),
    pastes(PASTE, "0/0", "0÷0"),
    pastes(PASTE, "1e9999*10", "1e9999×10"),
    pastes(PASTE, "", INVALID),
    pastes(PASTE, " \t\n ", INVALID),
    pastes(PASTE, "2+abc", INVALID),
    pastes(PASTE, "😀", INVALID),
    pastes(PASTE, "2+😀3", INVALID),
    pastes(PASTE, "1234567890123456789012345678901234567890", NUMBER_TOO_LONG),
    pastes(PASTE, "1,234,567,890,123,456", NUMBER_TOO_LONG),
    pastes(PASTE, "1+" * 5000, TOO_LONG),
    pastes(PASTE, "1 " * 5000, TOO_LONG),
    pastes(PASTE, " " * 10_000 + "7", "7"),
    # --- scientific mode: the examples, verbatim ---
    evaluates(SCIENTIFIC, "-2^2", ok("-4", "-4")),
    evaluates(SCIENTIFIC, "2^3^2", ok("512", "512")),
    evaluates(
        SCIENTIFIC,
        "2pi",
        ok("6.28318530717959", "6.283185307179586476925286766559006", ("*", PI_VALUE)),
    ),
    evaluates(SCIENTIFIC, "3sqrt(4)", ok("6", "6", ("*", "2"))),
    evaluates(SCIENTIFIC, "2(3)!", ok("12", "12", ("*", "6"))),
    evaluates(SCIENTIFIC, "sqrt(16)", ok("4", "4")),
    evaluates(SCIENTIFIC, "2^10", ok("1024", "1024")),
    evaluates(SCIENTIFIC, "sin(30)", ok("0.5", "0.5")),
    evaluates(SCIENTIFIC, "tan(45)", ok("1", "1")),
    evaluates(SCIENTIFIC, "cos(90)", ok("0", "0")),
    radians(SCIENTIFIC, "sin(pi)", ok("0", "0")),
    evaluates(SCIENTIFIC, "ln(exp(1))", ok("1", "0.9999999999999999999999999999999998")),
    evaluates(SCIENTIFIC, "log(1000)", ok("3", "3")),
    evaluates(SCIENTIFIC, "sqrt(2)^2", ok("2", "2")),
    evaluates(SCIENTIFIC, "0.1^3", ok("0.001", "0.001")),
    evaluates(SCIENTIFIC, "10!", ok("3628800", "3.6288E+6")),
    evaluates(SCIENTIFIC, "sqrt(-1)", INVALID_INPUT),
    evaluates(SCIENTIFIC, "ln(0)", INVALID_INPUT),
    evaluates(SCIENTIFIC, "log(-5)", INVALID_INPUT),
    evaluates(SCIENTIFIC, "asin(2)", INVALID_INPUT),
    evaluates(SCIENTIFIC, "(-8)^(1/3)", INVALID_INPUT),
    evaluates(SCIENTIFIC, "(-1.5)!", INVALID_INPUT),
    evaluates(SCIENTIFIC, "tan(90)", INVALID_INPUT),
    evaluates(SCIENTIFIC, "0^0", ok("1", "1")),
    evaluates(SCIENTIFIC, "0^-1", DIVIDE_BY_ZERO),
    evaluates(SCIENTIFIC, "10^10000", OVERFLOW),
    evaluates(SCIENTIFIC, "3249!", OVERFLOW),
    evaluates(
        SCIENTIFIC,
        "3000!",
        ok("4.14935960343785e+9130", "4.149359603437854085556867093086612E+9130"),
    ),
    # --- scientific mode: the edges ---
    evaluates(FUNCTIONS, "pi", ok("3.14159265358979", PI_VALUE)),
    evaluates(FUNCTIONS, "exp(1)", ok("2.71828182845905", E_VALUE)),
    evaluates(FUNCTIONS, "ln(2)", ok("0.693147180559945", "0.6931471805599453094172321214581766")),
    evaluates(
        FUNCTIONS, "sin(60)", ok("0.866025403784439", "0.8660254037844386467637231707529362")
    ),
    radians(FUNCTIONS, "sin(1)", ok("0.841470984807897", "0.841470984807896506652502321630299")),
    radians(FUNCTIONS, "asin(1)", ok("1.5707963267949", "1.570796326794896619231321691639751")),
    evaluates(FUNCTIONS, "asin(1)", ok("90", "9E+1")),
    evaluates(FUNCTIONS, "acos(-0.5)", ok("120", "1.2E+2")),
    evaluates(FUNCTIONS, "atan(-1)", ok("-45", "-45")),
    evaluates(FUNCTIONS, "abs(-2.5)", ok("2.5", "2.5")),
    evaluates(FUNCTIONS, "ABS(-2)+Sqrt(9)", ok("5", "5", ("+", "3"))),
    evaluates(FUNCTIONS, "2exp(0)", ok("2", "2", ("*", "1"))),
    evaluates(FUNCTIONS, "4^1.5", ok("8", "8")),
    evaluates(FUNCTIONS, "0.25^0.5", ok("0.5", "0.5")),
    evaluates(FUNCTIONS, "8^(1/3)", ok("2", "2")),
    evaluates(FUNCTIONS, "exp(23026)", OVERFLOW),
    evaluates(FUNCTIONS, "exp(-23030)", ok("0", "0")),
    evaluates(FUNCTIONS, "sqrt(", INVALID),
    evaluates(FUNCTIONS, "sqrt 4", INVALID),
    evaluates(FUNCTIONS, "sine(30)", INVALID),
    evaluates(FUNCTIONS, "sin(30", ok("0.5", "0.5")),
    evaluates(FUNCTIONS, "2^", ok("2", "2")),
    evaluates(FUNCTIONS, "1e", INVALID),
    evaluates(POWERS, "2^-2", ok("0.25", "0.25")),
    evaluates(POWERS, "(-2)^2", ok("4", "4")),
    evaluates(POWERS, "(-2)^3", ok("-8", "-8")),
    evaluates(POWERS, "2^3!", ok("64", "64")),
    evaluates(POWERS, "3!!", ok("720", "7.2E+2")),
    evaluates(POWERS, "2^2^-1", ok("1.4142135623731", "1.414213562373095048801688724209698")),
    evaluates(POWERS, "-3!", ok("-6", "-6")),
    evaluates(POWERS, "0!", ok("1", "1")),
    evaluates(POWERS, "2(3)^2", ok("18", "18", ("*", "9"))),
    evaluates(POWERS, "50%^2", ok("0.25", "0.25")),
    evaluates(DOMAIN, "1.5!", INVALID_INPUT),
    evaluates(DOMAIN, "acos(1.0000001)", INVALID_INPUT),
    evaluates(DOMAIN, "tan(-270)", INVALID_INPUT),
    evaluates(DOMAIN, "1/0+sqrt(-1)", DIVIDE_BY_ZERO),
    evaluates(DOMAIN, "sqrt(-1)+1/0", INVALID_INPUT),
    radians(PI_MULTIPLES, "cos(pi)", ok("-1", "-1")),
    radians(PI_MULTIPLES, "sin(pi/6)", ok("0.5", "0.5")),
    radians(PI_MULTIPLES, "cos(2pi/3)", ok("-0.5", "-0.5")),
    radians(PI_MULTIPLES, "tan(pi/4)", ok("1", "1")),
    radians(PI_MULTIPLES, "sin(-pi)+cos(pi+pi)", ok("1", "1", ("+", "1"))),
    radians(PI_MULTIPLES, "tan(pi/2)", INVALID_INPUT),
    radians(
        PI_MULTIPLES,
        "sin(3.141592653589793238462643383279503)",
        NUMBER_TOO_LONG,
    ),
    radians(
        PI_MULTIPLES,
        "sin(3.14159265358979)",
        ok("3.23846264338328e-15", "3.238462643383279502884197169393714E-15"),
    ),
    evaluates(
        PI_MULTIPLES,
        "sin(pi)",
        ok("0.0548036651487895", "0.05480366514878953088774871353983326"),
    ),
    pastes(SCI_PASTE, "√2", "sqrt(2)"),
    pastes(SCI_PASTE, "2√(9)", "2sqrt(9)"),
    pastes(SCI_PASTE, "√π", "sqrt(pi)"),
    pastes(SCI_PASTE, "2π", "2pi"),
    pastes(SCI_PASTE, "3² + 2³", "3^2+2^3"),
    pastes(SCI_PASTE, "2**10", "2^10"),
    pastes(SCI_PASTE, "SIN(30) x 2", "sin(30)×2"),
    pastes(SCI_PASTE, "2xexp(1)", "2×exp(1)"),
    pastes(SCI_PASTE, "sqrt(-1)", "sqrt(−1)"),
    pastes(SCI_PASTE, "2+foo(3)", INVALID),
    # --- memory keys and formatting of stored values ---
    memory("add", "0.1", "0.2", ok("0.3", "0.3")),
    memory("add", ONE_THIRD, TWO_THIRDS, ok("1", "1")),
    memory("add", "1E+9999", "9E+9999", OVERFLOW),
    memory("add", "abc", "1", INVALID),
    memory("subtract", "0.3", "0.1", ok("0.2", "0.2")),
    memory("subtract", "5", "5", ok("0", "0")),
    memory("subtract", "-1E-9999", "-1E-9999", ok("0", "0")),
    formats(ONE_THIRD, "0.333333333333333"),
    formats("1E+15", "1e+15"),
    formats("2.2E+2", "220"),
    formats("1E-7", "0.0000001"),
    formats("0.1234567890123445", "0.123456789012345"),
    formats(JUST_UNDER_OVERFLOW, "1e+10000"),
    formats("-0", "0"),
    formats("abc", ""),
    formats("", ""),
]


# --- generated expressions -------------------------------------------------------------------

PLUS_MINUS = ("+", "-", "−")
TIMES_DIVIDE = ("*", "×", "/", "÷")
SPACES = (" ", " ", "  ", "\t", "\u00a0", "\u2003")
GARBAGE = ("a", "=", "^", ",", "!", "#", "e", "E", "😀", "٣", "\u200b", "[", "x")


def generate_expressions(seed: int, count: int) -> list[str]:
    """Deterministic random expressions over the whole grammar, some of them invalid."""
    rng = random.Random(seed)
    return [_expression(rng) for _ in range(count)]


def generate_pastes(seed: int, count: int) -> list[str]:
    """Deterministic pasted texts: generated expressions as people would copy them."""
    rng = random.Random(seed)
    return [_paste(rng, _expression(rng)) for _ in range(count)]


def generate_follow_ups(seed: int, results: list[Result]) -> list[Call]:
    """Calls that start from `results`: repeated =, continuation, memory keys, formatting."""
    rng = random.Random(seed)
    values = [result for result in results if result["ok"] is True]
    calls: list[Call] = []
    for result, following in zip(values, values[1:] + values[:1], strict=True):
        display, value = result["display"], result["value"]
        calls.append(Call("formatDisplay", value))
        if result["repeat"] is not None:
            calls.append(Call("applyRepeat", value, repeat=result["repeat"]))
        operator = rng.choice((*PLUS_MINUS, *TIMES_DIVIDE, "%"))
        text = display + _space(rng) + operator + _number(rng)
        calls.append(Call("evaluate", text, carry={"display": display, "value": value}))
        calls.append(Call(rng.choice(("add", "subtract")), value, other=following["value"]))
    return calls


def _expression(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return _invalid(rng)
    if roll < 0.25:
        return _boundary(rng)
    text = _sum(rng, 0)
    while len(text) > 200 and rng.random() < 0.9:  # keep a few over 256 characters
        text = _sum(rng, 0)
    if rng.random() < 0.1:
        text = text.rstrip(")")  # left for = to close
    if rng.random() < 0.08:
        text += rng.choice(("+", "×", "−", "÷", "*", "×−", "+-", " ", "(", "%"))
    return text


def _space(rng: random.Random) -> str:
    return rng.choice(SPACES) if rng.random() < 0.08 else ""


def _sum(rng: random.Random, depth: int) -> str:
    text = _product(rng, depth)
    for _ in range(rng.choice((0, 1, 1, 2, 3) if depth == 0 else (0, 1, 1))):
        text += _space(rng) + rng.choice(PLUS_MINUS) + _space(rng) + _product(rng, depth)
    return text


def _product(rng: random.Random, depth: int) -> str:
    text = _signed(rng, depth)
    for _ in range(rng.choice((0, 0, 1, 1, 2) if depth == 0 else (0, 0, 1))):
        if rng.random() < 0.25:
            text += _space(rng) + _implicit_factor(rng, depth, text)
        else:
            text += _space(rng) + rng.choice(TIMES_DIVIDE) + _space(rng) + _signed(rng, depth)
    return text


def _implicit_factor(rng: random.Random, depth: int, left: str) -> str:
    """A factor that multiplies without ×: "(...)" always, a number after ")" or "%"."""
    if left.endswith((")", "%")) and rng.random() < 0.5:
        return _number(rng) + _percents(rng)
    return f"({_sum(rng, depth + 1)})" + _percents(rng)


def _signed(rng: random.Random, depth: int) -> str:
    signs = "".join(rng.choice(PLUS_MINUS) for _ in range(rng.choice((0, 0, 0, 0, 0, 1, 1, 2))))
    return signs + _primary(rng, depth) + _percents(rng)


def _percents(rng: random.Random) -> str:
    return "%" * rng.choice((0, 0, 0, 0, 0, 1, 1, 2))


def _primary(rng: random.Random, depth: int) -> str:
    if rng.random() < 0.25 / (depth + 1):
        return f"({_sum(rng, depth + 1)})"
    return _number(rng)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.25:
        return str(rng.randint(0, 20))
    if roll < 0.4:
        return str(rng.randint(1, 9)) + _digits(rng, rng.randint(0, 14))
    if roll < 0.65:
        digits = str(rng.randint(1, 9)) + _digits(rng, rng.randint(0, 14))
        point = rng.randint(0, len(digits))
        whole, fraction = digits[:point], digits[point:]
        if not whole and rng.random() < 0.5:  # leading zeros do not count towards 15 digits
            whole, fraction = "0", "0" * rng.choice((1, 3, 8)) + fraction
        return f"{whole}.{fraction}"
    if roll < 0.8:
        mantissa = str(rng.randint(1, 999999))
        if rng.random() < 0.4:
            mantissa = f"{mantissa[0]}.{mantissa[1:]}"
        exponent = rng.choice(
            (rng.randint(0, 30), rng.randint(9980, 9999), rng.randint(4990, 5010))
        )
        sign = rng.choice(("", "+", "-", "-", "−"))
        return f"{mantissa}{rng.choice('eE')}{sign}{exponent:0{rng.randint(1, 4)}d}"
    if roll < 0.9:
        return rng.choice((".5", "5.", "007", "0", "0.0", "1", "2", "3", "7", "100", "0.1"))
    return rng.choice(
        ("999999999999999", "0.999999999999999", "123456789012345", "0.000000000000001")
    )


def _boundary(rng: random.Random) -> str:
    """Expressions aimed at rounding, range and formatting edges."""
    small = rng.randint(1, 9)
    digits14 = _digits(rng, 14)
    choices = (
        f"{rng.randint(1, 99)}/{rng.choice((3, 6, 7, 9, 11, 13, 17, 19, 23, 97, 998001))}",
        f"{rng.randint(1, 9)}/{rng.randint(1, 9)}*{rng.randint(1, 9)}-{rng.randint(1, 9)}",
        f"999999999999999+0.{small}",
        f"-999999999999999-0.{small}",
        f"1e-7-{small}e-{rng.randint(20, 24)}",
        f"9.99999999999999e-8+{small}e-{rng.randint(21, 23)}",
        f"0.{digits14}{small}+0.0000000000000005",
        f"-0.{digits14}{small}-0.0000000000000005",
        f"{small}e33+{rng.randint(0, 9)}.5",
        f"{small}e33-{rng.randint(0, 9)}.5",
        f"{small}e{rng.randint(9990, 9999)}*{rng.randint(1, 9)}e{rng.randint(0, 12)}",
        f"{small}e-{rng.randint(9990, 9999)}/{rng.randint(1, 9)}e{rng.randint(0, 12)}",
        f"1e9999+{small}e-9999",
        f"{small}e-9999-1e9999",
        f"{small}e9999+{small}e9999",
        rng.choice(("0*-5", "-0", "0/5", "-(0)", "0%", "-0%", "0-0", "-0-0")),
        f"{rng.randint(1, 9)}/0",
        f"(1-1)/(2-2)+{small}",
        f"{rng.randint(1, 999)}+{rng.randint(1, 99)}%",
        f"{rng.randint(1, 999)}−({rng.randint(1, 9)}+{rng.randint(1, 9)})%",
    )
    return rng.choice(choices)


def _invalid(rng: random.Random) -> str:
    """A valid-looking expression broken in one of the ways people break them."""
    base = _sum(rng, 0)
    at = rng.randint(0, len(base))
    choices = (
        base[:at] + rng.choice(GARBAGE) + base[at:],
        base[:at] + rng.choice(("*/", "×÷", "+*", "÷%", "()", ")", "..")) + base[at:],
        base + "+" + str(rng.randint(1, 9)) + _digits(rng, 15),
        "(" * 26 + base,
        base + "+1e" + str(rng.randint(10000, 99999)),
        rng.choice(("×", "÷", "%", ")")) + base,
        rng.choice(("", " ", "()", "1 2", "1.2.3", "-", "2*/")),
        (base + "+") * (257 // (len(base) + 1) + 1),
        base[:at] + base[at + 1 :],
    )
    return rng.choice(choices)


def _paste(rng: random.Random, expression: str) -> str:
    """`expression` as copied from elsewhere: ASCII operators, spaces, separators, "="."""
    text = expression
    for unicode, ascii_forms in (("×", "*xX"), ("÷", "/"), ("−", "-–")):
        text = "".join(
            rng.choice(ascii_forms) if c == unicode and rng.random() < 0.7 else c for c in text
        )
    if rng.random() < 0.3:
        text = rng.choice((" ", "\u00a0", "\n")).join(text)
    if rng.random() < 0.3:
        text = text.replace(".", ",") if "," not in text else text
    if rng.random() < 0.3:
        number = str(rng.randint(1000, 10**12))
        grouped = f"{int(number):,}"
        grouped = rng.choice((grouped, grouped.replace(",", "'"), grouped.replace(",", ".")))
        text = f"{grouped}{rng.choice(('.', ','))}{rng.randint(0, 99)}+{text}"
    if rng.random() < 0.3:
        text += rng.choice(("=", " =", "==", " = "))
    return text


# --- generated scientific expressions --------------------------------------------------------

SCI_FUNCTIONS = ("sqrt", "exp", "ln", "log", "abs", "sin", "cos", "tan", "asin", "acos", "atan")
SCI_LITERALS = ("30", "45", "60", "90", "180", "270", "360", "0.5", "1", "2", "10", "0", "1e3")


def generate_scientific_calls(seed: int, count: int) -> list[Call]:
    """Deterministic `evaluate` calls over the scientific grammar (functions, ^, !, pi, implicit
    ×, mixed with + − × ÷ %), half in degrees and half in radians, some of them invalid."""
    rng = random.Random(seed)
    calls = []
    for _ in range(count):
        text = _sci_boundary(rng) if rng.random() < 0.15 else _sci_sum(rng, 0)
        if rng.random() < 0.05:
            text = text.rstrip(")")  # left for = to close
        calls.append(Call("evaluate", text, angle=rng.choice(("deg", "rad"))))
    return calls


def _sci_sum(rng: random.Random, depth: int) -> str:
    text = _sci_product(rng, depth)
    for _ in range(rng.choice((0, 1, 1, 2) if depth == 0 else (0, 0, 1))):
        text += rng.choice(PLUS_MINUS) + _sci_product(rng, depth)
    return text


def _sci_product(rng: random.Random, depth: int) -> str:
    text = _sci_signed(rng, depth)
    for _ in range(rng.choice((0, 1, 1) if depth == 0 else (0, 0, 1))):
        if rng.random() < 0.3:  # implicit ×: 2pi, 3sqrt(4), 2(3)!
            text += rng.choice(("pi", _sci_call(rng, depth), f"({_sci_sum(rng, depth + 1)})"))
        else:
            text += rng.choice(TIMES_DIVIDE) + _sci_signed(rng, depth)
    return text


def _sci_signed(rng: random.Random, depth: int) -> str:
    return rng.choice(("", "", "", "-", "−")) + _sci_power(rng, depth)


def _sci_power(rng: random.Random, depth: int) -> str:
    base = _sci_postfix(rng, depth)
    if rng.random() < 0.2:
        exponent = rng.choice(
            (str(rng.randint(0, 12)), f"-{rng.randint(1, 5)}", _sci_number(rng), "0.5", "(1/3)")
        )
        return f"{base}^{exponent}"
    return base


def _sci_postfix(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if roll < 0.08:
        return f"{rng.randint(0, 25)}!"
    if roll < 0.1:
        return _sci_primary(rng, depth) + "%"
    return _sci_primary(rng, depth)


def _sci_primary(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if roll < 0.45 / (depth + 1):
        return _sci_call(rng, depth)
    if roll < 0.55:
        return rng.choice(("pi", "2pi", "pi/2", "pi/6", "-pi/4", "3pi/2", "pi/7"))
    if roll < 0.6 and depth < 3:
        return f"({_sci_sum(rng, depth + 1)})"
    return _sci_number(rng)


def _sci_call(rng: random.Random, depth: int) -> str:
    name = rng.choice(SCI_FUNCTIONS)
    argument = _sci_sum(rng, depth + 1) if depth < 2 and rng.random() < 0.5 else _sci_number(rng)
    if name in ("asin", "acos") and rng.random() < 0.7:
        argument = rng.choice(("0.5", "-0.5", "1", "-1", "0", "0.3", "-0.99", "0.123456789"))
    return f"{name}({argument})"


def _sci_number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(SCI_LITERALS)
    if roll < 0.6:
        return str(rng.randint(1, 1000))
    if roll < 0.85:
        digits = str(rng.randint(1, 9)) + _digits(rng, rng.randint(0, 14))
        point = rng.randint(0, len(digits))
        return f"{digits[:point] or '0'}.{digits[point:] or '0'}"
    return f"{rng.randint(1, 9)}e{rng.choice(('-', ''))}{rng.randint(1, 40)}"


def _sci_boundary(rng: random.Random) -> str:
    """Scientific expressions aimed at exact cases, domains and the range."""
    n = rng.randint(1, 9)
    trig, inverse = rng.choice(("sin", "cos", "tan")), rng.choice(("asin", "acos", "atan"))
    choices = (
        f"sqrt({n * n})",
        f"sqrt({n})^2",
        f"{n}^{rng.randint(10, 60)}",
        f"{n}^-{rng.randint(1, 40)}",
        f"0.{n}^{rng.randint(2, 9)}",
        f"{n * n}^0.5",
        f"{n}^1.5",
        f"10^{rng.randint(9990, 10010)}",
        f"{rng.randint(3240, 3260)}!",
        f"{rng.randint(100, 500)}!",
        f"exp({rng.choice((23025, 23026, -23025, -23030, 0, 1))})",
        f"ln(exp({n}))",
        f"log({10 ** rng.randint(0, 12)})",
        f"log(1e-{rng.randint(1, 30)})",
        f"{trig}({30 * rng.randint(-24, 24)})",
        f"{trig}({45 * rng.randint(-16, 16)})",
        f"{trig}({rng.randint(-12, 12)}pi/{rng.choice((1, 2, 3, 4, 6))})",
        f"{inverse}({rng.choice(('0', '0.5', '-0.5', '1', '-1', '2'))})",
        rng.choice(("sqrt(-1)", "ln(0)", "log(-5)", "(-8)^(1/3)", "(-1.5)!", "0^-1", "0^0")),
        f"{trig}(1e{rng.randint(5, 300)})",
    )
    return rng.choice(choices)


def generate_scientific_pastes(seed: int, count: int) -> list[str]:
    """Scientific expressions as people copy them: π, √, ², upper case, ASCII operators."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        text = _sci_sum(rng, 0)
        for canonical, symbol in (("pi", "π"), ("sqrt(", "√("), ("^2", "²"), ("^", "**")):
            if rng.random() < 0.25:
                text = text.replace(canonical, symbol)
        texts.append(_paste(rng, text.upper() if rng.random() < 0.15 else text))
    return texts
