// Keypad editing rules: pure functions from an editing state to the next one.
//
// A state is {text, start, end}: the expression and its selection (start === end is a caret).
// Every function returns {state, notice}; `notice` is a sentence to announce when a key was
// refused (or null). The rules are those of the calculator spec: at most 15 digits a number,
// a second operator replaces the first except a minus that becomes a sign, parentheses
// nested at most 25 deep; the scientific keys insert a function name with its "(", pi, ^ or !,
// and backspace takes a function name or pi away whole. Nothing here touches the DOM.

export const MAX_DIGITS = 15;
export const MAX_DEPTH = 25;
export const MAX_LENGTH = 256;

const BINARY = new Set(["+", "−", "×", "÷", "-", "*", "/", "^"]);
const MINUS = new Set(["−", "-"]);
const NUMBER_CHAR = /[0-9.]/;

/** @typedef {{text: string, start: number, end: number}} EditState */
/** @typedef {{state: EditState, notice: string | null}} Edit */

/** @param {string} text @returns {EditState} */
export function caretAtEnd(text) {
  return { text, start: text.length, end: text.length };
}

/** Replace the selection with `insert`. @param {EditState} s @param {string} insert */
function replaceSelection(s, insert) {
  const text = s.text.slice(0, s.start) + insert + s.text.slice(s.end);
  const caret = s.start + insert.length;
  return { text, start: caret, end: caret };
}

/** @param {EditState} state @param {string | null} [notice] @returns {Edit} */
function edit(state, notice = null) {
  return { state, notice };
}

/** The character before position `i`, skipping spaces ("" at the start). */
function charBefore(text, i) {
  let j = i - 1;
  while (j >= 0 && text[j] === " ") j -= 1;
  return j >= 0 ? text[j] : "";
}

/** Index of the non-space character before position `i`, or -1. */
function indexBefore(text, i) {
  let j = i - 1;
  while (j >= 0 && text[j] === " ") j -= 1;
  return j;
}

/** Is the minus at index `i` a sign (at the start, or after an operator or "(")? */
function isSign(text, i) {
  if (!MINUS.has(text[i])) return false;
  const prev = charBefore(text, i);
  return prev === "" || prev === "(" || BINARY.has(prev);
}

/** The number token around position `i`: [from, to). */
function numberAround(text, i) {
  let from = i;
  let to = i;
  while (from > 0 && NUMBER_CHAR.test(text[from - 1])) from -= 1;
  while (to < text.length && NUMBER_CHAR.test(text[to])) to += 1;
  return [from, to];
}

/** Significant digits of a literal: its digits without the leading zeros. */
export function digitCount(literal) {
  return literal.replace(/[^0-9]/g, "").replace(/^0+/, "").length;
}

/** Open parentheses not yet closed before position `i`. */
function openDepth(text, i) {
  let depth = 0;
  for (const ch of text.slice(0, i)) {
    if (ch === "(") depth += 1;
    else if (ch === ")" && depth > 0) depth -= 1;
  }
  return depth;
}

function tooLong(s, insert) {
  return s.text.length - (s.end - s.start) + insert.length > MAX_LENGTH;
}

/** @param {EditState} s @param {string} d one digit @returns {Edit} */
export function digit(s, d) {
  if (tooLong(s, d)) return edit(s, "Expression too long");
  const [from, to] = numberAround(s.text, s.start);
  const token = s.text.slice(from, to);
  if (s.start === s.end && s.start === to && token === "0") {
    // "0" then "7" is "7", not "07".
    return edit(replaceSelection({ ...s, start: from, end: to }, d));
  }
  if (s.start === s.end && digitCount(token + d) > MAX_DIGITS) {
    return edit(s, `At most ${MAX_DIGITS} digits per number`);
  }
  return edit(replaceSelection(s, d));
}

/** @param {EditState} s @returns {Edit} */
export function point(s) {
  const [from, to] = numberAround(s.text, s.start);
  const token = s.text.slice(from, to);
  if (token.includes(".")) return edit(s, "The number already has a decimal point");
  const insert = token === "" ? "0." : ".";
  if (tooLong(s, insert)) return edit(s, "Expression too long");
  return edit(replaceSelection(s, insert));
}

/** @param {EditState} s @param {string} op one of + − × ÷ @returns {Edit} */
export function operator(s, op) {
  const { text } = s;
  const at = indexBefore(text, s.start);
  const prev = at >= 0 ? text[at] : "";
  const minus = op === "−";

  if (prev === "" || prev === "(") {
    if (minus) return edit(replaceSelection(s, op));
    return edit(s, prev === "" ? "Enter a number first" : "Enter a number after the parenthesis");
  }
  if (BINARY.has(prev)) {
    if (isSign(text, at)) {
      // "2×−" or "−" at the start: another minus is redundant; any other operator replaces
      // the operator and the sign ("2×−" then "+" is "2+").
      const opAt = indexBefore(text, at);
      if (minus || opAt < 0 || text[opAt] === "(") return edit(s);
      return edit(replaceSelection({ ...s, start: opAt, end: s.end }, op));
    }
    if (minus && (prev === "×" || prev === "÷" || prev === "*" || prev === "/")) {
      return edit(replaceSelection(s, op));
    }
    return edit(replaceSelection({ ...s, start: at, end: s.end }, op));
  }
  if (tooLong(s, op)) return edit(s, "Expression too long");
  return edit(replaceSelection(s, op));
}

/** A postfix key after its operand. @param {EditState} s @param {"%" | "!"} symbol @returns {Edit} */
export function percent(s, symbol = "%") {
  const prev = charBefore(s.text, s.start);
  if (prev === "" || prev === "(" || BINARY.has(prev)) return edit(s, "Enter a number first");
  if (tooLong(s, symbol)) return edit(s, "Expression too long");
  return edit(replaceSelection(s, symbol));
}

/** The postfix factorial: like %. @param {EditState} s @returns {Edit} */
export function factorial(s) {
  return percent(s, "!");
}

/**
 * A function key: its name and "(" at the caret (`sqrt(`, `sin(`; `1/(` for the reciprocal).
 * @param {EditState} s @param {string} opening the text ending in "("
 * @returns {Edit}
 */
export function openFunction(s, opening) {
  if (tooLong(s, opening)) return edit(s, "Expression too long");
  if (openDepth(s.text, s.start) >= MAX_DEPTH) return edit(s, `At most ${MAX_DEPTH} nested parentheses`);
  return edit(replaceSelection(s, opening));
}

/** The constant pi at the caret. @param {EditState} s @returns {Edit} */
export function pi(s) {
  if (tooLong(s, "pi")) return edit(s, "Expression too long");
  return edit(replaceSelection(s, "pi"));
}

/** x²: "^2" after an operand. @param {EditState} s @returns {Edit} */
export function square(s) {
  const prev = charBefore(s.text, s.start);
  if (prev === "" || prev === "(" || BINARY.has(prev)) return edit(s, "Enter a number first");
  if (tooLong(s, "^2")) return edit(s, "Expression too long");
  return edit(replaceSelection(s, "^2"));
}

/** @param {EditState} s @param {"(" | ")"} paren @returns {Edit} */
export function parenthesis(s, paren) {
  if (tooLong(s, paren)) return edit(s, "Expression too long");
  const depth = openDepth(s.text, s.start);
  if (paren === "(") {
    if (depth >= MAX_DEPTH) return edit(s, `At most ${MAX_DEPTH} nested parentheses`);
    return edit(replaceSelection(s, "("));
  }
  const prev = charBefore(s.text, s.start);
  if (depth === 0) return edit(s, "No parenthesis to close");
  if (prev === "(" || BINARY.has(prev)) return edit(s, "Enter a number first");
  return edit(replaceSelection(s, ")"));
}

/** Toggle the sign of the number (or parenthesised group) at the caret. @param {EditState} s */
export function changeSign(s) {
  const { text } = s;
  let [from] = numberAround(text, s.start);
  const [, to] = numberAround(text, s.start);
  if (from === to) {
    const at = indexBefore(text, s.start);
    if (at >= 0 && text[at] === ")") {
      from = nameStart(text, matchingOpen(text, at));
      if (from < 0) return edit(s);
    } else if (at >= 0 && isSign(text, at)) {
      return edit(removeAt(s, at));
    } else if (at < 0 || text[at] === "(" || BINARY.has(text[at])) {
      return edit(replaceSelection(s, "−"));
    } else {
      return edit(s, "Nothing to change the sign of");
    }
  }
  const signAt = indexBefore(text, from);
  if (signAt >= 0 && isSign(text, signAt)) return edit(removeAt(s, signAt));
  if (tooLong(s, "−")) return edit(s, "Expression too long");
  const next = text.slice(0, from) + "−" + text.slice(from);
  return edit({ text: next, start: s.start + 1, end: s.end + 1 });
}

function matchingOpen(text, closeAt) {
  let depth = 0;
  for (let i = closeAt; i >= 0; i -= 1) {
    if (text[i] === ")") depth += 1;
    else if (text[i] === "(") {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Where the function name before the "(" at `open` starts (`open` itself if none). */
function nameStart(text, open) {
  let from = open;
  while (from > 0 && /[a-z]/i.test(text[from - 1])) from -= 1;
  return from;
}

function removeAt(s, i) {
  const text = s.text.slice(0, i) + s.text.slice(i + 1);
  const shift = (p) => (p > i ? p - 1 : p);
  return { text, start: shift(s.start), end: shift(s.end) };
}

/** Backspace; right after `name(` or `pi` it takes the whole word. @param {EditState} s @returns {Edit} */
export function backspace(s) {
  if (s.start !== s.end) return edit(replaceSelection(s, ""));
  if (s.start === 0) return edit(s);
  const word = /(?:[a-z]+\(|pi)$/i.exec(s.text.slice(0, s.start));
  const length = word ? word[0].length : 1;
  return edit(replaceSelection({ ...s, start: s.start - length }, ""));
}

/** Clear entry: remove the number at (or just before) the caret, with its sign. */
export function clearEntry(s) {
  const [from, to] = numberAround(s.text, s.start);
  if (from === to) return edit(s);
  const signAt = indexBefore(s.text, from);
  const start = signAt >= 0 && isSign(s.text, signAt) ? signAt : from;
  return edit(replaceSelection({ text: s.text, start, end: to }, ""));
}

/**
 * Put a number in at the caret (memory recall): it replaces the number being typed, if any.
 * @param {EditState} s @param {string} number in expression form (minus as "−")
 */
export function insertNumber(s, number) {
  const [from, to] = numberAround(s.text, s.start);
  const target = from === to ? s : { text: s.text, start: from, end: to };
  if (tooLong(target, number)) return edit(s, "Expression too long");
  return edit(replaceSelection(target, number));
}

/** Insert already-validated text (a paste) at the selection. */
export function insertText(s, text) {
  if (tooLong(s, text)) return edit(s, "Expression too long");
  return edit(replaceSelection(s, text));
}
