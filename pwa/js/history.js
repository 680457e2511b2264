// The history the page shows, as one interface with two implementations: the device's own
// (local-history.js, localStorage, the free tier and anyone signed out) and a premium account's
// synced history (synced-history.js: its cache on this device plus its outbox). The page
// (history-panel.js) renders whichever the account state selects. Imports nothing.

/**
 * A calculation as the history lists it.
 * @typedef {{id: string, expression: string, result: string, value: string,
 *   engine: number | null, created_at: string, angle?: "deg" | "rad", pending?: boolean,
 *   notSynced?: string | null, deletable?: boolean}} Entry
 *   `angle`: the angle unit of a calculation that used sin, cos, tan or an inverse
 *   `pending`: not on the server yet; `notSynced`: why the server refused it (the user can
 *   dismiss it); `deletable` false: a row that no delete can name (made outside sync)
 * @typedef {{expression: string, result: string, value: string, engine: number,
 *   angle?: "deg" | "rad"}} Calculation
 * @typedef {{entries: Entry[], next: string | null}} Found
 *
 * @typedef {object} History
 * @property {"local" | "synced"} kind
 * @property {() => Entry[]} list the entries, newest first
 * @property {(query: string, next?: string | null) => Promise<Found>} search entries whose
 *   expression (or result) contains `query`; `next` pages on
 * @property {(query: string) => Entry[]} filter what `list()` holds that matches, at once
 * @property {(calc: Calculation) => Promise<string | null>} add resolves once stored (with a
 *   notice for the user, or null), rejects when it was not
 * @property {(entries: Entry[]) => Promise<Entry[]>} remove resolves to what `restore` puts back
 * @property {(entries: Entry[]) => Promise<string | null>} restore undo a removal
 * @property {(entry: Entry) => Promise<void>} dismiss forget a calculation the server refused
 * @property {(listener: () => void) => void} onChange the entries changed (another tab, a sync)
 * @property {() => void} close
 */

/** Does the entry match a search? @param {Entry} entry @param {string} query */
export function matches(entry, query) {
  const q = query.trim().toLowerCase();
  return !q || entry.expression.toLowerCase().includes(q) || entry.result.toLowerCase().includes(q);
}
