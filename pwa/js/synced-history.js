// A premium account's history on this device, behind the History interface (history.js): the
// synced cache plus what waits in the outbox, minus what waits to be deleted, plus what the
// server refused (until dismissed). Writes go to the outbox (outbox.js) and the sync client
// (sync-client.js) takes them to the server.

import { request } from "./api.js";
import { matches } from "./history.js";
import { createOp, keyOf } from "./outbox.js";
import { SyncClient } from "./sync-client.js";

/** @typedef {import("./history.js").Entry} Entry */

const REJECTED = "rejected:";

function toEntry(id, row, extra = {}) {
  const { value, engine, angle } = row.metadata ?? {};
  return {
    id,
    device_id: row.device_id ?? null,
    seq: row.seq ?? null,
    created_at: row.created_at,
    expression: row.expression,
    result: row.result,
    value: typeof value === "string" ? value : row.result,
    engine: engine ?? null,
    ...((angle === "deg" || angle === "rad") && { angle }),
    deletable: Boolean(row.device_id),
    ...extra,
  };
}

/** The history as shown: rows + the outbox's creates − its deletes' targets + refused creates. */
function view({ rows, ops, rejected, device }, keep = (_entry) => true) {
  const byKey = new Map(rows.map((row) => [row.k ?? keyOf(row), toEntry(row.k ?? keyOf(row), row)]));
  for (const { kind, seq, created_at, data } of ops) {
    if (kind !== "create") continue;
    const key = `${device}:${seq}`;
    byKey.set(key, toEntry(key, { device_id: device, seq, created_at, ...data }, { pending: true }));
  }
  for (const { kind, target } of ops) if (kind === "delete") byKey.delete(`${target.device_id}:${target.seq}`);
  for (const row of rejected) {
    const key = REJECTED + row.k;
    byKey.set(key, toEntry(key, row, { notSynced: row.reason, deletable: false }));
  }
  const entries = [...byKey.values()].filter(keep);
  const time = new Map(entries.map((e) => [e, Date.parse(e.created_at) || 0]));
  return entries.sort((a, b) => time.get(b) - time.get(a) || (b.seq ?? 0) - (a.seq ?? 0));
}

/**
 * @implements {import("./history.js").History}
 * Events (on `events`): "state" (detail: the sync state), "account" (the session is not this
 * account's any more).
 */
export class SyncedHistory {
  /** @param {string} userId */
  constructor(userId) {
    this.kind = /** @type {const} */ ("synced");
    this.userId = userId;
    this.client = new SyncClient(userId);
    this.events = this.client;
    /** Resolves to the account's outbox database; rejects when IndexedDB is unusable. */
    this.ready = this.client.ready;
    /** @type {Entry[]} */
    this.entries = [];
    this.listeners = [];
    this.client.addEventListener("change", () => this.refresh());
  }

  /** Show the cache at once, then sync. */
  async start() {
    await this.refresh();
    await this.client.start();
  }

  async refresh() {
    const contents = await (await this.ready).contents().catch(() => null);
    if (!contents || this.client.closed) return;
    this.entries = view(contents);
    this.listeners.forEach((listener) => listener());
  }

  /** The sync state last reported (null: none yet). */
  syncState() {
    return this.client.told ? this.client.state : null;
  }

  list() {
    return this.entries;
  }

  filter(query) {
    return this.entries.filter((e) => matches(e, query));
  }

  /**
   * The server's search (with what still waits here), or the cache when the server cannot
   * answer.
   */
  async search(query, next = null) {
    const q = query.trim();
    const params = new URLSearchParams({ q: q.slice(0, 100), limit: "100", ...(next && { before: next }) });
    let page;
    try {
      page = await (await request("GET", `/history?${params}`)).json();
    } catch (error) {
      if (typeof error?.status !== "number") throw error;
      return { entries: this.filter(q), next: null };
    }
    const contents = await (await this.ready).contents({ rows: false });
    // Later pages add no pending creates (the first page showed them); deletes still hide.
    const ops = next ? contents.ops.filter((op) => op.kind === "delete") : contents.ops;
    const rejected = next ? [] : contents.rejected;
    const keep = (e) => matches(e, q);
    return { entries: view({ ...contents, rows: page.items, ops, rejected }, keep), next: page.next_cursor ?? null };
  }

  /** Enqueue ops (and `also(stores)` in the same transaction), then list and sync. */
  async enqueue(ops, also) {
    await (await this.ready).enqueue(ops, also);
    await this.client.enqueued();
  }

  async add(calc) {
    await this.enqueue([createOp(calc, this.client.now())]);
    return null;
  }

  /** Deleted on every device once synced, hidden here at once. */
  async remove(entries) {
    const targets = entries.filter((e) => e.deletable);
    const created_at = this.client.now();
    const ops = targets.map(({ device_id, seq, created_at: at }) => ({
      op_id: crypto.randomUUID(),
      kind: "delete",
      created_at,
      target: { device_id, seq, created_at: at },
    }));
    await this.enqueue(ops, ({ history }) => targets.forEach((e) => history.delete(e.id)));
    return targets;
  }

  /** Undo a removal: the entries come back as new calculations with their own times. */
  async restore(entries) {
    await this.enqueue(entries.map((e) => createOp(e, e.created_at)));
    return null;
  }

  async dismiss(entry) {
    await (await this.ready).dismiss(entry.id.slice(REJECTED.length));
    await this.client.changed();
  }

  /**
   * Add calculations of the device's own history, oldest first with their own times; each
   * keeps its id as entry id, so that sending it again never stores it twice.
   * @param {{id: string, expression: string, result: string, value: string, engine: number,
   *   created_at: string}[]} entries newest first
   */
  upload(entries) {
    return this.enqueue([...entries].reverse().map((e) => createOp(e, e.created_at, e.id)));
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  close() {
    this.listeners = [];
    this.client.close();
  }
}
