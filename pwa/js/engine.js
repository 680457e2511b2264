/**
 * Calcapp's calculation engine: exact decimal arithmetic on BigInt.
 *
 * Implements "Arithmetic" and "Display and limits" of design/calculator.md. The pipeline is
 * text -> tokens -> (trailing operators dropped, missing ")" closed) -> syntax tree -> value.
 * A decimal is {sign, coefficient, exponent} meaning sign * coefficient * 10^exponent; every
 * + − × ÷ result is rounded to 34 significant digits, half even (IEEE decimal128, Python's
 * `decimal` with prec=34); the display rounds the final value to 15 digits, half up.
 *
 * Python twin: tests/calc_reference.py. The two must agree on every input (e2e/test_engine.py).
 * No exported function throws: every failure is returned as {ok: false, error}.
 */

/** Bumped whenever a result could change; stored with each history record. */
export const ENGINE_VERSION = 1;

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
/** Errors of a well-formed expression: a paste that gives one of them is still accepted. */
const ARITHMETIC_ERRORS = new Set([DIVIDE_BY_ZERO, UNDEFINED, OVERFLOW]);

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
 *   | {kind: "percent"} | {kind: "open"} | {kind: "close"}} Token */

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
]);
/** digits[.digits] | .digits | digits. then e[sign]digits; validated in readNumber. */
const NUMBER_PATTERN = /([0-9]*)(?:\.([0-9]*))?(?:[eE]([+\-\u2212]?)([0-9]*))?/y;

function isDigit(char) {
  return char >= "0" && char <= "9";
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

/** The literal at `start`: its syntax first (Invalid expression), then its length. */
function readNumber(text, start) {
  NUMBER_PATTERN.lastIndex = start;
  const match = NUMBER_PATTERN.exec(text);
  const [literal, whole, fraction = "", exponentSign, exponentDigits] = match;
  const hasExponent = exponentSign !== undefined;
  if (whole === "" && fraction === "") throw new CalcError(INVALID);
  if (hasExponent && (exponentDigits.length === 0 || exponentDigits.length > MAX_EXPONENT_DIGITS)) {
    throw new CalcError(INVALID);
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

/** carry.value when `text` is carry.display followed by (whitespace and) an operator or %. */
function carriedValue(text, carry) {
  if (carry === null || typeof carry !== "object") return null;
  const { display, value } = carry;
  if (typeof display !== "string" || !DISPLAY_PATTERN.test(display)) return null;
  if (!text.startsWith(display)) return null;
  let next = display.length;
  while (next < text.length && WHITESPACE.includes(text[next])) next += 1;
  if (!OPERATORS.has(text[next]) && text[next] !== "%") return null;
  return parseValue(value);
}

function isOperator(token, ...operators) {
  return token !== undefined && token.kind === "operator" && operators.includes(token.operator);
}

/**
 * What `=` does before parsing: drop a trailing binary operator with the signs after it (or
 * trailing signs alone), then close the parentheses left open.
 */
function completeAtEquals(tokens) {
  let runStart = tokens.length;
  while (runStart > 0 && tokens[runStart - 1].kind === "operator") runStart -= 1;
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
 * @typedef {{type: "number", value: Decimal} | {type: "group", inner: Node}
 *   | {type: "sign", operator: "+" | "-", operand: Node} | {type: "percent", operand: Node}
 *   | {type: "binary", operator: Operator, left: Node, right: Node}} Node
 */

/**
 * Recursive descent, tightest first: primary, postfix %, unary signs, × ÷ (and implicit ×),
 * binary + −. Any syntax problem is an Invalid expression.
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
        node = { type: "binary", operator: "*", left: node, right: this.postfix() };
      } else {
        return node;
      }
    }
  }

  /** Implicit ×: a number, ")" or "%" then "(", or ")" or "%" then a number. */
  atImplicitFactor() {
    const token = this.peek();
    if (token === undefined) return false;
    if (token.kind === "open") return true;
    const previous = this.tokens[this.position - 1].kind;
    return token.kind === "number" && (previous === "close" || previous === "percent");
  }

  signed() {
    if (isOperator(this.peek(), "+", "-")) {
      const { operator } = this.next();
      return { type: "sign", operator, operand: this.signed() };
    }
    return this.postfix();
  }

  postfix() {
    let node = this.primary();
    while (this.peek()?.kind === "percent") {
      this.next();
      node = { type: "percent", operand: node };
    }
    return node;
  }

  primary() {
    const token = this.next();
    if (token?.kind === "number") return { type: "number", value: token.value };
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

/** @returns {Decimal} */
function evaluateNode(node) {
  switch (node.type) {
    case "number":
      return checkRange(node.value);
    case "group":
      return evaluateNode(node.inner);
    case "sign": {
      const operand = evaluateNode(node.operand);
      return node.operator === "-" ? negate(operand) : operand;
    }
    case "percent":
      return checkRange(percentOf(evaluateNode(node.operand)));
    default:
      return evaluateBinary(node).value;
  }
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
function evaluateBinary(node) {
  const left = evaluateNode(node.left);
  if (isSumPercent(node)) {
    const rate = checkRange(percentOf(evaluateNode(node.right.operand)));
    const amount = checkRange(multiplyDecimals(left, rate));
    return { value: operate(node.operator, left, amount), operand: amount };
  }
  const right = evaluateNode(node.right);
  return { value: operate(node.operator, left, right), operand: right };
}

/** @returns {Success} */
function success(value, repeat) {
  return { ok: true, display: toDisplayString(value), value: toValueString(value), repeat };
}

function evaluateTree(tree) {
  if (tree.type !== "binary") return success(evaluateNode(tree), null);
  const { value, operand } = evaluateBinary(tree);
  return success(value, { operator: tree.operator, operand: toValueString(operand) });
}

/** Runs `compute`, turning a CalcError into {ok: false, error}. */
function guarded(compute) {
  try {
    return compute();
  } catch (error) {
    if (error instanceof CalcError) return { ok: false, error: error.message };
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
 *   followed by an operator or %, that number is carry.value at full precision
 * @returns {Result}
 */
export function evaluate(text, carry = null) {
  return guarded(() => {
    if (typeof text !== "string") throw new CalcError(INVALID);
    if (codePointCount(text) > MAX_LENGTH) throw new CalcError(TOO_LONG);
    const tokens = completeAtEquals(tokenizeWithCarry(text, carry));
    return evaluateTree(new Parser(tokens).parse());
  });
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
  ["x", "\u00d7"],
  ["X", "\u00d7"],
  ["/", "\u00f7"],
  ["-", "\u2212"],
  ["\u2013", "\u2212"],
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
  expression = [...expression].map((char) => PASTE_OPERATORS.get(char) ?? char).join("");
  if (expression.endsWith("=")) expression = expression.slice(0, -1);
  const result = evaluate(expression);
  if (result.ok || ARITHMETIC_ERRORS.has(result.error)) return { ok: true, expression };
  return { ok: false, error: result.error };
}
