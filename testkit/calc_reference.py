"""Reference implementation of the calculator spec on Python's `decimal` module.

The browser engine (`pwa/js/calc.js`, exact arithmetic on BigInt) must give the same answer
as this module for every input: `e2e/test_engine.py` compares them on the spec's cases and on
thousands of generated expressions. The parser mirrors the engine's (the grammar is ours), but
the arithmetic, rounding and number formatting are the standard library's: `Context(prec=34,
ROUND_HALF_EVEN)` for every + - * /, `ROUND_HALF_UP` to 15 digits for the display,
`str(d.normalize())` for full-precision values. The scientific functions are
`testkit/calc_sci.py` (the twin of `pwa/js/sci-math.js`). Pure functions, no I/O; results are
plain dicts shaped exactly like the engine's JSON.

Over 400 lines: a whole calculator (tokenizer, parser, evaluator, formatting) kept in one
module like the engine it mirrors, so that the two read side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction
from typing import Final, Literal, TypedDict

from testkit import calc_sci as sci
from testkit.calc_sci import AngleUnit

ENGINE_VERSION: Final = 2

Operator = Literal["+", "-", "*", "/"]
ErrorMessage = Literal[
    "Cannot divide by zero",
    "Result is undefined",
    "Overflow",
    "Invalid expression",
    "Number too long",
    "Expression too long",
    "Invalid input",
]

DIVIDE_BY_ZERO: Final = "Cannot divide by zero"
UNDEFINED: Final = "Result is undefined"
OVERFLOW: Final = "Overflow"
INVALID: Final = "Invalid expression"
NUMBER_TOO_LONG: Final = "Number too long"
TOO_LONG: Final = "Expression too long"
INVALID_INPUT: Final = "Invalid input"
ARITHMETIC_ERRORS: Final[frozenset[ErrorMessage]] = frozenset(
    {DIVIDE_BY_ZERO, UNDEFINED, OVERFLOW, INVALID_INPUT}
)


class Repeat(TypedDict):
    operator: Operator
    operand: str


class Success(TypedDict):
    ok: Literal[True]
    display: str
    value: str
    repeat: Repeat | None


class Failure(TypedDict):
    ok: Literal[False]
    error: ErrorMessage


Result = Success | Failure


class Carry(TypedDict):
    display: str
    value: str


class PasteSuccess(TypedDict):
    ok: Literal[True]
    expression: str


PasteResult = PasteSuccess | Failure

MAX_LENGTH: Final = 256
MAX_NESTING: Final = 25
MAX_LITERAL_DIGITS: Final = 15
MAX_EXPONENT_DIGITS: Final = 4
OVERFLOW_EXPONENT: Final = 10000  # |x| >= 1e10000 overflows (adjusted exponents)
UNDERFLOW_EXPONENT: Final = -9999  # a nonzero |x| < 1e-9999 flushes to 0

# Exponent limits far beyond the spec's range, so that the context never traps or goes
# subnormal; the range rule is applied by hand after every step.
CONTEXT: Final = Context(
    prec=34,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    capitals=1,
    clamp=0,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
DISPLAY_CONTEXT: Final = Context(
    prec=15,
    rounding=ROUND_HALF_UP,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    capitals=1,
    clamp=0,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
HUNDRED: Final = Decimal(100)

# JavaScript's \s, spelled out (Python's str.isspace differs on a few characters).
WHITESPACE: Final = frozenset(
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
OPERATORS: Final[dict[str, Operator]] = {
    "+": "+",
    "-": "-",
    "\u2212": "-",
    "*": "*",
    "\u00d7": "*",
    "/": "/",
    "\u00f7": "/",
}
# An "e" without digits after it is not an exponent: "2exp(1)" is 2 times exp(1).
NUMBER_PATTERN: Final = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([+\-\u2212]?)([0-9]+))?")
NAME_PATTERN: Final = re.compile(r"[a-zA-Z]+")
FUNCTIONS: Final = frozenset(
    {"sqrt", "exp", "ln", "log", "abs", "sin", "cos", "tan", "asin", "acos", "atan"}
)
TRIGONOMETRIC: Final = frozenset({"sin", "cos", "tan", "asin", "acos", "atan"})
VALUE_PATTERN: Final = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,6}))?")
# A display string, also in expression form: either minus may be U+2212, as the UI shows it.
DISPLAY_PATTERN: Final = re.compile(r"[-\u2212]?[0-9]+(?:\.[0-9]+)?(?:e[+\-\u2212][0-9]+)?")


class CalcError(Exception):
    def __init__(self, message: ErrorMessage) -> None:
        super().__init__(message)
        self.message: ErrorMessage = message


# --- numbers ---------------------------------------------------------------------------------


def check_range(value: Decimal) -> Decimal:
    if value.is_zero():
        return value
    if value.adjusted() >= OVERFLOW_EXPONENT:
        raise CalcError(OVERFLOW)
    return Decimal(0) if value.adjusted() < UNDERFLOW_EXPONENT else value


def operate(operator: Operator, left: Decimal, right: Decimal) -> Decimal:
    match operator:
        case "+":
            return check_range(CONTEXT.add(left, right))
        case "-":
            return check_range(CONTEXT.subtract(left, right))
        case "*":
            return check_range(CONTEXT.multiply(left, right))
        case "/":
            if right.is_zero():
                raise CalcError(UNDEFINED if left.is_zero() else DIVIDE_BY_ZERO)
            return check_range(CONTEXT.divide(left, right))


def percent_of(value: Decimal) -> Decimal:
    return check_range(CONTEXT.divide(value, HUNDRED))


def parse_value(text: object) -> Decimal | None:
    """A value string rounded to 34 digits, or None when `text` is not a decimal number."""
    match = VALUE_PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None or not (match[2] or match[3]):
        return None
    sign, whole, fraction, exponent = match[1], match[2], match[3] or "", match[4] or "0"
    return CONTEXT.create_decimal(f"{sign}{whole or '0'}.{fraction or '0'}E{exponent}")


def value_string(value: Decimal) -> str:
    if value.is_zero():
        return "0"
    return CONTEXT.to_sci_string(CONTEXT.normalize(value))


def display_string(value: Decimal) -> str:
    rounded = DISPLAY_CONTEXT.normalize(DISPLAY_CONTEXT.plus(value))
    if rounded.is_zero():
        return "0"
    fixed = -7 <= rounded.adjusted() < 15
    return format(rounded, "f" if fixed else "e")


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberToken:
    value: Decimal


@dataclass(frozen=True)
class OperatorToken:
    operator: Operator


@dataclass(frozen=True)
class SymbolToken:
    symbol: Literal["%", "(", ")", "^", "!", "pi"]


@dataclass(frozen=True)
class FunctionToken:
    name: str


Token = NumberToken | OperatorToken | SymbolToken | FunctionToken
OPEN: Final = SymbolToken("(")
CLOSE: Final = SymbolToken(")")
PERCENT: Final = SymbolToken("%")
POWER: Final = SymbolToken("^")
FACTORIAL: Final = SymbolToken("!")
PI: Final = SymbolToken("pi")
SYMBOLS: Final = {"%": PERCENT, "(": OPEN, ")": CLOSE, "^": POWER, "!": FACTORIAL}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if "0" <= char <= "9" or char == ".":
            token, position = read_number(text, position)
            tokens.append(token)
            continue
        if name := NAME_PATTERN.match(text, position):
            tokens.append(name_token(name[0].lower()))
            position = name.end()
            continue
        if char in OPERATORS:
            tokens.append(OperatorToken(OPERATORS[char]))
        elif char in SYMBOLS:
            tokens.append(SYMBOLS[char])
        elif char not in WHITESPACE:
            raise CalcError(INVALID)
        position += 1
    return tokens


def name_token(name: str) -> Token:
    """A function name or the constant pi; any other word is an error."""
    if name in FUNCTIONS:
        return FunctionToken(name)
    if name == "pi":
        return PI
    raise CalcError(INVALID)


def read_number(text: str, start: int) -> tuple[NumberToken, int]:
    """The literal at `start` and where it ends: its syntax first, then its length."""
    match = NUMBER_PATTERN.match(text, start)
    assert match is not None  # every group is optional
    whole, fraction, exponent_sign, exponent_digits = match[1], match[2] or "", match[3], match[4]
    if not whole and not fraction:
        raise CalcError(INVALID)
    if exponent_sign is not None and len(exponent_digits) > MAX_EXPONENT_DIGITS:
        raise CalcError(INVALID)
    name = NAME_PATTERN.match(text, match.end())
    if exponent_sign is None and name and name[0][0] in "eE" and name[0].lower() not in FUNCTIONS:
        raise CalcError(INVALID)  # an "e" that starts no function name: an exponent without digits
    if len((whole + fraction).lstrip("0")) > MAX_LITERAL_DIGITS:
        raise CalcError(NUMBER_TOO_LONG)
    exponent = 0
    if exponent_sign is not None:
        exponent = int(exponent_digits) * (-1 if exponent_sign in ("-", "\u2212") else 1)
    value = Decimal(f"{whole or '0'}.{fraction or '0'}E{exponent}")
    return NumberToken(value), match.end()


def carried_value(text: str, carry: Carry | None) -> Decimal | None:
    """carry.value when `text` is carry.display followed by (whitespace and) an operator or one
    of % ^ !."""
    if carry is None:
        return None
    display, value = carry.get("display"), carry.get("value")
    if not isinstance(display, str) or DISPLAY_PATTERN.fullmatch(display) is None:
        return None
    if not text.startswith(display):
        return None
    rest = text[len(display) :].lstrip("".join(WHITESPACE))
    if not rest or (rest[0] not in OPERATORS and rest[0] not in "%^!"):
        return None
    return parse_value(value)


def tokenize_with_carry(text: str, carry: Carry | None) -> list[Token]:
    carried = carried_value(text, carry)
    if carried is None or carry is None:
        return tokenize(text)
    return [NumberToken(carried), *tokenize(text[len(carry["display"]) :])]


def is_sign(token: Token) -> bool:
    return isinstance(token, OperatorToken) and token.operator in ("+", "-")


def complete_at_equals(tokens: list[Token]) -> list[Token]:
    """Drop a trailing binary operator (+ - * / ^) and the signs after it, then close open
    parentheses."""
    run_start = len(tokens)
    while run_start > 0 and (
        isinstance(tokens[run_start - 1], OperatorToken) or tokens[run_start - 1] == POWER
    ):
        run_start -= 1
    # `2*/` has two binary operators in a row: an error, even at the end.
    kept = tokens[:run_start] if all(map(is_sign, tokens[run_start + 1 :])) else tokens
    depth = sum((t == OPEN) - (t == CLOSE) for t in kept)
    return kept + [CLOSE] * max(depth, 0)


# --- syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: Decimal


@dataclass(frozen=True)
class Group:
    inner: Node


@dataclass(frozen=True)
class Pi:
    pass


@dataclass(frozen=True)
class Call:
    name: str
    argument: Node


@dataclass(frozen=True)
class Factorial:
    operand: Node


@dataclass(frozen=True)
class Power:
    base: Node
    exponent: Node


@dataclass(frozen=True)
class Sign:
    operator: Literal["+", "-"]
    operand: Node


@dataclass(frozen=True)
class Percent:
    operand: Node


@dataclass(frozen=True)
class Binary:
    operator: Operator
    left: Node
    right: Node


Node = Number | Pi | Group | Call | Sign | Percent | Factorial | Power | Binary


class Parser:
    """Recursive descent, tightest first: primary (numbers, pi, groups, calls), postfix % and !,
    ^ (right-associative, its exponent may carry signs), signs, * / and implicit *, binary + -.
    Any syntax problem is an Invalid expression."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    def parse(self) -> Node:
        tree = self.sum()
        if self.position < len(self.tokens):
            raise CalcError(INVALID)
        return tree

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next(self) -> Token | None:
        token = self.peek()
        self.position += 1
        return token

    def take_operator(self, *operators: Operator) -> Operator | None:
        token = self.peek()
        if isinstance(token, OperatorToken) and token.operator in operators:
            self.position += 1
            return token.operator
        return None

    def sum(self) -> Node:
        node = self.product()
        while operator := self.take_operator("+", "-"):
            node = Binary(operator, node, self.product())
        return node

    def product(self) -> Node:
        node = self.signed()
        while True:
            if operator := self.take_operator("*", "/"):
                node = Binary(operator, node, self.signed())
            elif self.at_implicit_factor():
                node = Binary("*", node, self.power())
            else:
                return node

    def at_implicit_factor(self) -> bool:
        token = self.peek()
        if token in (OPEN, PI) or isinstance(token, FunctionToken):
            return True
        previous = self.tokens[self.position - 1]
        return isinstance(token, NumberToken) and previous in (CLOSE, PERCENT, FACTORIAL, PI)

    def take_sign(self) -> Literal["+", "-"] | None:
        operator = self.take_operator("+", "-")
        return None if operator is None else "+" if operator == "+" else "-"

    def signed(self) -> Node:
        if sign := self.take_sign():
            return Sign(sign, self.signed())
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.peek() != POWER:
            return base
        self.position += 1
        return Power(base, self.exponent())

    def exponent(self) -> Node:
        if sign := self.take_sign():
            return Sign(sign, self.exponent())
        return self.power()

    def postfix(self) -> Node:
        node = self.primary()
        while (token := self.peek()) in (PERCENT, FACTORIAL):
            self.position += 1
            node = Percent(node) if token == PERCENT else Factorial(node)
        return node

    def primary(self) -> Node:
        token = self.next()
        if isinstance(token, NumberToken):
            return Number(token.value)
        if token == PI:
            return Pi()
        if isinstance(token, FunctionToken):
            if self.peek() != OPEN:
                raise CalcError(INVALID)
            group = self.primary()
            assert isinstance(group, Group)
            return Call(token.name, group.inner)
        if token != OPEN:
            raise CalcError(INVALID)
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise CalcError(INVALID)
        inner = self.sum()
        if self.next() != CLOSE:
            raise CalcError(INVALID)
        self.depth -= 1
        return Group(inner)


# --- evaluation ------------------------------------------------------------------------------


def evaluate_node(node: Node, angle: AngleUnit) -> Decimal:
    match node:
        case Number(value):
            return check_range(value)
        case Pi():
            return sci.PI
        case Group(inner):
            return evaluate_node(inner, angle)
        case Call(name, argument):
            return check_range(call_function(name, argument, evaluate_node(argument, angle), angle))
        case Sign(operator, operand):
            value = evaluate_node(operand, angle)
            return CONTEXT.minus(value) if operator == "-" else value
        case Percent(operand):
            return percent_of(evaluate_node(operand, angle))
        case Factorial(operand):
            return check_range(sci.factorial(evaluate_node(operand, angle)))
        case Power(base, exponent):
            x = evaluate_node(base, angle)
            return check_range(sci.power(x, evaluate_node(exponent, angle)))
        case Binary():
            return evaluate_binary(node, angle)[0]


def call_function(name: str, argument: Node, x: Decimal, angle: AngleUnit) -> Decimal:
    match name:
        case "sqrt":
            return sci.sqrt(x)
        case "exp":
            return sci.exp(x)
        case "ln":
            return sci.ln(x)
        case "log":
            return sci.log10(x)
        case "abs":
            return x.copy_abs()
        case "sin" | "cos" | "tan":
            trig = {"sin": sci.sin, "cos": sci.cos, "tan": sci.tan}[name]
            return trig(x, angle, pi_multiple(argument) if angle == "rad" else None)
        case _:
            inverse = {"asin": sci.asin, "acos": sci.acos, "atan": sci.atan}[name]
            return inverse(x, angle)


def is_sum_percent(node: Binary) -> bool:
    """`left ± p%` with nothing else on the term: p percent of left (`200+10%` = 220)."""
    right = node.right
    return (
        node.operator in ("+", "-")
        and isinstance(right, Percent)
        and isinstance(right.operand, Number | Group)
    )


def evaluate_binary(node: Binary, angle: AngleUnit) -> tuple[Decimal, Decimal]:
    """The value and the evaluated right operand; `left ± p%` takes p percent of left."""
    left = evaluate_node(node.left, angle)
    right = node.right
    if is_sum_percent(node):
        assert isinstance(right, Percent)
        rate = percent_of(evaluate_node(right.operand, angle))
        amount = check_range(CONTEXT.multiply(left, rate))
        return operate(node.operator, left, amount), amount
    operand = evaluate_node(right, angle)
    return operate(node.operator, left, operand), operand


# --- multiples of pi: sin(pi) is exactly 0 (see calc.js for the rule) ----------------------


def combine(operator: Operator, a: Fraction, b: Fraction) -> Fraction | None:
    match operator:
        case "+":
            return a + b
        case "-":
            return a - b
        case "*":
            return a * b
        case "/":
            return None if b == 0 else a / b


def exact_ratio(node: Node) -> Fraction | None:
    """The exact value of literals combined with + - * /, %, signs and groups; else None."""
    match node:
        case Number(value):
            return Fraction(value)
        case Group(inner):
            return exact_ratio(inner)
        case Sign(operator, operand):
            ratio = exact_ratio(operand)
            return None if ratio is None else -ratio if operator == "-" else ratio
        case Percent(operand):
            ratio = exact_ratio(operand)
            return None if ratio is None else ratio / 100
        case Binary(operator, left, right) if not is_sum_percent(node):
            a, b = exact_ratio(left), exact_ratio(right)
            return None if a is None or b is None else combine(operator, a, b)
        case _:
            return None


def pi_multiple(node: Node) -> Fraction | None:
    """The exact multiple of pi a node is written as (pi/6 -> 1/6), or None."""
    match node:
        case Pi():
            return Fraction(1)
        case Group(inner):
            return pi_multiple(inner)
        case Sign(operator, operand):
            ratio = pi_multiple(operand)
            return None if ratio is None else -ratio if operator == "-" else ratio
        case Binary(operator, left, right) if not is_sum_percent(node):
            if operator in ("+", "-"):
                a, b = pi_multiple(left), pi_multiple(right)
            elif (a := pi_multiple(left)) is not None:
                b = exact_ratio(right)
            else:
                a, b = (exact_ratio(left), pi_multiple(right)) if operator == "*" else (None, None)
            return None if a is None or b is None else combine(operator, a, b)
        case _:
            return None


def success(value: Decimal, repeat: Repeat | None) -> Success:
    return {
        "ok": True,
        "display": display_string(value),
        "value": value_string(value),
        "repeat": repeat,
    }


def failure(error: ErrorMessage) -> Failure:
    return {"ok": False, "error": error}


def evaluate_tree(tree: Node, angle: AngleUnit) -> Success:
    if not isinstance(tree, Binary):
        return success(evaluate_node(tree, angle), None)
    value, operand = evaluate_binary(tree, angle)
    return success(value, {"operator": tree.operator, "operand": value_string(operand)})


def parse_operand(text: object) -> Decimal:
    value = parse_value(text)
    if value is None:
        raise CalcError(INVALID)
    return check_range(value)


# --- public API ------------------------------------------------------------------------------


def evaluate(text: str, carry: Carry | None = None, angle: AngleUnit = "deg") -> Result:
    """The result of `=` on `text`, continuing from `carry` (the previous result) if given;
    trigonometric functions in `angle` units."""
    try:
        if len(text) > MAX_LENGTH:
            raise CalcError(TOO_LONG)
        tokens = complete_at_equals(tokenize_with_carry(text, carry))
        return evaluate_tree(Parser(tokens).parse(), angle)
    except CalcError as error:
        return failure(error.message)
    except sci.MathError as error:
        return failure(error.message)


def uses_angle_unit(text: str) -> bool:
    """Does the expression call a trigonometric function (False when it does not tokenize)?"""
    try:
        tokens = tokenize(text)
    except CalcError:
        return False
    return any(isinstance(t, FunctionToken) and t.name in TRIGONOMETRIC for t in tokens)


def apply_repeat(value: str, repeat: Repeat) -> Result:
    """Repeated `=`: `value <operator> operand`, carrying the same repeat."""
    operator = repeat.get("operator")
    try:
        if operator not in ("+", "-", "*", "/"):
            raise CalcError(INVALID)
        result = operate(operator, parse_operand(value), parse_operand(repeat.get("operand")))
        return success(result, {"operator": operator, "operand": repeat["operand"]})
    except CalcError as error:
        return failure(error.message)


def add(a: str, b: str) -> Result:
    try:
        return success(operate("+", parse_operand(a), parse_operand(b)), None)
    except CalcError as error:
        return failure(error.message)


def subtract(a: str, b: str) -> Result:
    try:
        return success(operate("-", parse_operand(a), parse_operand(b)), None)
    except CalcError as error:
        return failure(error.message)


def format_display(value: str) -> str:
    """The display string of a value string; "" when it is not a decimal number."""
    parsed = parse_value(value)
    return "" if parsed is None else display_string(parsed)


PASTE_OPERATORS: Final = str.maketrans(
    {"*": "\u00d7", "/": "\u00f7", "-": "\u2212", "\u2013": "\u2212"}
)
# √ before a number or pi takes it as its argument; √( is sqrt(.
PASTED_ROOT: Final = re.compile(r"\u221a(?:([0-9.]+(?:[eE][+\-\u2212]?[0-9]+)?)|(pi|\u03c0))")
SUPERSCRIPTS: Final = str.maketrans({"\u00b2": "^2", "\u00b3": "^3"})


def normalize_number(run: str) -> str:
    """A run of digits, "." and ",": thousands separators dropped, the decimal mark "."."""
    if "." in run and "," in run:
        last_mark = max(run.rfind("."), run.rfind(","))
        return run[:last_mark].replace(".", "").replace(",", "") + "." + run[last_mark + 1 :]
    if "," not in run:
        return run
    first, *groups = run.split(",")
    # A leading comma is not between digit groups: ",500" is 0.5, not 500.
    if first and all(len(group) == 3 for group in groups):
        return run.replace(",", "")
    return f"{first}.{groups[0]}" if len(groups) == 1 else run


def normalize_word(word: str) -> str:
    """A run of letters: a function name or pi in lower case; x or X before one (or alone) is *."""
    lower = word.lower()
    if lower in ("", "pi") or lower in FUNCTIONS:
        return lower
    return "\u00d7" + normalize_word(word[1:]) if lower[0] == "x" else word


def normalize_symbols(expression: str) -> str:
    """The scientific symbols as the engine spells them: π pi, ² ^2, √2 sqrt(2), √( sqrt(."""
    expression = PASTED_ROOT.sub(lambda match: f"sqrt({match[1] or 'pi'})", expression)
    expression = expression.replace("\u221a(", "sqrt(").replace("\u03c0", "pi")
    return expression.replace("**", "^").translate(SUPERSCRIPTS)


def normalize_paste(text: str) -> PasteResult:
    """Pasted text as an expression (separators, operators, a trailing "=" normalised)."""
    expression = "".join(char for char in text if char not in WHITESPACE)
    expression = re.sub(r"(?<=[0-9])['\u2019_](?=[0-9])", "", expression)
    expression = re.sub(r"[0-9.,]+", lambda match: normalize_number(match[0]), expression)
    expression = NAME_PATTERN.sub(
        lambda match: normalize_word(match[0]), normalize_symbols(expression)
    )
    expression = expression.translate(PASTE_OPERATORS).removesuffix("=")
    result = evaluate(expression)
    if result["ok"] or result["error"] in ARITHMETIC_ERRORS:
        return {"ok": True, "expression": expression}
    return result
