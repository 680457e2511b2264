// One account's sync database on this device: its outbox, its synced history cache, and what
// the server refused. No network here (sync-client.js talks to the server); the wire contract
// is docs/sync-protocol.md.
//
// One database per account (`calcapp-sync-<user id>`), so no op goes out for another account:
//   meta      "m": {device_id, next_seq, acked_through, sent_through, cursor, offset (server
//             clock minus ours, ms)}
//   outbox    unacknowledged ops, as sent: {seq, op_id, kind, created_at, entry_id?, data | target}
//   history   rows on the server: {k, device_id, seq, op_id, entry_id, created_at, expression,
//             result, metadata}, k = "<device_id>:<seq>" ("n:<created_at>|<expression>" for rows
//             made outside sync)
//   rejected  creates the server refused: {k (the op id), created_at, expression, result,
//             metadata, reason}, shown as not synced until the user dismisses them
// A calculation is saved when the transaction that gives it its seq and puts it in the outbox
// completes; it leaves the outbox only once the server says its seq is settled.

import { databaseExists, done, openDatabase, transact } from "./idb.js";

const VERSION = 2;
const EARLIEST = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;
const STORES = ["meta", "outbox", "history", "rejected"];

const uuid = () => crypto.randomUUID();
const getMeta = (meta) => done(meta.get("m"));

/** @param {string} userId */
export const databaseName = (userId) => `calcapp-sync-${userId}`;

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore("meta");
    db.createObjectStore("outbox", { keyPath: "seq" });
    db.createObjectStore("history", { keyPath: "k" });
  }
  if (oldVersion < 2) db.createObjectStore("rejected", { keyPath: "k" });
}

/** The cache key of a row: its (device, seq), or its time and text when made outside sync. */
export const keyOf = (row) => (row.device_id ? `${row.device_id}:${row.seq}` : `n:${row.created_at}|${row.expression}`);

function cacheRow({ device_id, seq, op_id = null, entry_id = null, created_at, expression, result, metadata }) {
  const row = { device_id, seq, op_id, entry_id, created_at, expression, result, metadata: metadata ?? {} };
  return { k: keyOf(row), ...row };
}

/**
 * A create op for a calculation.
 * @param {{expression: string, result: string, value?: string, engine?: number | null,
 *   angle?: "deg" | "rad"}} calc  `angle`: the unit of a trigonometric calculation
 * @param {string} created_at
 * @param {string | null} [entry_id] its stable identity when it is sent again (docs/sync-protocol.md)
 */
export function createOp({ expression, result, value, engine, angle }, created_at, entry_id = null) {
  const metadata = { value: value ?? result, engine: engine ?? null, ...(angle && { angle }) };
  const data = { expression, result, metadata };
  return { op_id: uuid(), kind: "create", created_at, ...(entry_id && { entry_id }), data };
}

/**
 * Replace the outbox with `ops` numbered from `start` (under `device`): deletes of the old
 * device's ops follow their targets.
 */
function rewrite({ meta, outbox }, m, ops, start, device) {
  const seqs = new Map(ops.map((op, i) => [op.seq, start + i]));
  outbox.clear();
  for (const op of ops) {
    const t = op.target;
    if (t?.device_id === m.device_id && seqs.has(t.seq)) op.target = { ...t, device_id: device, seq: seqs.get(t.seq) };
    outbox.add({ ...op, seq: seqs.get(op.seq) });
  }
  Object.assign(m, { device_id: device, next_seq: start + ops.length, acked_through: start - 1, sent_through: start - 1 });
  meta.put(m, "m");
}

/**
 * The server settled this device's ops only up to `serverSeq`, less than we knew (a restore to
 * an earlier backup): what this device made after that and still holds goes back into the
 * outbox, first, each with its op id as entry id (stored once however often it is sent).
 */
async function reclaim(stores, serverSeq) {
  const m = await getMeta(stores.meta);
  if (serverSeq >= m.acked_through) return;
  const lost = (await done(stores.history.getAll()))
    .filter((row) => row.device_id === m.device_id && row.seq > serverSeq)
    .sort((a, b) => a.seq - b.seq);
  for (const row of lost) stores.history.delete(row.k);
  const again = lost.map((row) => ({
    seq: row.seq,
    ...createOp({ ...row, ...row.metadata }, row.created_at, row.entry_id ?? row.op_id),
  }));
  rewrite(stores, m, [...again, ...(await done(stores.outbox.getAll()))], serverSeq + 1, m.device_id);
}

export class Outbox {
  /** Open (or create) the account's database. @param {string} userId */
  static async open(userId) {
    const db = await openDatabase(databaseName(userId), VERSION, upgrade);
    const box = new Outbox(db);
    await box.tx(["meta"], "readwrite", async ({ meta }) => {
      if (await getMeta(meta)) return;
      meta.put({ device_id: uuid(), next_seq: 1, acked_through: 0, sent_through: 0, cursor: null, offset: 0 }, "m");
    });
    return box;
  }

  /** How many ops wait in the account's outbox on this device (0 when it has none). @param {string} userId */
  static async waiting(userId) {
    if (!(await databaseExists(databaseName(userId)))) return 0;
    const box = await Outbox.open(userId);
    try {
      return (await box.state()).waiting;
    } finally {
      box.close();
    }
  }

  /**
   * Signing out: the account's synced history leaves the device (its outbox and what the
   * server refused stay, for when the same account signs in again).
   * @param {string} userId
   */
  static async forgetCache(userId) {
    if (!(await databaseExists(databaseName(userId)))) return;
    const box = await Outbox.open(userId);
    try {
      await box.tx(["meta", "history"], "readwrite", async ({ meta, history }) => {
        history.clear();
        meta.put({ ...(await getMeta(meta)), cursor: null }, "m");
      });
    } finally {
      box.close();
    }
  }

  /** The account is deleted: everything of it leaves the device. @param {string} userId */
  static async destroy(userId) {
    await new Promise((resolve, reject) => {
      const deleting = indexedDB.deleteDatabase(databaseName(userId));
      deleting.onsuccess = resolve;
      deleting.onerror = () => reject(deleting.error);
      deleting.onblocked = resolve; // deleted once the account's other tabs close it
    });
  }

  /** @param {IDBDatabase} db */
  constructor(db) {
    this.db = db;
  }

  tx(names, mode, body) {
    return transact(this.db, names, mode, body);
  }

  close() {
    this.db.close();
  }

  meta() {
    return this.tx(["meta"], "readonly", ({ meta }) => getMeta(meta));
  }

  /** Give `ops` the next seqs and put them in the outbox (and `also(stores)`, in the same transaction). */
  enqueue(ops, also = (_stores) => {}) {
    return this.tx(STORES, "readwrite", async (stores) => {
      also(stores);
      const m = await getMeta(stores.meta);
      for (const op of ops) stores.outbox.add({ seq: m.next_seq++, ...op });
      stores.meta.put(m, "m");
    });
  }

  /** How many ops wait, and when the oldest was made. */
  state() {
    return this.tx(["outbox"], "readonly", async ({ outbox }) => ({
      waiting: await done(outbox.count()),
      oldestAt: (await done(outbox.openCursor()))?.value.created_at ?? null,
    }));
  }

  /** Everything the history shows: cached rows, the outbox, the refused creates. */
  contents({ rows = true } = {}) {
    return this.tx(STORES, "readonly", async (s) => ({
      rows: rows ? await done(s.history.getAll()) : [],
      ops: await done(s.outbox.getAll()),
      rejected: await done(s.rejected.getAll()),
      device: (await getMeta(s.meta)).device_id,
    }));
  }

  /** The first `size` ops of the outbox, noting how far has been sent. */
  nextBatch(size) {
    return this.tx(["meta", "outbox"], "readwrite", async ({ meta, outbox }) => {
      const m = await getMeta(meta);
      const ops = await done(outbox.getAll(null, size));
      if (ops.at(-1)?.seq > m.sent_through) meta.put({ ...m, sent_through: ops.at(-1).seq }, "m");
      return { ops, meta: m };
    });
  }

  /**
   * Drop what a push answer settled (seq <= ack_seq, not a conflict), with its effect on the
   * cache, in one transaction; a rejected create moves to `rejected` with the reason.
   * @returns {Promise<{conflict: boolean, pull: boolean}>} a conflict needs a new device id; a
   *   create already stored as another row (an entry sent again) needs a pull to show it
   */
  settle(ops, { ack_seq: ack, results = [] }, device, offset) {
    if (!Number.isInteger(ack)) throw new Error("push answer without ack_seq");
    const answers = new Map(results.map((r) => [r.seq, r]));
    return this.tx(STORES, "readwrite", async ({ meta, outbox, history, rejected }) => {
      const m = await getMeta(meta);
      if (m.device_id !== device) return { conflict: false, pull: false }; // renumbered meanwhile
      let pull = false;
      for (const op of ops) {
        const { status, reason } = answers.get(op.seq) ?? {};
        if (op.seq > ack || status === "conflict") continue;
        outbox.delete(op.seq);
        if (op.kind === "delete") {
          if (status !== "rejected") history.delete(`${op.target.device_id}:${op.target.seq}`);
        } else if (status === "rejected") {
          rejected.put({ k: op.op_id, created_at: op.created_at, ...op.data, reason: reason ?? "refused by the server" });
        } else if (status === "duplicate" && op.entry_id) {
          pull = true;
        } else {
          history.put(cacheRow({ device_id: device, seq: op.seq, ...op, ...op.data }));
        }
      }
      meta.put({ ...m, acked_through: Math.max(m.acked_through, ack), offset }, "m");
      return { conflict: results.some((r) => r.status === "conflict"), pull };
    });
  }

  /** Renumber the outbox from `start`, under a new device id when `fresh`. */
  renumber(start, fresh) {
    return this.tx(["meta", "outbox"], "readwrite", async (stores) => {
      const m = await getMeta(stores.meta);
      rewrite(stores, m, await done(stores.outbox.getAll()), start, fresh ? uuid() : m.device_id);
    });
  }

  /**
   * The server expects `expected` next: take back what it lost (a restore), then send from
   * there, renumbering when the outbox does not start there.
   */
  fromGap(expected) {
    return this.tx(["meta", "outbox", "history"], "readwrite", async (stores) => {
      await reclaim(stores, expected - 1);
      if (await done(stores.outbox.get(expected))) return;
      const m = await getMeta(stores.meta);
      rewrite(stores, m, await done(stores.outbox.getAll()), expected, m.device_id);
    });
  }

  /**
   * The halted op's time, and every other time outside the server's live window, become the
   * server's; deletes follow the creates they target.
   * @param {{seq: number, earliest?: string, latest?: string}} halt
   * @param {string} serverTime
   */
  remint(halt, serverTime) {
    const now = Date.parse(serverTime);
    const iso = new Date(now).toISOString();
    const earliest = Date.parse(halt.earliest ?? "") || EARLIEST;
    const latest = Date.parse(halt.latest ?? "") || now + DAY_MS;
    const bad = (t) => !(Date.parse(t) >= earliest && Date.parse(t) <= latest);
    return this.tx(["meta", "outbox"], "readwrite", async ({ meta, outbox }) => {
      const { device_id } = await getMeta(meta);
      const ops = await done(outbox.getAll());
      const moved = new Set();
      for (const op of ops) {
        if (op.seq !== halt.seq && !bad(op.created_at)) continue;
        op.created_at = iso;
        if (op.kind === "create") moved.add(op.seq);
      }
      for (const op of ops) {
        if (op.target?.device_id === device_id && moved.has(op.target.seq)) op.target.created_at = iso;
        outbox.put(op);
      }
    });
  }

  /**
   * A pull page into the cache with its cursor, in one transaction. A rebuild (the first page
   * after `cursor_expired`) first takes back what the server lost of this device's ops, then
   * clears the cache.
   */
  merge({ items, next_cursor, acked_through }, rebuild, device, offset) {
    return this.tx(["meta", "outbox", "history"], "readwrite", async (stores) => {
      if (rebuild) {
        if ((await getMeta(stores.meta)).device_id === device) await reclaim(stores, acked_through ?? 0);
        stores.history.clear();
      }
      for (const item of items) {
        if (item.deleted) stores.history.delete(keyOf(item));
        else stores.history.put(cacheRow(item));
      }
      stores.meta.put({ ...(await getMeta(stores.meta)), cursor: next_cursor, offset }, "m");
    });
  }

  /**
   * Clients before entry ids marked "uploaded" in `meta` once they had sent the device's own
   * history: which calculations (time and text) that was, as far as this device knows, so
   * that they are not offered again; the mark goes. Null when there is no mark.
   * @returns {Promise<Set<string> | null>}
   */
  takeLegacyUploadMark() {
    return this.tx(["meta", "outbox", "history"], "readwrite", async ({ meta, outbox, history }) => {
      if (!(await done(meta.get("uploaded")))) return null;
      meta.delete("uploaded");
      const creates = (await done(outbox.getAll())).filter((op) => op.kind === "create");
      const rows = [...(await done(history.getAll())), ...creates.map((op) => ({ ...op, ...op.data }))];
      return new Set(rows.map((row) => `${row.created_at}|${row.expression}`));
    });
  }

  /** Forget a refused calculation. @param {string} key */
  dismiss(key) {
    return this.tx(["rejected"], "readwrite", async ({ rejected }) => rejected.delete(key));
  }
}
