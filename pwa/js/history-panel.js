// The history panel: lists whichever History (history.js) the account state selects, with
// search, paging, reuse, copy, delete with undo, export, the premium sync status and the offer
// to add the device's own calculations to a premium account.

import { copyNumber, insertResult, reuse } from "./calculator.js";
import { saveFile } from "./download.js";
import { exportName, toCsv, toJson } from "./export.js";
import { numberOptions, onNumberFormatChange } from "./number-settings.js";
import { canonicalPaste, localizeExpression, localizeNumber } from "./numbers.js";

/** @typedef {import("./history.js").History} History @typedef {import("./history.js").Entry} Entry */

const PAGE_SIZE = 100;
const UNDO_MS = 8000;
const SEARCH_DELAY_MS = 200;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const list = $("history-list");
const empty = $("history-empty");
const status = $("history-status");
const searchBox = /** @type {HTMLInputElement} */ ($("history-search"));
const notice = $("notice");

/** @type {History} */
let history;
let shownCount = PAGE_SIZE;
/** The answer to the current search: {query, entries, next}. */
let found = null;
let searchTimer = 0;
let undoTimer = 0;
const wired = new WeakSet();

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function announce(message) {
  notice.textContent = "";
  requestAnimationFrame(() => {
    notice.textContent = message;
  });
}

/** Show `next` in the panel (the page's History changed: signed in or out, premium or not). @param {History} next */
export function show(next) {
  history = next;
  found = null;
  shownCount = PAGE_SIZE;
  $("sync-status").hidden = next.kind !== "synced";
  if (next.kind === "synced") showSyncState(next.syncState()); // never the previous account's
  if (!wired.has(next)) {
    wired.add(next);
    next.onChange(() => {
      if (history !== next) return;
      if (query()) search();
      else render();
    });
  }
  if (query()) search();
  render();
}

/** The search, canonical: typed in the locale's form ("1.234,5") or canonical ("1234.5"). */
const query = () => canonicalPaste(searchBox.value.trim(), numberOptions());

/** "expression = result" as the user reads it (the entry itself stays canonical). @param {Entry} entry */
function shownText(entry) {
  const options = numberOptions();
  return `${localizeExpression(entry.expression, options)} = ${localizeNumber(entry.result, options)}`;
}

function entries() {
  const q = query();
  if (!q) return history.list();
  return found?.query === q ? found.entries : history.filter(q);
}

function render() {
  const all = entries();
  const shown = all.slice(0, shownCount);
  const items = shown.map(item);
  const more = all.length - shown.length;
  if (more > 0 || (found?.next && found.query === query())) {
    items.push(moreButton(more > 0 ? `Show ${Math.min(PAGE_SIZE, more)} more` : "Show more"));
  }
  list.replaceChildren(...items);
  empty.hidden = all.length > 0;
  empty.textContent = query() ? "No calculation matches." : "No calculations yet.";
}

/** The full answer to a search (the server's, for a synced history), a moment after typing. */
function search(next = null) {
  clearTimeout(searchTimer);
  const q = query();
  if (!next) found = null;
  if (!q) return;
  const searched = history;
  searchTimer = setTimeout(
    async () => {
      const page = await searched.search(q, next).catch(() => null);
      if (!page || history !== searched || query() !== q) return;
      const earlier = next && found?.query === q ? found.entries : [];
      found = { query: q, entries: [...earlier, ...page.entries], next: page.next };
      render();
    },
    next ? 0 : SEARCH_DELAY_MS,
  );
}

function moreButton(label) {
  const more = document.createElement("li");
  more.className = "history-more";
  const button = chip(label, label, () => {
    if (found?.next && entries().length <= shownCount) search(found.next);
    shownCount += PAGE_SIZE;
    render();
  });
  more.append(button);
  return more;
}

function chip(label, name, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chip";
  button.textContent = label;
  button.setAttribute("aria-label", name);
  button.addEventListener("click", onClick);
  return button;
}

/** The angle unit a trigonometric entry was computed in. @param {"deg" | "rad"} angle */
function angleTag(angle) {
  const tag = document.createElement("span");
  tag.className = "history-angle";
  tag.textContent = angle === "rad" ? "RAD" : "DEG";
  tag.title = angle === "rad" ? "Angles in radians" : "Angles in degrees";
  return tag;
}

/** @param {Entry} entry */
function item(entry) {
  const li = document.createElement("li");
  li.className = "history-entry";
  const text = shownText(entry);
  const result = localizeNumber(entry.result, numberOptions());
  const label = document.createElement("span");
  label.className = "history-text";
  label.textContent = text;
  const time = document.createElement("time");
  time.dateTime = entry.created_at;
  time.textContent = formatTime(entry.created_at);
  const actions = document.createElement("div");
  actions.className = "history-actions";
  actions.append(
    chip("Reuse", `Reuse ${text}`, () => reuse(entry)),
    chip("Insert", `Insert result ${result}`, () => insertResult(entry)),
    chip("Copy", `Copy result ${result}`, () => copyNumber(entry.result)),
  );
  if (entry.notSynced) actions.append(chip("Dismiss", `Dismiss ${text}`, () => dismiss(entry)));
  else if (entry.deletable !== false) actions.append(chip("Delete", `Delete ${text}`, () => remove([entry], `Deleted ${text}`)));
  li.append(label, time);
  if (entry.angle) li.append(angleTag(entry.angle));
  if (entry.notSynced) {
    li.classList.add("not-synced");
    const why = document.createElement("span");
    why.className = "history-problem";
    why.textContent = `Not synced: ${entry.notSynced}`;
    li.append(why);
  }
  li.append(actions);
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

// ---------------------------------------------------------------- changes

/** A message under the search box (a polite live region). @param {string} message */
export function tell(message) {
  status.textContent = message;
}

/** Say how saving a calculation went. @param {Promise<string | null>} saving */
export function saving(saving) {
  const shown = history;
  saving.then(
    (message) => {
      if (message) status.textContent = message;
      if (history === shown && shown.kind === "local") render(); // a synced one tells by onChange
    },
    (error) => {
      const full = error instanceof DOMException && error.name === "QuotaExceededError";
      status.textContent =
        error instanceof DOMException
          ? `Not saved: this device's storage is ${full ? "full" : "not available"}.`
          : String(error?.message ?? error);
      if (history === shown) render();
    },
  );
}

/** @param {Entry[]} chosen @param {string} message */
async function remove(chosen, message) {
  const from = history;
  let removed;
  try {
    removed = await from.remove(chosen);
  } catch {
    status.textContent = "Could not delete: this device's storage is not available.";
    return;
  }
  if (!removed.length) return;
  const ids = new Set(removed.map((e) => e.id));
  if (found) found = { ...found, entries: found.entries.filter((e) => !ids.has(e.id)) };
  render();
  offerUndo(message, () => saving(from.restore(removed)));
}

/** @param {Entry} entry */
async function dismiss(entry) {
  await history.dismiss(entry).catch(() => {});
  if (found) found = { ...found, entries: found.entries.filter((e) => e.id !== entry.id) };
  render();
  announce(`Dismissed ${shownText(entry)}`);
}

function clearAll() {
  const chosen = history.list().filter((e) => !e.notSynced && e.deletable !== false);
  if (chosen.length) remove(chosen, `Cleared ${plural(chosen.length, "calculation")}`);
}

/** @param {string} message @param {() => void} undo */
function offerUndo(message, undo) {
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
    undo();
    announce("Restored");
    close();
  };
  undoTimer = setTimeout(close, UNDO_MS);
  announce(`${message}. Undo is available.`);
}

function exportHistory(kind) {
  const all = history.list();
  if (all.length === 0) {
    announce("History is empty: nothing to export");
    return;
  }
  if (kind === "csv") saveFile(new Blob([toCsv(all)], { type: "text/csv" }), exportName("csv"));
  else saveFile(new Blob([toJson(all)], { type: "application/json" }), exportName("json"));
}

// ---------------------------------------------------------------- premium: sync status

const SYNC_TEXT = {
  synced: () => "Synced",
  waiting: (n) => `${n} waiting`,
  offline: (n) => (n ? `Offline — ${n} waiting` : "Offline"),
  "paused-signed-out": () => "Sync paused: signed out",
  "paused-premium": () => "Sync paused: premium ended",
  "paused-other-account": (n) => `Sync paused: another account is signed in — ${n} waiting`,
  error: (n) => `Sync problem — ${n} waiting`,
};

/** @type {import("./sync-client.js").SyncState | null} */
let syncState = null;

/** @param {import("./sync-client.js").SyncState | null} state null: not known yet */
export function showSyncState(state) {
  syncState = state;
  const text = state ? SYNC_TEXT[state.mode](state.waiting) : "";
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

// ---------------------------------------------------------------- the offer to upload

/**
 * Offer to add the device's own calculations to the premium account.
 * @param {number} count
 * @param {() => Promise<number>} add resolves to how many were added
 * @param {() => void} later
 */
export function offerUpload(count, add, later) {
  const banner = $("upload-offer");
  $("upload-offer-text").textContent = `Add ${plural(count, "calculation")} from this device to your synced history?`;
  banner.hidden = false;
  $("upload-add").onclick = async () => {
    banner.hidden = true;
    try {
      announce(`Added ${plural(await add(), "calculation")} to your synced history`);
    } catch {
      status.textContent = "Could not add them: this device's storage is not available.";
    }
  };
  $("upload-later").onclick = () => {
    banner.hidden = true;
    later();
  };
}

/** The offer no longer applies (signed out, another account). */
export function withdrawOffer() {
  $("upload-offer").hidden = true;
}

// ---------------------------------------------------------------- start

export function startPanel() {
  searchBox.addEventListener("input", () => {
    shownCount = PAGE_SIZE;
    search();
    render();
  });
  $("export-csv").addEventListener("click", () => exportHistory("csv"));
  $("export-json").addEventListener("click", () => exportHistory("json"));
  $("clear-history").addEventListener("click", clearAll);
  onNumberFormatChange(render);
  setInterval(showSyncAge, 30000);
}
