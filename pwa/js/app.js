// The calculator page: wires the engine, keypad rules, history (local, or synced for premium
// users) and the shell together.

import * as engine from "./engine.js";
import * as keypad from "./keypad.js";
import { HistoryStore } from "./history.js";
import { saveFile } from "./download.js";
import { exportName, toCsv, toJson } from "./export.js";
import { startShell } from "./shell.js";
import { PREMIUM_USER_KEY as PREMIUM_KEY, me } from "./api.js";
import { SyncEngine } from "./sync.js";

const DRAFT_KEY = "calcapp.draft.v1";
const MEMORY_KEY = "calcapp.memory.v1";
/** The last premium user seen here: their synced history opens at once, even offline. */
const PAGE_SIZE = 100;
const UNDO_MS = 8000;
const SEARCH_DELAY_MS = 200;

const OPERATOR_SYMBOL = { "+": "+", "-": "−", "*": "×", "/": "÷" };

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const expressionInput = /** @type {HTMLInputElement} */ ($("expression"));
const resultOutput = /** @type {HTMLOutputElement} */ ($("result"));
const errorBox = $("error");
const noticeBox = $("notice");
const memoryIndicator = $("memory-indicator");
const historyList = $("history-list");
const historyEmpty = $("history-empty");
const historyStatus = $("history-status");
const historySearch = /** @type {HTMLInputElement} */ ($("history-search"));

const store = new HistoryStore(safeStorage());

/**
 * After "=": what was computed, while the expression is unchanged.
 * @type {{expression: string, display: string, value: string, repeat: any} | null}
 */
let lastResult = null;
/** A previous result the expression continues from: {display, value} (see engine carry). */
let carry = null;
/** @type {{value: string, display: string} | null} */
let memory = readMemory();
let shownCount = PAGE_SIZE;
let undoTimer = 0;

/** Premium: the user's sync engine (null: the free tier's local store). @type {SyncEngine | null} */
let sync = null;
/** Premium: the history shown (synced cache and outbox), newest first. */
let synced = [];
/** Premium: the answer to the current search {query, entries, next}. */
let found = null;
let searchTimer = 0;

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    const data = new Map();
    return /** @type {Storage} */ ({
      getItem: (k) => (data.has(k) ? data.get(k) : null),
      setItem: (k, v) => void data.set(k, String(v)),
      removeItem: (k) => void data.delete(k),
    });
  }
}

// ---------------------------------------------------------------- expression state

/**
 * The caret of the Expression box, kept here because browsers do not keep an unfocused
 * input's selection reliably (a click on a key moves the focus to the key).
 */
let selection = { start: 0, end: 0 };

function rememberSelection() {
  if (document.activeElement !== expressionInput) return;
  selection = {
    start: expressionInput.selectionStart ?? expressionInput.value.length,
    end: expressionInput.selectionEnd ?? expressionInput.value.length,
  };
}

function getState() {
  const length = expressionInput.value.length;
  rememberSelection();
  return {
    text: expressionInput.value,
    start: Math.min(selection.start, length),
    end: Math.min(selection.end, length),
  };
}

/** @param {import("./keypad.js").EditState} state */
function setState(state) {
  expressionInput.value = state.text;
  selection = { start: state.start, end: state.end };
  if (document.activeElement === expressionInput) {
    expressionInput.setSelectionRange(state.start, state.end);
  }
  expressionChanged();
}

/** Keep the draft, and never show a result that belongs to another expression. */
function expressionChanged() {
  saveDraft();
  if (!resultIsShown() && resultOutput.value) resultOutput.value = "";
}

/** @param {import("./keypad.js").Edit} change */
function apply(change) {
  setState(change.state);
  if (change.notice) announce(change.notice);
  else clearError();
}

function resultIsShown() {
  return lastResult !== null && expressionInput.value === lastResult.expression;
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

const TEXT_KEYS = new Set(["+", "−", "×", "÷", "%", "(", ")", "."]);

/**
 * A key from the keypad (or the keyboard outside the Expression box): the keypad's rules.
 * With `asText` (typing in the Expression box), characters go in as typed, like in any text
 * field, and the engine judges the expression at "=".
 * @param {string} key a data-key value of the keypad
 */
function press(key, asText = false) {
  const isDigit = /^[0-9]$/.test(key);
  if (asText && (isDigit || TEXT_KEYS.has(key))) {
    if (resultIsShown()) {
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
  switch (key) {
    case "+":
    case "−":
    case "×":
    case "÷":
      if (resultIsShown()) continueFromResult();
      apply(keypad.operator(getState(), key));
      return;
    case "%":
      if (resultIsShown()) continueFromResult();
      apply(keypad.percent(getState()));
      return;
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
  resultOutput.value = "";
  clearError();
}

// ---------------------------------------------------------------- equals and results

function equals() {
  if (resultIsShown()) {
    repeatLast();
    return;
  }
  const expression = expressionInput.value.trim();
  if (!expression) return;
  const outcome = engine.evaluate(expression, carry ?? undefined);
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
  const outcome = engine.applyRepeat(lastResult.value, repeat);
  if (!outcome.ok) {
    showError(outcome.error);
    return;
  }
  const operand = asExpression(engine.formatDisplay(repeat.operand));
  const expression = `${asExpression(lastResult.display)}${OPERATOR_SYMBOL[repeat.operator]}${operand}`;
  showResult(expression, outcome);
}

function showResult(expression, outcome) {
  clearError();
  lastResult = { expression, display: outcome.display, value: outcome.value, repeat: outcome.repeat };
  carry = null;
  setState(keypad.caretAtEnd(expression));
  resultOutput.value = outcome.display;
  const calc = { expression, result: outcome.display, value: outcome.value, engine: engine.ENGINE_VERSION };
  if (sync) {
    sync.record(calc).catch(reportNotSaved); // it is listed once stored (the "change" event)
    return;
  }
  reportSave(store.add(calc).report);
  renderHistory();
}

function showError(message) {
  errorBox.textContent = message;
  resultOutput.value = "";
  expressionInput.setAttribute("aria-invalid", "true");
}

function clearError() {
  if (errorBox.textContent) errorBox.textContent = "";
  expressionInput.removeAttribute("aria-invalid");
}

function announce(message) {
  // Re-set so the same notice twice is announced twice.
  noticeBox.textContent = "";
  requestAnimationFrame(() => {
    noticeBox.textContent = message;
  });
}

// ---------------------------------------------------------------- memory

function readMemory() {
  try {
    const stored = JSON.parse(safeStorage().getItem(MEMORY_KEY) ?? "null");
    return stored && typeof stored.value === "string" ? stored : null;
  } catch {
    return null;
  }
}

function writeMemory() {
  try {
    if (memory) safeStorage().setItem(MEMORY_KEY, JSON.stringify(memory));
    else safeStorage().removeItem(MEMORY_KEY);
  } catch {
    announce("Memory could not be saved on this device");
  }
  memoryIndicator.hidden = memory === null;
  memoryIndicator.title = memory ? `Memory: ${memory.display}` : "";
}

/** The value on screen: the result, or the expression evaluated; null (and a message) if none. */
function currentValue() {
  if (resultIsShown()) return { value: lastResult.value, display: lastResult.display };
  const text = expressionInput.value.trim();
  if (!text) return null;
  const outcome = engine.evaluate(text, carry ?? undefined);
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
    if (!change.notice && expressionInput.value.startsWith(text)) carry = { display: text, value: memory.value };
    return;
  }
  const current = currentValue();
  if (!current) {
    if (!errorBox.textContent) announce("Nothing to put in memory");
    return;
  }
  let outcome = { ok: true, ...current };
  if (key === "M+" && memory) outcome = engine.add(memory.value, current.value);
  if (key === "M-") outcome = engine.subtract(memory ? memory.value : "0", current.value);
  if (!outcome.ok) {
    showError(outcome.error);
    return;
  }
  memory = { value: outcome.value, display: outcome.display };
  writeMemory();
  announce(`Memory: ${memory.display}`);
}

// ---------------------------------------------------------------- keyboard, paste, copy

const KEYBOARD = {
  "+": "+",
  "-": "−",
  "−": "−",
  "*": "×",
  x: "×",
  X: "×",
  "×": "×",
  "/": "÷",
  "÷": "÷",
  "%": "%",
  "(": "(",
  ")": ")",
  ".": ".",
  ",": ".",
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
  if (inExpression && (event.key === "e" || event.key === "E")) {
    event.preventDefault(); // exponent of a number literal such as 1.5e+20: text only
    apply(keypad.insertText(getState(), "e"));
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

/** Soft keyboards send text without usable keydown events: map it the same way. */
function onBeforeInput(event) {
  if (event.inputType !== "insertText" || event.data === null) return;
  event.preventDefault();
  for (const ch of event.data) {
    const key = ch === "e" || ch === "E" ? "e" : keyFor(ch);
    if (key === "e") apply(keypad.insertText(getState(), "e"));
    else if (key !== null && key !== "AC") press(key, true);
  }
}

function onPaste(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  if (target !== expressionInput && target.closest("input, textarea, [contenteditable]")) return;
  const text = event.clipboardData?.getData("text/plain") ?? "";
  event.preventDefault();
  const normalized = engine.normalizePaste(text);
  if (!normalized.ok) {
    showError(`Paste rejected: ${normalized.error}`);
    return;
  }
  if (resultIsShown()) startNewExpression();
  apply(keypad.insertText(getState(), normalized.expression));
  expressionInput.focus({ preventScroll: true });
}

function onCopy(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  const selected =
    target === expressionInput
      ? expressionInput.selectionStart !== expressionInput.selectionEnd
      : Boolean(window.getSelection()?.toString());
  if (selected || target.closest?.("#history-search")) return;
  const value = resultOutput.value;
  if (!value) return;
  event.preventDefault();
  event.clipboardData?.setData("text/plain", value);
  announce(`Copied ${value}`);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    announce(`Copied ${text}`);
  } catch {
    announce("Copying is not allowed here");
  }
}

// ---------------------------------------------------------------- history panel

function reportSave(report) {
  if (!report.saved) {
    historyStatus.textContent = "History could not be saved: this device's storage is full.";
  } else if (report.dropped > 0) {
    const n = report.dropped;
    historyStatus.textContent = `History is full: removed the oldest ${n} calculation${n === 1 ? "" : "s"}.`;
  }
}

/** @param {unknown} error why the synced history could not store a calculation */
function reportNotSaved(error) {
  const full = error instanceof DOMException && error.name === "QuotaExceededError";
  historyStatus.textContent = full
    ? "Not saved: this device's storage is full."
    : "Not saved: this device's storage is not available.";
}

/** The entries to list: the local store, or (premium) the synced view or search answer. */
function historyEntries() {
  if (!sync) return store.search(historySearch.value);
  const query = historySearch.value.trim();
  if (!query) return synced;
  if (found?.query === query) return found.entries;
  return synced.filter((e) => e.expression.toLowerCase().includes(query.toLowerCase()));
}

function renderHistory() {
  const entries = historyEntries();
  const shown = entries.slice(0, shownCount);
  const items = shown.map(historyItem);
  const more = entries.length - shown.length;
  if (more > 0 || (sync && found?.next && found.query === historySearch.value.trim())) {
    items.push(moreButton(more > 0 ? `Show ${Math.min(PAGE_SIZE, more)} more` : "Show more"));
  }
  historyList.replaceChildren(...items);
  const searching = historySearch.value.trim() !== "";
  historyEmpty.hidden = entries.length > 0;
  historyEmpty.textContent = searching ? "No calculation matches." : "No calculations yet.";
}

function moreButton(label) {
  const more = document.createElement("li");
  more.className = "history-more";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chip";
  button.textContent = label;
  button.addEventListener("click", () => {
    if (sync && found?.next && historyEntries().length <= shownCount) searchSynced(found.next);
    shownCount += PAGE_SIZE;
    renderHistory();
  });
  more.append(button);
  return more;
}

function actionButton(label, name, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chip";
  button.textContent = label;
  button.setAttribute("aria-label", name);
  button.addEventListener("click", onClick);
  return button;
}

/** @param {import("./history.js").Entry} entry */
function historyItem(entry) {
  const li = document.createElement("li");
  li.className = "history-entry";
  const text = `${entry.expression} = ${entry.result}`;
  const label = document.createElement("span");
  label.className = "history-text";
  label.textContent = text;
  const time = document.createElement("time");
  time.dateTime = entry.created_at;
  time.textContent = formatTime(entry.created_at);
  const actions = document.createElement("div");
  actions.className = "history-actions";
  actions.append(
    actionButton("Reuse", `Reuse ${text}`, () => reuse(entry)),
    actionButton("Insert", `Insert result ${entry.result}`, () => insertResult(entry)),
    actionButton("Copy", `Copy result ${entry.result}`, () => copyText(entry.result)),
  );
  // Rows made outside sync have no (device, seq) a delete could name.
  if (!sync || entry.device_id) actions.append(actionButton("Delete", `Delete ${text}`, () => deleteEntry(entry)));
  li.append(label, time, actions);
  return li;
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" });
}

function reuse(entry) {
  lastResult = null;
  carry = null;
  setState(keypad.caretAtEnd(entry.expression));
  resultOutput.value = "";
  clearError();
  expressionInput.focus();
}

function insertResult(entry) {
  if (resultIsShown()) startNewExpression();
  const text = asExpression(entry.result);
  const change = keypad.insertNumber(getState(), text);
  apply(change);
  if (!change.notice && expressionInput.value.startsWith(text)) {
    carry = { display: text, value: entry.value ?? entry.result };
  }
  expressionInput.focus();
}

function deleteEntry(entry) {
  const message = `Deleted ${entry.expression} = ${entry.result}`;
  if (sync) {
    removeSynced([entry], message);
    return;
  }
  const removed = store.remove(entry.id);
  renderHistory();
  if (removed) offerUndo(message, [removed]);
}

function clearHistory() {
  const cleared = (n) => `Cleared ${n} calculation${n === 1 ? "" : "s"}`;
  if (sync) {
    const entries = synced.filter((e) => e.device_id);
    if (entries.length) removeSynced(entries, cleared(entries.length));
    return;
  }
  if (store.entries.length === 0) return;
  const removed = store.clear();
  renderHistory();
  offerUndo(cleared(removed.length), removed);
}

/** Premium delete: hidden at once, deleted on every device once synced; undo re-adds. */
async function removeSynced(entries, message) {
  const engine_ = sync;
  try {
    await engine_.remove(entries);
  } catch {
    historyStatus.textContent = "Could not delete: this device's storage is not available.";
    return;
  }
  if (found) found = { ...found, entries: found.entries.filter((e) => !entries.includes(e)) };
  renderHistory();
  offerUndo(message, entries, engine_);
}

/**
 * @param {string} message
 * @param {any[]} entries what to put back
 * @param {SyncEngine | null} [engine_] the synced history they came from (null: local store)
 */
function offerUndo(message, entries, engine_ = null) {
  const toast = $("toast");
  const action = $("toast-action");
  $("toast-text").textContent = message;
  action.textContent = "Undo";
  toast.hidden = false;
  clearTimeout(undoTimer);
  const close = () => {
    toast.hidden = true;
    action.onclick = null;
  };
  action.onclick = () => {
    if (engine_) engine_.restore(entries).catch(reportNotSaved);
    else reportSave(store.restore(entries));
    renderHistory();
    announce("Restored");
    close();
  };
  undoTimer = setTimeout(close, UNDO_MS);
  announce(`${message}. Undo is available.`);
}

function exportHistory(kind) {
  const entries = sync ? synced : store.entries;
  if (entries.length === 0) {
    announce("History is empty: nothing to export");
    return;
  }
  if (kind === "csv") saveFile(new Blob([toCsv(entries)], { type: "text/csv" }), exportName("csv"));
  else saveFile(new Blob([toJson(entries)], { type: "application/json" }), exportName("json"));
}

// ---------------------------------------------------------------- premium: synced history

const SYNC_TEXT = {
  synced: () => "Synced",
  waiting: (n) => `${n} waiting`,
  offline: (n) => (n ? `Offline — ${n} waiting` : "Offline"),
  "paused-signed-out": () => "Sync paused: signed out",
  "paused-premium": () => "Sync paused: premium ended",
  error: (n) => `Sync problem — ${n} waiting`,
};

/** @type {import("./sync.js").SyncState | null} */
let syncState = null;

/** @param {import("./sync.js").SyncState} state */
function showSyncState(state) {
  syncState = state;
  const text = SYNC_TEXT[state.mode](state.waiting);
  if ($("sync-text").textContent !== text) $("sync-text").textContent = text; // a polite live region
  showSyncAge();
}

/** The age of the oldest waiting entry, next to the live region (not announced each minute). */
function showSyncAge() {
  const since = syncState?.waiting ? Date.parse(syncState.oldestWaitingAt ?? "") : NaN;
  const minutes = Math.floor((Date.now() - since) / 60000);
  let age = "";
  if (Number.isNaN(minutes)) age = "";
  else if (minutes < 1) age = "oldest: just now";
  else if (minutes < 60) age = `oldest: ${minutes} min ago`;
  else if (minutes < 2880) age = `oldest: ${Math.floor(minutes / 60)} h ago`;
  else age = `oldest: ${Math.floor(minutes / 1440)} days ago`;
  $("sync-age").textContent = age;
}

async function refreshSynced() {
  const engine_ = sync;
  const entries = await engine_?.list().catch(() => null);
  if (!entries || sync !== engine_) return;
  synced = entries;
  if (historySearch.value.trim()) searchSynced();
  else renderHistory();
}

/**
 * Premium search: the local cache at once, then the server's answer (the cache when offline).
 * @param {string | null} [next] the cursor of the next page of the current search
 */
function searchSynced(next = null) {
  clearTimeout(searchTimer);
  const query = historySearch.value.trim();
  if (!next) found = null;
  if (!sync || !query) return;
  const engine_ = sync;
  searchTimer = setTimeout(async () => {
    const page = await engine_.search(query, next).catch(() => null);
    if (!page || sync !== engine_ || historySearch.value.trim() !== query) return;
    const earlier = next && found?.query === query ? found.entries : [];
    found = { query, entries: [...earlier, ...page.entries], next: page.next };
    renderHistory();
  }, next ? 0 : SEARCH_DELAY_MS);
}

function startPremium(userId) {
  if (sync?.userId === userId) return;
  stopPremium();
  const engine_ = new SyncEngine(userId);
  sync = engine_;
  engine_.addEventListener("state", (event) => showSyncState(/** @type {CustomEvent} */ (event).detail));
  engine_.addEventListener("change", refreshSynced);
  engine_.addEventListener("user", (event) => {
    stopPremium(); // meanwhile calculations go to the local store (uploaded if the new account is premium)
    useAccount(/** @type {CustomEvent} */ (event).detail);
  });
  engine_.ready.catch(() => {
    // IndexedDB unusable (some private modes): the free tier's local history still works.
    if (sync === engine_) stopPremium();
  });
  $("sync-status").hidden = false;
  engine_.start(store.entries).catch(() => {});
  refreshSynced();
}

function stopPremium() {
  if (!sync) return;
  sync.close();
  sync = null;
  synced = [];
  found = null;
  syncState = null;
  $("sync-status").hidden = true;
  renderHistory();
}

/** The signed-in account (null: signed out) decides the tier. @param {{id: string, premium: boolean} | null} account */
function useAccount(account) {
  try {
    if (account?.premium) safeStorage().setItem(PREMIUM_KEY, account.id);
    else safeStorage().removeItem(PREMIUM_KEY);
  } catch {
    /* storage full: the tier is only remembered for the next offline start */
  }
  if (account?.premium) startPremium(account.id);
  else stopPremium();
}

/** Ask who is signed in; offline or unsure (5xx), the page keeps the tier it has. */
function checkAccount() {
  me().then(useAccount, (error) => error?.status === 401 && useAccount(null));
}

// ---------------------------------------------------------------- draft (survives reloads)

function saveDraft() {
  try {
    safeStorage().setItem(DRAFT_KEY, expressionInput.value);
  } catch {
    /* the draft is a convenience; the expression is still on screen */
  }
}

function restoreDraft() {
  const draft = safeStorage().getItem(DRAFT_KEY);
  if (draft) setState(keypad.caretAtEnd(draft.slice(0, keypad.MAX_LENGTH)));
}

// ---------------------------------------------------------------- start

function start() {
  document.querySelectorAll(".key").forEach((button) => {
    button.addEventListener("click", () => press(/** @type {HTMLElement} */ (button).dataset.key));
  });
  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("paste", onPaste);
  document.addEventListener("copy", onCopy);
  expressionInput.addEventListener("beforeinput", onBeforeInput);
  expressionInput.addEventListener("input", () => {
    rememberSelection();
    expressionChanged();
    clearError();
  });
  document.addEventListener("selectionchange", rememberSelection);
  expressionInput.addEventListener("focus", () => {
    expressionInput.setSelectionRange(selection.start, selection.end);
  });
  if (matchMedia("(pointer: coarse)").matches) expressionInput.inputMode = "none";
  historySearch.addEventListener("input", () => {
    shownCount = PAGE_SIZE;
    searchSynced();
    renderHistory();
  });
  $("export-csv").addEventListener("click", () => exportHistory("csv"));
  $("export-json").addEventListener("click", () => exportHistory("json"));
  $("clear-history").addEventListener("click", clearHistory);
  window.addEventListener("storage", (event) => {
    if (event.key === store.key) {
      store.reload();
      renderHistory();
    }
  });
  if (store.recovered) {
    historyStatus.textContent = "Stored history could not be read; it was kept aside and a new one started.";
  }
  restoreDraft();
  writeMemory();
  const premiumUser = safeStorage().getItem(PREMIUM_KEY);
  if (premiumUser) startPremium(premiumUser);
  renderHistory();
  startShell({ beforeReload: saveDraft });
  setInterval(showSyncAge, 30000);
  document.documentElement.dataset.ready = "true";
  performance.mark("calcapp-ready"); // the first calculation is possible from here (bench/)
  checkAccount(); // in the background: the calculator never waits for the network
}

start();
