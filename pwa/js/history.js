// Local history of the free tier: the newest 1,000 calculations in localStorage.
//
// Entries are kept newest first as {id, expression, result, value, engine, created_at}:
// `result` is the shown 15-digit result, `value` the full-precision one (for reuse), `engine`
// the engine version that computed it (old entries are never re-evaluated). When the browser's
// quota is exceeded, the oldest entries are dropped until the newest fits, and the caller is
// told how many went; the newest entry is never the one lost.

export const HISTORY_KEY = "calcapp.history.v1";
export const HISTORY_LIMIT = 1000;

/**
 * @typedef {{id: string, expression: string, result: string, value: string, engine: number,
 *            created_at: string}} Entry
 * @typedef {{saved: boolean, dropped: number}} SaveReport
 */

function newId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
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
   * @param {{expression: string, result: string, value: string, engine: number}} calc
   * @returns {{entry: Entry, report: SaveReport}}
   */
  add(calc) {
    const entry = { id: newId(), ...calc, created_at: new Date().toISOString() };
    const overflow = Math.max(0, this.entries.length + 1 - this.limit);
    this.entries = [entry, ...this.entries].slice(0, this.limit);
    const report = this.save();
    return { entry, report: { ...report, dropped: report.dropped + overflow } };
  }

  /** @param {string} id @returns {Entry | null} the removed entry */
  remove(id) {
    const index = this.entries.findIndex((e) => e.id === id);
    if (index < 0) return null;
    const [removed] = this.entries.splice(index, 1);
    this.save();
    return removed;
  }

  /** @returns {Entry[]} what was cleared (to undo with `restore`) */
  clear() {
    const removed = this.entries;
    this.entries = [];
    this.save();
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
    const q = query.trim().toLowerCase();
    if (!q) return this.entries;
    return this.entries.filter(
      (e) => e.expression.toLowerCase().includes(q) || e.result.toLowerCase().includes(q),
    );
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
