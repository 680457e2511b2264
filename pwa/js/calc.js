/**
 * Calcapp's calculation engine: exact decimal arithmetic on BigInt. Over 400 lines: the
 * tokenizer, parser, evaluator and display rounding share one decimal representation and one
 * error type; the functions' mathematics is sci-math.js.
 *
 * Implements "Arithmetic" and "Display and limits" of design/calculator.md. The pipeline is
 * text -> tokens -> (trailing operators dropped, missing ")" closed) -> syntax tree -> value.
 * A decimal is {sign, coefficient, exponent} meaning sign * coefficient * 10^exponent; every
 * + − × ÷ result is rounded to 34 significant digits, half even (IEEE decimal128, Python's
 * `decimal` with prec=34); the display rounds the final value to 15 digits, half up.
 *
 * The scientific mode's grammar lives here too (functions, `^`, `!`, `pi`); the functions
 * themselves are sci-math.js, correctly rounded to the same 34 digits.
 *
 * Python twin: tests/calc_reference.py. The two must agree on every input (e2e/test_engine.py).
 * No exported function throws: every failure is returned as {ok: false, error}.
 */

import * as sci from "./sci-math.js";

/** Bumped whenever a result could change; stored with each history record. */
export const ENGINE_VERSION = 2;

const PRECISION = 34;
const DISPLAY_DIGITS = 15;
const MAX_LITERAL_DIGITS = 15;
const MAX_EXPONENT_DIGITS = 4;
const MAX_LENGTH = 256;
const MAX_NESTING = 25;
/** |x| >= 1e10000 overflows; a nonzero |x| < 1e-9999 flushes to 0 (adjusted exponents). */
const OVERFLOW_EXPONENT = 10000;
const UNDERFLOW_EXPONENT = -9999;
/** Fixed notation for adjusted exponents -7..14, i.e. 1e-7 <= |x| < 1e15. */
const FIXED_MIN_EXPONENT = -7;
const FIXED_MAX_EXPONENT = 14;

const DIVIDE_BY_ZERO = "Cannot divide by zero";
const UNDEFINED = "Result is undefined";
const OVERFLOW = "Overflow";
const INVALID = "Invalid expression";
const NUMBER_TOO_LONG = "Number too long";
const TOO_LONG = "Expression too long";
/** A function outside its domain: sqrt(-1), ln(0), asin(2), tan(90°), (-8)^(1/3), 1.5!. */
const INVALID_INPUT = "Invalid input";
/** Errors of a well-formed expression: a paste that gives one of them is still accepted. */
const ARITHMETIC_ERRORS = new Set([DIVIDE_BY_ZERO, UNDEFINED, OVERFLOW, INVALID_INPUT]);

/**
 * @typedef {"+" | "-" | "*" | "/"} Operator
 * @typedef {{operator: Operator, operand: string}} Repeat
 *   What repeated `=` applies: `value <operator> operand`.
 * @typedef {{ok: true, display: string, value: string, repeat: Repeat | null}} Success
 *   `display`: 15 digits, half up, formatted; `value`: 34 digits, Python's str(d.normalize()).
 * @typedef {{ok: false, error: string}} Failure
 * @typedef {Success | Failure} Result
 * @typedef {{display: string, value: string}} Carry  The previous result, to continue from.
 * @typedef {{ok: true, expression: string} | {ok: false, error: string}} PasteResult
 * @typedef {"deg" | "rad"} AngleUnit  How sin, cos, tan read their argument (and asin, acos,
 *   atan give their result).
 */

// ---------------------------------------------------------------------------------------------
// Decimals

/** @typedef {{sign: 1 | -1, coefficient: bigint, exponent: number}} Decimal */

/** @type {Decimal} */
const ZERO = Object.freeze({ sign: 1, coefficient: 0n, exponent: 0 });

/** A decimal; zero is always the canonical (positive) ZERO. */
function decimal(sign, coefficient, exponent) {
  return coefficient === 0n ? ZERO : { sign, coefficient, exponent };
}

function isZero(d) {
  return d.coefficient === 0n;
}

function digitCount(coefficient) {
  return coefficient.toString().length;
}

function powerOfTen(n) {
  return 10n ** BigInt(n);
}

/** The exponent of the most significant digit: 1234 -> 3, 0.05 -> -2. */
function adjustedExponent(d) {
  return d.exponent + digitCount(d.coefficient) - 1;
}

/**
 * `d` rounded to `digits` significant digits. `mode` is "half-even" or "half-up" (ties away
 * from zero). `sticky` says nonzero digits were already cut off below the coefficient (a
 * division remainder); callers passing it make sure at least one more digit is cut here.
 */
function round(d, digits, mode, sticky = false) {
  const excess = digitCount(d.coefficient) - digits;
  if (excess <= 0) return d;
  const divisor = powerOfTen(excess);
  let kept = d.coefficient / divisor;
  const cut = d.coefficient % divisor;
  const half = divisor / 2n;
  // At exactly half, a sticky remainder means "above half"; otherwise it is a tie.
  if (cut > half || (cut === half && (sticky || mode === "half-up" || kept % 2n === 1n))) {
    kept += 1n;
  }
  let exponent = d.exponent + excess;
  if (digitCount(kept) > digits) {
    kept /= 10n; // 999.. rounded up to 1000..: the cut digit is a zero
    exponent += 1;
  }
  return decimal(d.sign, kept, exponent);
}

function roundResult(d, sticky = false) {
  return round(d, PRECISION, "half-even", sticky);
}

/**
 * True when a nonzero `small` is under a tenth of the unit in the last of the 34 digits that
 * `large ± small` keeps: the rounded sum is then `large` itself (it has at most 34 digits).
 * This spares aligning 1e9999 + 1e-9999 on a 20,000-digit BigInt.
 */
function isNegligibleNextTo(small, large) {
  if (isZero(small) || isZero(large)) return false;
  return adjustedExponent(small) < adjustedExponent(large) - PRECISION - 1;
}

function signedCoefficient(d) {
  return d.sign < 0 ? -d.coefficient : d.coefficient;
}

function addDecimals(a, b) {
  if (isNegligibleNextTo(b, a)) return a;
  if (isNegligibleNextTo(a, b)) return b;
  const exponent = Math.min(a.exponent, b.exponent);
  const sum =
    signedCoefficient(a) * powerOfTen(a.exponent - exponent) +
    signedCoefficient(b) * powerOfTen(b.exponent - exponent);
  return roundResult(decimal(sum < 0n ? -1 : 1, sum < 0n ? -sum : sum, exponent));
}

function negate(d) {
  return decimal(-d.sign, d.coefficient, d.exponent);
}

function multiplyDecimals(a, b) {
  const product = a.coefficient * b.coefficient;
  return roundResult(decimal(a.sign * b.sign, product, a.exponent + b.exponent));
}

/** a ÷ b for a nonzero b, correctly rounded: at least 35 quotient digits, then the remainder. */
function divideDecimals(a, b) {
  const shift = Math.max(0, PRECISION + 1 - digitCount(a.coefficient) + digitCount(b.coefficient));
  const scaled = a.coefficient * powerOfTen(shift);
  const quotient = scaled / b.coefficient;
  const remainder = scaled % b.coefficient;
  const exact = decimal(a.sign * b.sign, quotient, a.exponent - b.exponent - shift);
  return roundResult(exact, remainder !== 0n);
}

/** p% = p ÷ 100: only the exponent moves. */
function percentOf(d) {
  return roundResult(decimal(d.sign, d.coefficient, d.exponent - 2));
}

/** The range rule, applied to every literal and every intermediate result. */
function checkRange(d) {
  if (isZero(d)) return d;
  const exponent = adjustedExponent(d);
  if (exponent >= OVERFLOW_EXPONENT) throw new CalcError(OVERFLOW);
  return exponent < UNDERFLOW_EXPONENT ? ZERO : d;
}

/** One binary operation with its errors: both operands are already evaluated. */
function operate(operator, left, right) {
  switch (operator) {
    case "+":
      return checkRange(addDecimals(left, right));
    case "-":
      return checkRange(addDecimals(left, negate(right)));
    case "*":
      return checkRange(multiplyDecimals(left, right));
    default:
      if (isZero(right)) throw new CalcError(isZero(left) ? UNDEFINED : DIVIDE_BY_ZERO);
      return checkRange(divideDecimals(left, right));
  }
}

// ---------------------------------------------------------------------------------------------
// Decimal <-> text

/** What `value` strings (and other full-precision inputs) look like; exponent of any sign. */
const VALUE_PATTERN = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,6}))?$/;
/** A display string, also in expression form: either minus may be U+2212, as the UI shows it. */
const DISPLAY_PATTERN = /^[-\u2212]?[0-9]+(?:\.[0-9]+)?(?:e[+\-\u2212][0-9]+)?$/;

/** A value string rounded to 34 digits, or null when `text` is not a decimal number. */
function parseValue(text) {
  const match = typeof text === "string" ? VALUE_PATTERN.exec(text) : null;
  if (!match) return null;
  const [, sign, whole, fraction = "", exponentText = "0"] = match;
  if (whole === "" && fraction === "") return null;
  const exponent = Number(exponentText) - fraction.length;
  return roundResult(decimal(sign === "-" ? -1 : 1, BigInt(whole + fraction), exponent));
}

function withoutTrailingZeros(d) {
  let { coefficient, exponent } = d;
  while (coefficient % 10n === 0n) {
    coefficient /= 10n;
    exponent += 1;
  }
  return { digits: coefficient.toString(), exponent };
}

/** Digits with a decimal point placed for a nonpositive exponent: ("125", -2) -> "1.25". */
function placePoint(digits, exponent) {
  if (exponent >= 0) return digits + "0".repeat(exponent);
  const point = digits.length + exponent;
  if (point > 0) return `${digits.slice(0, point)}.${digits.slice(point)}`;
  return `0.${"0".repeat(-point)}${digits}`;
}

function exponentForm(digits, exponent, letter) {
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${mantissa}${letter}${exponent < 0 ? "-" : "+"}${Math.abs(exponent)}`;
}

/** Python's str(d.normalize()): the General Decimal Arithmetic to-scientific-string. */
function toValueString(d) {
  if (isZero(d)) return "0";
  const { digits, exponent } = withoutTrailingZeros(d);
  const adjusted = exponent + digits.length - 1;
  const sign = d.sign < 0 ? "-" : "";
  if (exponent <= 0 && adjusted >= -6) return sign + placePoint(digits, exponent);
  return sign + exponentForm(digits, adjusted, "E");
}

/** The shown result: 15 digits half up, fixed for 1e-7 <= |x| < 1e15, else d.ddde±N. */
function toDisplayString(d) {
  const rounded = round(d, DISPLAY_DIGITS, "half-up");
  if (isZero(rounded)) return "0";
  const { digits, exponent } = withoutTrailingZeros(rounded);
  const adjusted = exponent + digits.length - 1;
  const sign = rounded.sign < 0 ? "-" : "";
  if (adjusted >= FIXED_MIN_EXPONENT && adjusted <= FIXED_MAX_EXPONENT) {
    return sign + placePoint(digits, exponent);
  }
  return sign + exponentForm(digits, adjusted, "e");
}

// ---------------------------------------------------------------------------------------------
// Tokens

class CalcError extends Error {}

/** @typedef {{kind: "number", value: Decimal} | {kind: "operator", operator: Operator}
 *   | {kind: "percent"} | {kind: "open"} | {kind: "close"} | {kind: "power"}
 *   | {kind: "factorial"} | {kind: "constant"} | {kind: "function", name: string}} Token */

/** The same set as JavaScript's \s, spelled out so that the Python twin can copy it. */
const WHITESPACE =
  "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" +
  "\u2028\u2029\u202f\u205f\u3000\ufeff";
const OPERATORS = new Map([
  ["+", "+"],
  ["-", "-"],
  ["\u2212", "-"],
  ["*", "*"],
  ["\u00d7", "*"],
  ["/", "/"],
  ["\u00f7", "/"],
]);
const SYMBOLS = new Map([
  ["%", "percent"],
  ["(", "open"],
  [")", "close"],
  ["^", "power"],
  ["!", "factorial"],
]);
/** The functions of the scientific mode, by the name typed before their "(". */
export const FUNCTIONS = new Set(["sqrt", "exp", "ln", "log", "abs", "sin", "cos", "tan", "asin", "acos", "atan"]);
const TRIGONOMETRIC = new Set(["sin", "cos", "tan", "asin", "acos", "atan"]);
/** digits[.digits] | .digits | digits. then e[sign]digits; validated in readNumber. An "e"
 * without digits after it is not an exponent ("2exp(1)" is 2 times exp(1)). */
const NUMBER_PATTERN = /([0-9]*)(?:\.([0-9]*))?(?:[eE]([+\-\u2212]?)([0-9]+))?/y;
const NAME_PATTERN = /[a-zA-Z]+/y;

function isDigit(char) {
  return char >= "0" && char <= "9";
}

function isLetter(char) {
  return (char >= "a" && char <= "z") || (char >= "A" && char <= "Z");
}

/** @returns {Token[]} */
function tokenize(text) {
  const tokens = [];
  let position = 0;
  while (position < text.length) {
    const char = text[position];
    if (isDigit(char) || char === ".") {
      const { token, end } = readNumber(text, position);
      tokens.push(token);
      position = end;
      continue;
    }
    if (isLetter(char)) {
      NAME_PATTERN.lastIndex = position;
      const name = NAME_PATTERN.exec(text)[0];
      tokens.push(nameToken(name.toLowerCase()));
      position += name.length;
      continue;
    }
    if (OPERATORS.has(char)) {
      tokens.push({ kind: "operator", operator: OPERATORS.get(char) });
    } else if (SYMBOLS.has(char)) {
      tokens.push({ kind: SYMBOLS.get(char) });
    } else if (!WHITESPACE.includes(char)) {
      throw new CalcError(INVALID);
    }
    position += 1;
  }
  return tokens;
}

/** A function name or the constant pi (in any letter case); any other word is an error. */
function nameToken(name) {
  if (FUNCTIONS.has(name)) return { kind: "function", name };
  if (name === "pi") return { kind: "constant" };
  throw new CalcError(INVALID);
}

/** The literal at `start`: its syntax first (Invalid expression), then its length. */
function readNumber(text, start) {
  NUMBER_PATTERN.lastIndex = start;
  const match = NUMBER_PATTERN.exec(text);
  const [literal, whole, fraction = "", exponentSign, exponentDigits] = match;
  const hasExponent = exponentSign !== undefined;
  if (whole === "" && fraction === "") throw new CalcError(INVALID);
  if (hasExponent && exponentDigits.length > MAX_EXPONENT_DIGITS) {
    throw new CalcError(INVALID);
  }
  if (!hasExponent && /[eE]/.test(text[start + literal.length] ?? "")) {
    // An "e" that starts no function name is an exponent without digits.
    NAME_PATTERN.lastIndex = start + literal.length;
    if (!FUNCTIONS.has(NAME_PATTERN.exec(text)[0].toLowerCase())) throw new CalcError(INVALID);
  }
  if ((whole + fraction).replace(/^0+/, "").length > MAX_LITERAL_DIGITS) {
    throw new CalcError(NUMBER_TOO_LONG);
  }
  const negativeExponent = exponentSign === "-" || exponentSign === "\u2212";
  const exponent = hasExponent ? Number(exponentDigits) * (negativeExponent ? -1 : 1) : 0;
  const value = decimal(1, BigInt(whole + fraction), exponent - fraction.length);
  return { token: { kind: "number", value }, end: start + literal.length };
}

/** The tokens of `text`, its leading literal replaced by the carried full-precision value. */
function tokenizeWithCarry(text, carry) {
  const carried = carriedValue(text, carry);
  if (carried === null) return tokenize(text);
  return [{ kind: "number", value: carried }, ...tokenize(text.slice(carry.display.length))];
}

/** carry.value when `text` is carry.display followed by (whitespace and) an operator, %, ^ or !. */
function carriedValue(text, carry) {
  if (carry === null || typeof carry !== "object") return null;
  const { display, value } = carry;
  if (typeof display !== "string" || !DISPLAY_PATTERN.test(display)) return null;
  if (!text.startsWith(display)) return null;
  let next = display.length;
  while (next < text.length && WHITESPACE.includes(text[next])) next += 1;
  if (!OPERATORS.has(text[next]) && !CONTINUING.has(text[next])) return null;
  return parseValue(value);
}

/** Characters after a result that continue from it, besides the operators. */
const CONTINUING = new Set(["%", "^", "!"]);

function isOperator(token, ...operators) {
  return token !== undefined && token.kind === "operator" && operators.includes(token.operator);
}

/**
 * What `=` does before parsing: drop a trailing binary operator (+ − × ÷ ^) with the signs
 * after it (or trailing signs alone), then close the parentheses left open.
 */
function completeAtEquals(tokens) {
  let runStart = tokens.length;
  while (runStart > 0 && ["operator", "power"].includes(tokens[runStart - 1].kind)) runStart -= 1;
  // `2*/` is two binary operators in a row, an error even at the end: keep it for the parser.
  const signsOnly = tokens.slice(runStart + 1).every((token) => isOperator(token, "+", "-"));
  const kept = signsOnly ? tokens.slice(0, runStart) : tokens;
  let depth = 0;
  for (const token of kept) {
    if (token.kind === "open") depth += 1;
    if (token.kind === "close") depth -= 1;
  }
  return depth > 0 ? [...kept, ...Array.from({ length: depth }, () => ({ kind: "close" }))] : kept;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

/**
 * @typedef {{type: "number", value: Decimal} | {type: "pi"} | {type: "group", inner: Node}
 *   | {type: "call", name: string, argument: Node}
 *   | {type: "sign", operator: "+" | "-", operand: Node} | {type: "percent", operand: Node}
 *   | {type: "factorial", operand: Node} | {type: "power", base: Node, exponent: Node}
 *   | {type: "binary", operator: Operator, left: Node, right: Node}} Node
 */

/**
 * Recursive descent, tightest first: primary (numbers, pi, groups, function calls), postfix
 * % and !, ^ (right-associative; its exponent may carry signs), unary signs, × ÷ (and
 * implicit ×), binary + −. So -2^2 is -(2^2) and 2^3! is 2^(3!). Any syntax problem is an
 * Invalid expression.
 */
class Parser {
  constructor(tokens) {
    this.tokens = tokens;
    this.position = 0;
    this.depth = 0;
  }

  /** @returns {Node} */
  parse() {
    const tree = this.sum();
    if (this.position < this.tokens.length) throw new CalcError(INVALID);
    return tree;
  }

  peek() {
    return this.tokens[this.position];
  }

  next() {
    const token = this.tokens[this.position];
    this.position += 1;
    return token;
  }

  sum() {
    let node = this.product();
    while (isOperator(this.peek(), "+", "-")) {
      const { operator } = this.next();
      node = { type: "binary", operator, left: node, right: this.product() };
    }
    return node;
  }

  product() {
    let node = this.signed();
    for (;;) {
      if (isOperator(this.peek(), "*", "/")) {
        const { operator } = this.next();
        node = { type: "binary", operator, left: node, right: this.signed() };
      } else if (this.atImplicitFactor()) {
        node = { type: "binary", operator: "*", left: node, right: this.power() };
      } else {
        return node;
      }
    }
  }

  /**
   * Implicit × after an operand: before "(", a function or pi; before a number only after
   * ")", "%", "!" or pi (`2pi`, `3sqrt(4)`, `2(3)!`, `(1)2`).
   */
  atImplicitFactor() {
    const token = this.peek();
    if (token === undefined) return false;
    if (["open", "function", "constant"].includes(token.kind)) return true;
    const previous = this.tokens[this.position - 1].kind;
    return token.kind === "number" && ["close", "percent", "factorial", "constant"].includes(previous);
  }

  signed() {
    if (isOperator(this.peek(), "+", "-")) {
      const { operator } = this.next();
      return { type: "sign", operator, operand: this.signed() };
    }
    return this.power();
  }

  power() {
    const base = this.postfix();
    if (this.peek()?.kind !== "power") return base;
    this.next();
    return { type: "power", base, exponent: this.exponent() };
  }

  /** The right operand of ^: signs, then a power (so 2^3^2 is 2^(3^2) and 2^-1 is 0.5). */
  exponent() {
    if (isOperator(this.peek(), "+", "-")) {
      const { operator } = this.next();
      return { type: "sign", operator, operand: this.exponent() };
    }
    return this.power();
  }

  postfix() {
    let node = this.primary();
    for (;;) {
      const kind = this.peek()?.kind;
      if (kind !== "percent" && kind !== "factorial") return node;
      this.next();
      node = { type: kind, operand: node };
    }
  }

  primary() {
    const token = this.next();
    if (token?.kind === "number") return { type: "number", value: token.value };
    if (token?.kind === "constant") return { type: "pi" };
    if (token?.kind === "function") {
      if (this.peek()?.kind !== "open") throw new CalcError(INVALID);
      return { type: "call", name: token.name, argument: this.primary().inner };
    }
    if (token?.kind !== "open") throw new CalcError(INVALID);
    this.depth += 1;
    if (this.depth > MAX_NESTING) throw new CalcError(INVALID);
    const inner = this.sum();
    if (this.next()?.kind !== "close") throw new CalcError(INVALID);
    this.depth -= 1;
    return { type: "group", inner };
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation (left to right: the first arithmetic error wins)

/**
 * @param {Node} node
 * @param {AngleUnit} angle
 * @returns {Decimal}
 */
function evaluateNode(node, angle) {
  switch (node.type) {
    case "number":
      return checkRange(node.value);
    case "pi":
      return sci.PI;
    case "group":
      return evaluateNode(node.inner, angle);
    case "call":
      return checkRange(callFunction(node, evaluateNode(node.argument, angle), angle));
    case "sign": {
      const operand = evaluateNode(node.operand, angle);
      return node.operator === "-" ? negate(operand) : operand;
    }
    case "percent":
      return checkRange(percentOf(evaluateNode(node.operand, angle)));
    case "factorial":
      return checkRange(sci.factorial(evaluateNode(node.operand, angle)));
    case "power": {
      const base = evaluateNode(node.base, angle);
      return checkRange(sci.power(base, evaluateNode(node.exponent, angle)));
    }
    default:
      return evaluateBinary(node, angle).value;
  }
}

/** A function applied to its evaluated argument. */
function callFunction({ name, argument }, x, angle) {
  switch (name) {
    case "sqrt":
      return sci.sqrt(x);
    case "exp":
      return sci.exp(x);
    case "ln":
      return sci.ln(x);
    case "log":
      return sci.log10(x);
    case "abs":
      return decimal(1, x.coefficient, x.exponent);
    case "sin":
    case "cos":
    case "tan":
      return sci[name](x, angle, angle === "rad" ? piMultiple(argument) : null);
    default:
      return sci[name](x, angle);
  }
}

// ---------------------------------------------------------------------------------------------
// Multiples of pi: how sin(pi) is exactly 0
//
// In radians, sin, cos and tan look at how their argument was written: when it is pi times an
// exact rational (pi, 2pi, pi/6, -3*pi/4, pi/2+pi: literals combined with + − × ÷, % and
// signs), that multiple is handed over with the value, and an angle that is a multiple of 30°
// or 45° gets its exact answer (sin(pi) = 0, cos(pi/3) = 0.5, tan(pi/2) is Invalid input).
// Any other argument is taken as the decimal it is: sin(3.14159) is not 0.

/** @typedef {{num: bigint, den: bigint}} Ratio  num/den with den > 0 */

/** @returns {Ratio} */
function ratioOf(d) {
  const num = d.sign < 0 ? -d.coefficient : d.coefficient;
  return d.exponent >= 0
    ? { num: num * powerOfTen(d.exponent), den: 1n }
    : { num, den: powerOfTen(-d.exponent) };
}

/** a <operator> b on ratios, or null (division by zero). @returns {Ratio | null} */
function combineRatios(operator, a, b) {
  switch (operator) {
    case "+":
      return { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
    case "-":
      return { num: a.num * b.den - b.num * a.den, den: a.den * b.den };
    case "*":
      return { num: a.num * b.num, den: a.den * b.den };
    default:
      if (b.num === 0n) return null;
      return b.num < 0n ? { num: -a.num * b.den, den: a.den * -b.num } : { num: a.num * b.den, den: a.den * b.num };
  }
}

/** The exact value of a node made of literals, + − × ÷, %, signs and groups; else null. */
function exactRatio(node) {
  switch (node.type) {
    case "number":
      return ratioOf(node.value);
    case "group":
      return exactRatio(node.inner);
    case "sign":
      return signedRatio(node.operator, exactRatio(node.operand));
    case "percent": {
      const ratio = exactRatio(node.operand);
      return ratio && { num: ratio.num, den: ratio.den * 100n };
    }
    case "binary": {
      if (isSumPercent(node)) return null;
      const left = exactRatio(node.left);
      const right = left && exactRatio(node.right);
      return right && combineRatios(node.operator, left, right);
    }
    default:
      return null;
  }
}

function signedRatio(operator, ratio) {
  return ratio && operator === "-" ? { num: -ratio.num, den: ratio.den } : ratio;
}

/** The exact multiple of pi a node is written as (pi/6 -> 1/6), or null. */
function piMultiple(node) {
  switch (node.type) {
    case "pi":
      return { num: 1n, den: 1n };
    case "group":
      return piMultiple(node.inner);
    case "sign":
      return signedRatio(node.operator, piMultiple(node.operand));
    case "binary":
      return isSumPercent(node) ? null : binaryPiMultiple(node);
    default:
      return null;
  }
}

function binaryPiMultiple({ operator, left, right }) {
  if (operator === "+" || operator === "-") {
    const a = piMultiple(left);
    const b = a && piMultiple(right);
    return b && combineRatios(operator, a, b);
  }
  const a = piMultiple(left);
  if (a) {
    const b = exactRatio(right);
    return b && combineRatios(operator, a, b);
  }
  const b = operator === "*" ? piMultiple(right) : null;
  const factor = b && exactRatio(left);
  return factor && combineRatios("*", factor, b);
}

/**
 * `left ± p%` right after a binary + or −, with nothing else on the term: p percent of the
 * value to its left (`200+10%` = 220). Any sign, second % or factor makes it a plain p/100.
 */
function isSumPercent(node) {
  const { operator, right } = node;
  return (
    (operator === "+" || operator === "-") &&
    right.type === "percent" &&
    (right.operand.type === "number" || right.operand.type === "group")
  );
}

/** The value of a binary node and its evaluated right operand (what repeated `=` reuses). */
function evaluateBinary(node, angle) {
  const left = evaluateNode(node.left, angle);
  if (isSumPercent(node)) {
    const rate = checkRange(percentOf(evaluateNode(node.right.operand, angle)));
    const amount = checkRange(multiplyDecimals(left, rate));
    return { value: operate(node.operator, left, amount), operand: amount };
  }
  const right = evaluateNode(node.right, angle);
  return { value: operate(node.operator, left, right), operand: right };
}

/** @returns {Success} */
function success(value, repeat) {
  return { ok: true, display: toDisplayString(value), value: toValueString(value), repeat };
}

function evaluateTree(tree, angle) {
  if (tree.type !== "binary") return success(evaluateNode(tree, angle), null);
  const { value, operand } = evaluateBinary(tree, angle);
  return success(value, { operator: tree.operator, operand: toValueString(operand) });
}

/** Runs `compute`, turning a CalcError or a sci-math MathError into {ok: false, error}. */
function guarded(compute) {
  try {
    return compute();
  } catch (error) {
    if (error instanceof CalcError || error instanceof sci.MathError) return { ok: false, error: error.message };
    throw error;
  }
}

function codePointCount(text) {
  if (text.length <= MAX_LENGTH) return text.length; // never more code points than UTF-16 units
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function parseOperand(text) {
  const value = parseValue(text);
  if (value === null) throw new CalcError(INVALID);
  return checkRange(value);
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Evaluates an expression as `=` does.
 * @param {string} text  what the user typed (at most 256 characters, counted in code points)
 * @param {Carry | null} [carry]  the previous result: when `text` starts with carry.display
 *   followed by an operator, %, ^ or !, that number is carry.value at full precision
 * @param {AngleUnit} [angle]  degrees unless "rad"
 * @returns {Result}
 */
export function evaluate(text, carry = null, angle = "deg") {
  return guarded(() => {
    if (typeof text !== "string") throw new CalcError(INVALID);
    if (codePointCount(text) > MAX_LENGTH) throw new CalcError(TOO_LONG);
    const tokens = completeAtEquals(tokenizeWithCarry(text, carry));
    return evaluateTree(new Parser(tokens).parse(), angle === "rad" ? "rad" : "deg");
  });
}

/**
 * Does the expression's result depend on the angle unit (does it call a trigonometric
 * function)? False for text that does not tokenize.
 * @param {string} text
 * @returns {boolean}
 */
export function usesAngleUnit(text) {
  try {
    return tokenize(String(text)).some((token) => token.kind === "function" && TRIGONOMETRIC.has(token.name));
  } catch {
    return false;
  }
}

/**
 * Repeated `=`: `value <repeat.operator> repeat.operand` at full precision.
 * @param {string} value  the previous result's value string
 * @param {Repeat} repeat  the previous result's repeat
 * @returns {Result}  its repeat is the given one
 */
export function applyRepeat(value, repeat) {
  return guarded(() => {
    const operator = repeat !== null && typeof repeat === "object" ? repeat.operator : undefined;
    if (!["+", "-", "*", "/"].includes(operator)) throw new CalcError(INVALID);
    const result = operate(operator, parseOperand(value), parseOperand(repeat.operand));
    return success(result, { operator, operand: repeat.operand });
  });
}

/**
 * a + b on value strings (memory add).
 * @param {string} a
 * @param {string} b
 * @returns {Result}  with repeat null
 */
export function add(a, b) {
  return guarded(() => success(operate("+", parseOperand(a), parseOperand(b)), null));
}

/**
 * a − b on value strings (memory subtract).
 * @param {string} a
 * @param {string} b
 * @returns {Result}  with repeat null
 */
export function subtract(a, b) {
  return guarded(() => success(operate("-", parseOperand(a), parseOperand(b)), null));
}

/**
 * The display string of a value string ("0.3333333333333333333333333333333333" ->
 * "0.333333333333333").
 * @param {string} value
 * @returns {string}  "" when `value` is not a decimal number
 */
export function formatDisplay(value) {
  const parsed = parseValue(value);
  return parsed === null ? "" : toDisplayString(parsed);
}

const PASTE_OPERATORS = new Map([
  ["*", "\u00d7"],
  ["/", "\u00f7"],
  ["-", "\u2212"],
  ["\u2013", "\u2212"],
]);
/** √ before a number or pi takes it as its argument; √( is sqrt(. */
const PASTED_ROOT = /\u221a(?:([0-9.]+(?:[eE][+\-\u2212]?[0-9]+)?)|(pi|\u03c0))/g;
const SUPERSCRIPTS = new Map([
  ["\u00b2", "^2"],
  ["\u00b3", "^3"],
]);

/**
 * One run of digits, "." and ",": thousands separators removed, the decimal mark made ".".
 * With both "." and ",", the last of them is the decimal mark. With commas only, they are
 * thousands separators when every one is followed by exactly three digits, else a single
 * comma is the decimal mark; anything else is left for the parser to reject.
 */
function normalizeNumber(run) {
  const lastMark = Math.max(run.lastIndexOf("."), run.lastIndexOf(","));
  if (run.includes(".") && run.includes(",")) {
    return `${run.slice(0, lastMark).replace(/[.,]/g, "")}.${run.slice(lastMark + 1)}`;
  }
  if (!run.includes(",")) return run;
  const [first, ...groups] = run.split(",");
  // A leading comma is not between digit groups: ",500" is 0.5, not 500.
  if (first !== "" && groups.every((group) => group.length === 3)) return run.replace(/,/g, "");
  return groups.length === 1 ? `${first}.${groups[0]}` : run;
}

/** A run of letters: a function name or pi in lower case; x or X before one (or alone) is ×. */
function normalizeWord(word) {
  const lower = word.toLowerCase();
  if (lower === "" || lower === "pi" || FUNCTIONS.has(lower)) return lower;
  return lower[0] === "x" ? `\u00d7${normalizeWord(word.slice(1))}` : word;
}

/** The scientific symbols as the engine spells them: π pi, ² ^2, √2 sqrt(2), √( sqrt(. */
function normalizeSymbols(expression) {
  return expression
    .replace(PASTED_ROOT, (_, number) => `sqrt(${number ?? "pi"})`)
    .replaceAll("\u221a(", "sqrt(")
    .replaceAll("\u03c0", "pi")
    .replaceAll("**", "^")
    .replace(/[\u00b2\u00b3]/g, (char) => SUPERSCRIPTS.get(char));
}

/**
 * Normalises pasted text into an expression, or rejects it whole.
 * @param {string} text
 * @returns {PasteResult}
 */
export function normalizePaste(text) {
  if (typeof text !== "string") return { ok: false, error: INVALID };
  let expression = [...text].filter((char) => !WHITESPACE.includes(char)).join("");
  expression = expression.replace(/(?<=[0-9])['\u2019_](?=[0-9])/g, "");
  expression = expression.replace(/[0-9.,]+/g, normalizeNumber);
  expression = normalizeSymbols(expression).replace(/[a-zA-Z]+/g, normalizeWord);
  expression = [...expression].map((char) => PASTE_OPERATORS.get(char) ?? char).join("");
  if (expression.endsWith("=")) expression = expression.slice(0, -1);
  const result = evaluate(expression);
  if (result.ok || ARITHMETIC_ERRORS.has(result.error)) return { ok: true, expression };
  return { ok: false, error: result.error };
}
