// The calculator: the expression being edited, its result, memory, and every way to type
// (keypad, keyboard, soft keyboards, paste, copy). What it computes goes to `onResult`; the
// history panel calls `reuse` and `insertResult`. The state after "=" survives a reload.
// Numbers are shown in the user's locale (numbers.js) while everything here works on the
// canonical text ("." as the decimal point, no grouping): `expressionText` is the expression,
// the Expression box only shows it; positions are mapped between the two. Over 400 lines:
// every way to type edits the same caret and expression state; the keys' layout is keypad.js,
// the scientific mode scientific.js, the numbers' locale numbers.js.

import * as calc from "./calc.js";
import * as keypad from "./keypad.js";
import { copiesCanonical, numberOptions, onNumberFormatChange } from "./number-settings.js";
import * as numbers from "./numbers.js";
import * as scientific from "./scientific.js";

const DRAFT_KEY = "calcapp.draft.v2";
const OLD_DRAFT_KEY = "calcapp.draft.v1";
const MEMORY_KEY = "calcapp.memory.v1";

const OPERATOR_SYMBOL = { "+": "+", "-": "−", "*": "×", "/": "÷" };

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const expressionInput = /** @type {HTMLInputElement} */ ($("expression"));
const resultOutput = /** @type {HTMLOutputElement} */ ($("result"));
const errorBox = $("error");
const noticeBox = $("notice");
const memoryIndicator = $("memory-indicator");

/** @type {Storage} */
let storage;
/** @type {(calc: import("./history.js").Calculation) => void} */
let onResult = () => {};

/**
 * After "=": what was computed, while the expression is unchanged.
 * @type {{expression: string, display: string, value: string, repeat: any} | null}
 */
let lastResult = null;
/** A previous result the expression continues from: {display, value} (see engine carry). */
let carry = null;
/** @type {{value: string, display: string} | null} */
let memory = null;

// ---------------------------------------------------------------- expression state

/** The expression, canonical; the Expression box shows it localized. */
let expressionText = "";
/** The result on screen as the engine displays it (canonical), or "". */
let resultText = "";

/**
 * The caret of the Expression box in `expressionText`, kept here because browsers do not keep
 * an unfocused input's selection reliably (a click on a key moves the focus to the key).
 */
let selection = { start: 0, end: 0 };

function rememberSelection() {
  if (document.activeElement !== expressionInput) return;
  const shown = expressionInput.value;
  const options = numberOptions();
  selection = {
    start: numbers.canonicalCaret(shown, expressionInput.selectionStart ?? shown.length, options),
    end: numbers.canonicalCaret(shown, expressionInput.selectionEnd ?? shown.length, options),
  };
}

function getState() {
  const length = expressionText.length;
  rememberSelection();
  return {
    text: expressionText,
    start: Math.min(selection.start, length),
    end: Math.min(selection.end, length),
  };
}

/** @param {import("./keypad.js").EditState} state */
function setState(state) {
  expressionText = state.text;
  selection = { start: state.start, end: state.end };
  renderExpression();
  expressionChanged();
}

/** Show `expressionText` localized in the box, with the caret where it belongs. */
function renderExpression() {
  const options = numberOptions();
  const shown = numbers.localizeExpression(expressionText, options);
  if (expressionInput.value !== shown) expressionInput.value = shown;
  // The limit counts canonical characters: separators never cut an expression short.
  expressionInput.maxLength = shown.length + Math.max(0, keypad.MAX_LENGTH - expressionText.length);
  if (document.activeElement === expressionInput) showSelection();
}

function showSelection() {
  const options = numberOptions();
  expressionInput.setSelectionRange(
    numbers.shownCaret(expressionText, selection.start, options),
    numbers.shownCaret(expressionText, selection.end, options),
  );
}

/** A native edit of the box (selection deleted, cut, IME, drop): read it back, show it again. */
function readExpressionBox() {
  const shown = expressionInput.value;
  const options = numberOptions();
  expressionText = numbers.canonicalize(shown, options);
  selection = {
    start: numbers.canonicalCaret(shown, expressionInput.selectionStart ?? shown.length, options),
    end: numbers.canonicalCaret(shown, expressionInput.selectionEnd ?? shown.length, options),
  };
  renderExpression();
  expressionChanged();
}

/** Show a result (an engine display string, or "" for none) localized. */
function showResultText(display) {
  resultText = display;
  resultOutput.value = display ? numbers.localizeNumber(display, numberOptions()) : "";
}

/** A number setting changed: show everything with numbers again. */
function showNumbers() {
  renderExpression();
  showResultText(resultText);
  memoryIndicator.title = memory ? `Memory: ${shownNumber(memory.display)}` : "";
}

/** A canonical number as the user reads it. */
const shownNumber = (canonical) => numbers.localizeNumber(canonical, numberOptions());

/** A canonical number as copies give it: shown, or canonical when the setting says so. */
const copiedNumber = (canonical) => (copiesCanonical() ? canonical : shownNumber(canonical));

/** The decimal point key shows the locale's separator (its name stays "decimal point"). */
function labelDecimalKey() {
  const separator = numbers.decimalSeparator(numberOptions());
  document.querySelectorAll('.key[data-key="."]').forEach((key) => {
    if (key.textContent !== separator) key.textContent = separator;
  });
}

/** Keep the draft, and never show a result that belongs to another expression. */
function expressionChanged() {
  saveDraft();
  scientific.expressionUsesAngleUnit(calc.usesAngleUnit(expressionText));
  if (!resultIsShown() && resultText) showResultText("");
}

/** @param {import("./keypad.js").Edit} change */
function apply(change) {
  setState(change.state);
  if (change.notice) announce(change.notice);
  else clearError();
}

/** Is the whole (non-empty) expression selected, so that what is typed replaces it? */
function wholeTextSelected() {
  const { text, start, end } = getState();
  return text !== "" && start === 0 && end === text.length;
}

function resultIsShown() {
  return lastResult !== null && expressionText === lastResult.expression;
}

/** The expression form of an engine display string (a leading "-" shows as "−"). */
function asExpression(display) {
  return display.startsWith("-") ? `−${display.slice(1)}` : display;
}

/** Start a new expression that continues from the result on screen. */
function continueFromResult() {
  const text = asExpression(lastResult.display);
  carry = { display: text, value: lastResult.value };
  lastResult = null;
  setState(keypad.caretAtEnd(text));
}

function startNewExpression() {
  lastResult = null;
  carry = null;
  setState(keypad.caretAtEnd(""));
}

// ---------------------------------------------------------------- keys

const TEXT_KEYS = new Set(["+", "−", "×", "÷", "%", "(", ")", ".", "^", "!"]);
/** What the function keys insert: a name and its "(" (the reciprocal: `1/(`). */
const FUNCTION_KEY = /^(?:[a-z]+|1\/)\($/;
/** The names a typed letter may be spelling (an "x" inside one is a letter, else ×). */
const NAMES = [...calc.FUNCTIONS, "pi"];

/**
 * A key from the keypad (or the keyboard outside the Expression box): the keypad's rules.
 * With `asText` (typing in the Expression box), characters go in as typed, like in any text
 * field, and the engine judges the expression at "=".
 * @param {string} key a data-key value of the keypad
 */
function press(key, asText = false) {
  const isDigit = /^[0-9]$/.test(key);
  if (asText && (isDigit || TEXT_KEYS.has(key))) {
    if (wholeTextSelected()) startNewExpression(); // typing over a selection replaces it
    else if (resultIsShown()) {
      if (isDigit || key === "." || key === "(") startNewExpression();
      else continueFromResult();
    }
    apply(keypad.insertText(getState(), key));
    return;
  }
  if (isDigit || key === ".") {
    if (resultIsShown()) startNewExpression();
    apply(key === "." ? keypad.point(getState()) : keypad.digit(getState(), key));
    return;
  }
  if (FUNCTION_KEY.test(key) || key === "pi") {
    if (resultIsShown()) startNewExpression();
    apply(key === "pi" ? keypad.pi(getState()) : keypad.openFunction(getState(), key));
    return;
  }
  switch (key) {
    case "+":
    case "−":
    case "×":
    case "÷":
      if (resultIsShown()) continueFromResult();
      apply(keypad.operator(getState(), key));
      return;
    case "^":
      if (resultIsShown()) continueFromResult();
      apply(keypad.operator(getState(), key));
      return;
    case "%":
    case "!":
    case "^2": {
      if (resultIsShown()) continueFromResult();
      const state = getState();
      apply(key === "%" ? keypad.percent(state) : key === "!" ? keypad.factorial(state) : keypad.square(state));
      return;
    }
    case "(":
    case ")":
      if (resultIsShown() && key === "(") startNewExpression();
      apply(keypad.parenthesis(getState(), key));
      return;
    case "±":
      if (resultIsShown()) continueFromResult();
      apply(keypad.changeSign(getState()));
      return;
    case "Backspace":
      apply(keypad.backspace(getState()));
      return;
    case "Delete":
      apply(keypad.clearEntry(getState()));
      return;
    case "AC":
      allClear();
      return;
    case "=":
      equals();
      return;
    case "MC":
    case "MR":
    case "M+":
    case "M-":
    case "MS":
      memoryKey(key);
      return;
    default:
  }
}

function allClear() {
  lastResult = null;
  carry = null;
  setState(keypad.caretAtEnd(""));
  showResultText("");
  clearError();
}

// ---------------------------------------------------------------- equals and results

function equals() {
  if (resultIsShown()) {
    repeatLast();
    return;
  }
  const expression = expressionText.trim();
  if (!expression) return;
  const outcome = calc.evaluate(expression, carry ?? undefined, scientific.angleUnit());
  if (!outcome.ok) {
    showError(outcome.error);
    return;
  }
  showResult(expression, outcome);
}

/** Repeated "=": apply the last top-level operation again to the result. */
function repeatLast() {
  const { repeat } = lastResult;
  if (!repeat) return;
  const outcome = calc.applyRepeat(lastResult.value, repeat);
  if (!outcome.ok) {
    showError(outcome.error);
    return;
  }
  const operand = asExpression(calc.formatDisplay(repeat.operand));
  const expression = `${asExpression(lastResult.display)}${OPERATOR_SYMBOL[repeat.operator]}${operand}`;
  showResult(expression, outcome);
}

function showResult(expression, outcome) {
  clearError();
  lastResult = { expression, display: outcome.display, value: outcome.value, repeat: outcome.repeat };
  carry = null;
  setState(keypad.caretAtEnd(expression));
  showResultText(outcome.display);
  const angle = calc.usesAngleUnit(expression) ? scientific.angleUnit() : undefined;
  onResult({ expression, result: outcome.display, value: outcome.value, engine: calc.ENGINE_VERSION, angle });
}

function showError(message) {
  errorBox.textContent = message;
  showResultText("");
  expressionInput.setAttribute("aria-invalid", "true");
}

function clearError() {
  if (errorBox.textContent) errorBox.textContent = "";
  expressionInput.removeAttribute("aria-invalid");
}

export function announce(message) {
  // Re-set so the same notice twice is announced twice.
  noticeBox.textContent = "";
  requestAnimationFrame(() => {
    noticeBox.textContent = message;
  });
}

// ---------------------------------------------------------------- memory

function readMemory() {
  try {
    const stored = JSON.parse(storage.getItem(MEMORY_KEY) ?? "null");
    return stored && typeof stored.value === "string" ? stored : null;
  } catch {
    return null;
  }
}

function writeMemory() {
  try {
    if (memory) storage.setItem(MEMORY_KEY, JSON.stringify(memory));
    else storage.removeItem(MEMORY_KEY);
  } catch {
    announce("Memory could not be saved on this device");
  }
  memoryIndicator.hidden = memory === null;
  memoryIndicator.title = memory ? `Memory: ${shownNumber(memory.display)}` : "";
}

/** The value on screen: the result, or the expression evaluated; null (and a message) if none. */
function currentValue() {
  if (resultIsShown()) return { value: lastResult.value, display: lastResult.display };
  const text = expressionText.trim();
  if (!text) return null;
  const outcome = calc.evaluate(text, carry ?? undefined, scientific.angleUnit());
  if (!outcome.ok) {
    showError(outcome.error);
    return null;
  }
  return { value: outcome.value, display: outcome.display };
}

function memoryKey(key) {
  if (key === "MC") {
    memory = null;
    writeMemory();
    announce("Memory cleared");
    return;
  }
  if (key === "MR") {
    if (!memory) {
      announce("Memory is empty");
      return;
    }
    if (resultIsShown()) startNewExpression();
    const text = asExpression(memory.display);
    const change = keypad.insertNumber(getState(), text);
    apply(change);
    if (!change.notice && expressionText.startsWith(text)) carry = { display: text, value: memory.value };
    return;
  }
  const current = currentValue();
  if (!current) {
    if (!errorBox.textContent) announce("Nothing to put in memory");
    return;
  }
  let outcome = { ok: true, ...current };
  if (key === "M+" && memory) outcome = calc.add(memory.value, current.value);
  if (key === "M-") outcome = calc.subtract(memory ? memory.value : "0", current.value);
  if (!outcome.ok) {
    showError(outcome.error);
    return;
  }
  memory = { value: outcome.value, display: outcome.display };
  writeMemory();
  announce(`Memory: ${shownNumber(memory.display)}`);
}

// ---------------------------------------------------------------- keyboard, paste, copy

const KEYBOARD = {
  "+": "+",
  "-": "−",
  "−": "−",
  "*": "×",
  "×": "×",
  "/": "÷",
  "÷": "÷",
  "%": "%",
  "(": "(",
  ")": ")",
  ".": ".",
  ",": ".",
  "^": "^",
  "!": "!",
  "π": "pi",
  "√": "sqrt(",
  "²": "^2",
  "=": "=",
  Enter: "=",
  Backspace: "Backspace",
  Delete: "Delete",
  Escape: "AC",
};

function keyFor(key) {
  if (/^[0-9]$/.test(key)) return key;
  return Object.hasOwn(KEYBOARD, key) ? KEYBOARD[key] : null;
}

function onKeyDown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  const target = /** @type {HTMLElement} */ (event.target);
  const inExpression = target === expressionInput;
  // Other text fields (history search) keep their keys, except Escape there does nothing here.
  if (!inExpression && target.closest("input, textarea, select, [contenteditable]")) return;
  if (/^[a-z]$/i.test(event.key) && typeLetter(event.key, inExpression)) {
    event.preventDefault();
    return;
  }
  const key = keyFor(event.key);
  if (key === null) {
    if (inExpression && event.key.length === 1) event.preventDefault(); // not a calculator key
    return;
  }
  // Enter on a focused key must compute, never press that key again.
  event.preventDefault();
  press(key, inExpression);
}

/**
 * A typed letter: it goes in as text when it goes on spelling a function name or pi, or is the
 * e of an exponent (1.5e+20); after a result it starts a new expression, like a digit. An x
 * that spells nothing is ×. False when the letter is not the calculator's.
 */
function typeLetter(letter, asText = true) {
  const fresh = resultIsShown() || wholeTextSelected();
  const state = getState();
  const before = fresh ? "" : state.text.slice(0, state.start);
  const word = /[a-z]*$/i.exec(before)[0].toLowerCase() + letter.toLowerCase();
  const exponent = word === "e" && /[0-9.]$/.test(before);
  if (!exponent && !NAMES.some((name) => name.startsWith(word))) {
    if (word.endsWith("x")) press("×", asText);
    return word.endsWith("x");
  }
  if (fresh) startNewExpression();
  apply(keypad.insertText(getState(), letter.toLowerCase()));
  return true;
}

/** Soft keyboards send text without usable keydown events: map it the same way. */
function onBeforeInput(event) {
  if (event.inputType !== "insertText" || event.data === null) return;
  event.preventDefault();
  for (const ch of event.data) {
    const key = keyFor(ch);
    if (/^[a-z]$/i.test(ch)) typeLetter(ch);
    else if (key !== null && key !== "AC") press(key, true);
  }
}

function onPaste(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  if (target !== expressionInput && target.closest("input, textarea, [contenteditable]")) return;
  const text = event.clipboardData?.getData("text/plain") ?? "";
  event.preventDefault();
  // Numbers in the locale's form first (1.234,5 in de-DE), then the engine's own rules.
  const normalized = calc.normalizePaste(numbers.canonicalPaste(text, numberOptions()));
  if (!normalized.ok) {
    showError(`Paste rejected: ${normalized.error}`);
    return;
  }
  if (resultIsShown() || wholeTextSelected()) startNewExpression();
  apply(keypad.insertText(getState(), normalized.expression));
  expressionInput.focus({ preventScroll: true });
}

function onCopy(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  const selected =
    target === expressionInput
      ? expressionInput.selectionStart !== expressionInput.selectionEnd
      : Boolean(window.getSelection()?.toString());
  if (selected && target === expressionInput && copiesCanonical()) {
    const { text, start, end } = getState(); // the selected part, canonical
    event.preventDefault();
    event.clipboardData?.setData("text/plain", text.slice(start, end));
    return;
  }
  if (selected || target.closest?.("#history-search")) return;
  if (!resultText) return;
  const value = copiedNumber(resultText);
  event.preventDefault();
  event.clipboardData?.setData("text/plain", value);
  announce(`Copied ${value}`);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    announce(`Copied ${text}`);
  } catch {
    announce("Copying is not allowed here");
  }
}

/** Copy a canonical number (a history entry's result) in the form the settings choose. */
export function copyNumber(canonical) {
  return copyText(copiedNumber(canonical));
}

// ---------------------------------------------------------------- history entries

/** Put an entry's expression back to edit. @param {import("./history.js").Entry} entry */
export function reuse(entry) {
  if (entry.angle) scientific.setAngleUnit(entry.angle);
  lastResult = null;
  carry = null;
  setState(keypad.caretAtEnd(entry.expression));
  showResultText("");
  clearError();
  expressionInput.focus();
}

/** Insert an entry's result at the caret. @param {import("./history.js").Entry} entry */
export function insertResult(entry) {
  if (resultIsShown()) startNewExpression();
  const text = asExpression(entry.result);
  const change = keypad.insertNumber(getState(), text);
  apply(change);
  if (!change.notice && expressionText.startsWith(text)) {
    carry = { display: text, value: entry.value ?? entry.result };
  }
  expressionInput.focus();
}

// ---------------------------------------------------------------- draft (survives reloads)

/** Keep the expression, and the result it shows (or continues from), for the next visit. */
export function saveDraft() {
  try {
    const result = resultIsShown() ? lastResult : null;
    storage.setItem(DRAFT_KEY, JSON.stringify({ text: expressionText, result, carry }));
  } catch {
    /* the draft is a convenience; the expression is still on screen */
  }
}

function readDraft() {
  try {
    const draft = JSON.parse(storage.getItem(DRAFT_KEY) ?? "null");
    if (draft && typeof draft.text === "string") return draft;
  } catch {
    /* unreadable: the older form, or nothing */
  }
  const text = storage.getItem(OLD_DRAFT_KEY);
  return text ? { text, result: null, carry: null } : null;
}

const isNumberPair = (v) => v !== null && typeof v === "object" && typeof v.display === "string" && typeof v.value === "string";

function restoreDraft() {
  const draft = readDraft();
  if (!draft?.text) return;
  const text = draft.text.slice(0, keypad.MAX_LENGTH);
  setState(keypad.caretAtEnd(text));
  const { result } = draft;
  if (isNumberPair(result) && result.expression === text) {
    lastResult = { expression: text, display: result.display, value: result.value, repeat: result.repeat ?? null };
    showResultText(result.display);
  } else if (isNumberPair(draft.carry) && text.startsWith(draft.carry.display)) {
    carry = { display: draft.carry.display, value: draft.carry.value };
  }
}

// ---------------------------------------------------------------- start

/**
 * Wire the calculator to the page.
 * @param {{storage: Storage, onResult: typeof onResult}} options
 */
export function startCalculator(options) {
  storage = options.storage;
  onResult = options.onResult;
  memory = readMemory();
  scientific.startScientific({ storage, announce });
  document.querySelectorAll(".key[data-key]").forEach((button) => {
    button.addEventListener("click", () => press(/** @type {HTMLElement} */ (button).dataset.key));
  });
  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("paste", onPaste);
  document.addEventListener("copy", onCopy);
  expressionInput.addEventListener("beforeinput", onBeforeInput);
  expressionInput.addEventListener("input", (event) => {
    if (/** @type {InputEvent} */ (event).isComposing) return; // read once the IME is done
    readExpressionBox();
    clearError();
  });
  expressionInput.addEventListener("compositionend", () => {
    readExpressionBox();
    clearError();
  });
  document.addEventListener("selectionchange", rememberSelection);
  expressionInput.addEventListener("focus", showSelection);
  labelDecimalKey();
  onNumberFormatChange(showNumbers);
  if (matchMedia("(pointer: coarse)").matches) expressionInput.inputMode = "none";
  restoreDraft();
  writeMemory();
}
