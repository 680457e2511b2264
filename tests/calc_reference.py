"""Reference implementation of the calculator spec on Python's `decimal` module.

The browser engine (`pwa/js/engine.js`, exact arithmetic on BigInt) must give the same answer
as this module for every input: `e2e/test_engine.py` compares them on the spec's cases and on
thousands of generated expressions. The parser mirrors the engine's (the grammar is ours), but
the arithmetic, rounding and number formatting are the standard library's: `Context(prec=34,
ROUND_HALF_EVEN)` for every + - * /, `ROUND_HALF_UP` to 15 digits for the display,
`str(d.normalize())` for full-precision values. Pure functions, no I/O; results are plain
dicts shaped exactly like the engine's JSON.
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
from typing import Final, Literal, TypedDict

ENGINE_VERSION: Final = 1

Operator = Literal["+", "-", "*", "/"]
ErrorMessage = Literal[
    "Cannot divide by zero",
    "Result is undefined",
    "Overflow",
    "Invalid expression",
    "Number too long",
    "Expression too long",
]

DIVIDE_BY_ZERO: Final = "Cannot divide by zero"
UNDEFINED: Final = "Result is undefined"
OVERFLOW: Final = "Overflow"
INVALID: Final = "Invalid expression"
NUMBER_TOO_LONG: Final = "Number too long"
TOO_LONG: Final = "Expression too long"
ARITHMETIC_ERRORS: Final[frozenset[ErrorMessage]] = frozenset({DIVIDE_BY_ZERO, UNDEFINED, OVERFLOW})


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
NUMBER_PATTERN: Final = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([+\-\u2212]?)([0-9]*))?")
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
    symbol: Literal["%", "(", ")"]


Token = NumberToken | OperatorToken | SymbolToken
OPEN: Final = SymbolToken("(")
CLOSE: Final = SymbolToken(")")
PERCENT: Final = SymbolToken("%")
SYMBOLS: Final = {"%": PERCENT, "(": OPEN, ")": CLOSE}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if "0" <= char <= "9" or char == ".":
            token, position = read_number(text, position)
            tokens.append(token)
            continue
        if char in OPERATORS:
            tokens.append(OperatorToken(OPERATORS[char]))
        elif char in SYMBOLS:
            tokens.append(SYMBOLS[char])
        elif char not in WHITESPACE:
            raise CalcError(INVALID)
        position += 1
    return tokens


def read_number(text: str, start: int) -> tuple[NumberToken, int]:
    """The literal at `start` and where it ends: its syntax first, then its length."""
    match = NUMBER_PATTERN.match(text, start)
    assert match is not None  # every group is optional
    whole, fraction, exponent_sign, exponent_digits = match[1], match[2] or "", match[3], match[4]
    if not whole and not fraction:
        raise CalcError(INVALID)
    if exponent_sign is not None and not 1 <= len(exponent_digits) <= MAX_EXPONENT_DIGITS:
        raise CalcError(INVALID)
    if len((whole + fraction).lstrip("0")) > MAX_LITERAL_DIGITS:
        raise CalcError(NUMBER_TOO_LONG)
    exponent = 0
    if exponent_sign is not None:
        exponent = int(exponent_digits) * (-1 if exponent_sign in ("-", "\u2212") else 1)
    value = Decimal(f"{whole or '0'}.{fraction or '0'}E{exponent}")
    return NumberToken(value), match.end()


def carried_value(text: str, carry: Carry | None) -> Decimal | None:
    """carry.value when `text` is carry.display followed by (whitespace and) an operator or %."""
    if carry is None:
        return None
    display, value = carry.get("display"), carry.get("value")
    if not isinstance(display, str) or DISPLAY_PATTERN.fullmatch(display) is None:
        return None
    if not text.startswith(display):
        return None
    rest = text[len(display) :].lstrip("".join(WHITESPACE))
    if not rest or (rest[0] not in OPERATORS and rest[0] != "%"):
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
    """Drop a trailing binary operator and the signs after it, then close open parentheses."""
    run_start = len(tokens)
    while run_start > 0 and isinstance(tokens[run_start - 1], OperatorToken):
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


Node = Number | Group | Sign | Percent | Binary


class Parser:
    """Recursive descent, tightest first: primary, postfix %, signs, * / and implicit *,
    binary + -. Any syntax problem is an Invalid expression."""

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
                node = Binary("*", node, self.postfix())
            else:
                return node

    def at_implicit_factor(self) -> bool:
        token = self.peek()
        if token == OPEN:
            return True
        previous = self.tokens[self.position - 1]
        return isinstance(token, NumberToken) and previous in (CLOSE, PERCENT)

    def signed(self) -> Node:
        token = self.peek()
        if isinstance(token, OperatorToken) and token.operator in ("+", "-"):
            self.position += 1
            return Sign("+" if token.operator == "+" else "-", self.signed())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while self.peek() == PERCENT:
            self.position += 1
            node = Percent(node)
        return node

    def primary(self) -> Node:
        token = self.next()
        if isinstance(token, NumberToken):
            return Number(token.value)
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


def evaluate_node(node: Node) -> Decimal:
    match node:
        case Number(value):
            return check_range(value)
        case Group(inner):
            return evaluate_node(inner)
        case Sign(operator, operand):
            value = evaluate_node(operand)
            return CONTEXT.minus(value) if operator == "-" else value
        case Percent(operand):
            return percent_of(evaluate_node(operand))
        case Binary():
            return evaluate_binary(node)[0]


def evaluate_binary(node: Binary) -> tuple[Decimal, Decimal]:
    """The value and the evaluated right operand; `left ± p%` takes p percent of left."""
    left = evaluate_node(node.left)
    right = node.right
    if (
        node.operator in ("+", "-")
        and isinstance(right, Percent)
        and isinstance(right.operand, Number | Group)
    ):
        rate = percent_of(evaluate_node(right.operand))
        amount = check_range(CONTEXT.multiply(left, rate))
        return operate(node.operator, left, amount), amount
    operand = evaluate_node(right)
    return operate(node.operator, left, operand), operand


def success(value: Decimal, repeat: Repeat | None) -> Success:
    return {
        "ok": True,
        "display": display_string(value),
        "value": value_string(value),
        "repeat": repeat,
    }


def failure(error: ErrorMessage) -> Failure:
    return {"ok": False, "error": error}


def evaluate_tree(tree: Node) -> Success:
    if not isinstance(tree, Binary):
        return success(evaluate_node(tree), None)
    value, operand = evaluate_binary(tree)
    return success(value, {"operator": tree.operator, "operand": value_string(operand)})


def parse_operand(text: object) -> Decimal:
    value = parse_value(text)
    if value is None:
        raise CalcError(INVALID)
    return check_range(value)


# --- public API ------------------------------------------------------------------------------


def evaluate(text: str, carry: Carry | None = None) -> Result:
    """The result of `=` on `text`, continuing from `carry` (the previous result) if given."""
    try:
        if len(text) > MAX_LENGTH:
            raise CalcError(TOO_LONG)
        tokens = complete_at_equals(tokenize_with_carry(text, carry))
        return evaluate_tree(Parser(tokens).parse())
    except CalcError as error:
        return failure(error.message)


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
    {"*": "\u00d7", "x": "\u00d7", "X": "\u00d7", "/": "\u00f7", "-": "\u2212", "\u2013": "\u2212"}
)


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


def normalize_paste(text: str) -> PasteResult:
    """Pasted text as an expression (separators, operators, a trailing "=" normalised)."""
    expression = "".join(char for char in text if char not in WHITESPACE)
    expression = re.sub(r"(?<=[0-9])['\u2019_](?=[0-9])", "", expression)
    expression = re.sub(r"[0-9.,]+", lambda match: normalize_number(match[0]), expression)
    expression = expression.translate(PASTE_OPERATORS).removesuffix("=")
    result = evaluate(expression)
    if result["ok"] or result["error"] in ARITHMETIC_ERRORS:
        return {"ok": True, "expression": expression}
    return result
