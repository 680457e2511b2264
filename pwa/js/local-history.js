// The device's own history (the free tier, and anyone signed out): the newest 1,000
// calculations in localStorage, behind the History interface (history.js).
//
// Entries are kept newest first as {id, expression, result, value, engine, created_at, angle?,
// uploaded_to?}: `result` is the shown 15-digit result, `value` the full-precision one (for
// reuse), `engine` the engine version that computed it (old entries are never re-evaluated),
// `angle` the angle unit of a trigonometric calculation,
// `uploaded_to` the premium account it was added to (it is never offered to another). `id` is
// a UUID: the entry's identity when it is uploaded. When the browser's quota is exceeded, the
// oldest entries are dropped until the newest fits, and the caller is told how many went; the
// newest entry is never the one lost.

import { matches } from "./history.js";

export const HISTORY_KEY = "calcapp.history.v1";
export const HISTORY_LIMIT = 1000;

/**
 * @typedef {{id: string, expression: string, result: string, value: string, engine: number,
 *            created_at: string, angle?: "deg" | "rad", uploaded_to?: string}} Entry
 * @typedef {{saved: boolean, dropped: number}} SaveReport
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function newId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  // Without randomUUID (old browsers, insecure origins): a version 4 UUID all the same.
  const hex = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0"));
  hex[6] = `4${hex[6][1]}`;
  hex[8] = ((parseInt(hex[8], 16) & 0x3f) | 0x80).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function isEntry(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.id === "string" &&
    typeof value.expression === "string" &&
    typeof value.result === "string" &&
    typeof value.created_at === "string"
  );
}

function isQuotaError(error) {
  return (
    error instanceof DOMException &&
    (error.name === "QuotaExceededError" || error.name === "NS_ERROR_DOM_QUOTA_REACHED")
  );
}

export class HistoryStore {
  /** @param {Storage} storage @param {{key?: string, limit?: number}} [options] */
  constructor(storage, { key = HISTORY_KEY, limit = HISTORY_LIMIT } = {}) {
    this.storage = storage;
    this.key = key;
    this.limit = limit;
    /** @type {Entry[]} */
    this.entries = [];
    /** Set when stored data could not be read: it is kept under another key, never deleted. */
    this.recovered = false;
    this.reload();
  }

  /** Re-read the stored entries (another tab may have changed them). */
  reload() {
    let raw = null;
    try {
      raw = this.storage.getItem(this.key);
    } catch {
      raw = null; // storage disabled: history lives in memory for this visit
    }
    if (raw === null) {
      this.entries = [];
      return;
    }
    try {
      const parsed = JSON.parse(raw);
      if (!Array.isArray(parsed)) throw new TypeError("not a list");
      this.entries = parsed.filter(isEntry).slice(0, this.limit);
    } catch {
      // Unreadable: keep the raw text aside so nothing is lost, and start afresh.
      this.recovered = true;
      this.entries = [];
      try {
        this.storage.setItem(`${this.key}.unreadable`, raw);
      } catch {
        /* nothing more we can do without losing the newest data */
      }
    }
  }

  /**
   * Add a calculation (newest first) and save.
   * @param {import("./history.js").Calculation} calc
   * @returns {{entry: Entry, report: SaveReport}}
   */
  add(calc) {
    const entry = { id: newId(), ...calc, created_at: new Date().toISOString() };
    const overflow = Math.max(0, this.entries.length + 1 - this.limit);
    this.entries = [entry, ...this.entries].slice(0, this.limit);
    const report = this.save();
    return { entry, report: { ...report, dropped: report.dropped + overflow } };
  }

  /** @param {Set<string>} ids @returns {Entry[]} the removed entries (to undo with `restore`) */
  removeMany(ids) {
    const removed = this.entries.filter((e) => ids.has(e.id));
    if (removed.length) {
      this.entries = this.entries.filter((e) => !ids.has(e.id));
      this.save();
    }
    return removed;
  }

  /** Put entries back (undo), keeping newest-first order and the limit. @param {Entry[]} entries */
  restore(entries) {
    const known = new Set(this.entries.map((e) => e.id));
    const merged = [...this.entries, ...entries.filter((e) => !known.has(e.id))];
    merged.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    this.entries = merged.slice(0, this.limit);
    return this.save();
  }

  /** @param {string} query @returns {Entry[]} */
  search(query) {
    return query.trim() ? this.entries.filter((e) => matches(e, query)) : this.entries;
  }

  /** Entries never added to a premium account (earlier versions' ids made UUIDs first). */
  notUploaded() {
    if (this.entries.some((e) => !UUID.test(e.id))) {
      this.entries = this.entries.map((e) => (UUID.test(e.id) ? e : { ...e, id: newId() }));
      this.save();
    }
    return this.entries.filter((e) => !e.uploaded_to);
  }

  /** Mark entries as added to `userId`'s synced history. @param {Set<string>} ids @param {string} userId */
  markUploaded(ids, userId) {
    this.entries = this.entries.map((e) => (ids.has(e.id) ? { ...e, uploaded_to: userId } : e));
    return this.save();
  }

  /**
   * Write to storage; on a quota error drop the oldest entries until the rest fits.
   * @returns {SaveReport}
   */
  save() {
    let dropped = 0;
    for (;;) {
      try {
        this.storage.setItem(this.key, JSON.stringify(this.entries));
        return { saved: true, dropped };
      } catch (error) {
        if (!isQuotaError(error) || this.entries.length <= 1) {
          return { saved: false, dropped };
        }
        const drop = Math.max(1, Math.ceil(this.entries.length / 10));
        const keep = Math.max(1, this.entries.length - drop);
        dropped += this.entries.length - keep;
        this.entries = this.entries.slice(0, keep);
      }
    }
  }
}

/** @param {SaveReport} report @returns {string | null} what the user should know */
function saveNotice(report) {
  if (!report.saved) throw new Error("History could not be saved: this device's storage is full.");
  const n = report.dropped;
  return n > 0 ? `History is full: removed the oldest ${n} calculation${n === 1 ? "" : "s"}.` : null;
}

/** The History interface over the device's own history. @implements {import("./history.js").History} */
export class LocalHistory {
  /** @param {Storage} storage */
  constructor(storage) {
    this.kind = /** @type {const} */ ("local");
    this.store = new HistoryStore(storage);
    this.listeners = [];
    this.onStorage = (event) => {
      if (event.key !== this.store.key) return;
      this.store.reload();
      this.listeners.forEach((listener) => listener());
    };
    window.addEventListener("storage", this.onStorage);
  }

  list() {
    return this.store.entries;
  }

  filter(query) {
    return this.store.search(query);
  }

  async search(query) {
    return { entries: this.store.search(query), next: null };
  }

  async add(calc) {
    return saveNotice(this.store.add(calc).report);
  }

  async remove(entries) {
    return this.store.removeMany(new Set(entries.map((e) => e.id)));
  }

  async restore(entries) {
    return saveNotice(this.store.restore(entries));
  }

  async dismiss() {}

  onChange(listener) {
    this.listeners.push(listener);
  }

  close() {
    window.removeEventListener("storage", this.onStorage);
    this.listeners = [];
  }
}
