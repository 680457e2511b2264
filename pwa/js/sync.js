// Premium sync, the page's side (no DOM): an IndexedDB outbox pushed in batches to
// /api/v1/sync/push, and a cache of the synced history pulled from /api/v1/sync/pull.
// Wire contract: docs/api.md ("Premium sync"); reasons: sync-protocol.md.
//
// One database per user (`calcapp-sync-<user id>`), so no op goes out with another's session:
//   meta     "m": {device_id, next_seq, acked_through, sent_through, cursor, offset (server
//            clock minus ours, ms)}; "uploaded": true once the free tier's history was enqueued
//   outbox   unacknowledged ops, as sent: {seq, op_id, kind, created_at, data | target}
//   history  rows on the server: {k, device_id, seq, created_at, expression, result, metadata},
//            k = "<device_id>:<seq>" ("n:<created_at>|<expression>" for rows made outside sync)
// A calculation is saved when the transaction that gives it its seq and puts it in the outbox
// completes; it leaves the outbox only once the server says its seq is settled.

import { request } from "./api.js";

const BATCH = 500;
const TICK_MS = 60_000;
const TAG = "calcapp-sync";
const EARLIEST = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;
const MAX_AGE_MS = 10 * 366 * DAY_MS; // the server's bound on outbox_oldest_age_ms

/** @typedef {"synced" | "waiting" | "offline" | "paused-signed-out" | "paused-premium" | "error"} Mode */
/** @typedef {{mode: Mode, waiting: number, oldestWaitingAt: string | null}} SyncState */
/**
 * A history entry as the page shows it (`pending`: still in the outbox).
 * @typedef {{id: string, device_id: string | null, seq: number | null, created_at: string,
 *   expression: string, result: string, value: string, engine: number | null, pending: boolean}} SyncedEntry
 */

const uuid = () => crypto.randomUUID();
const backoff = (failures) => Math.min(300_000, 1000 * 2 ** failures) * (0.5 + Math.random() / 2);

// ---------------------------------------------------------------- IndexedDB

const done = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

const getMeta = (meta) => done(meta.get("m"));

/** Run `body(stores)` in one transaction; resolves with its value once the transaction commits. */
function transact(db, names, mode, body) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    let value;
    let failure = null;
    tx.oncomplete = () => resolve(value);
    tx.onabort = () => reject(failure ?? tx.error ?? new DOMException("Aborted", "AbortError"));
    body(Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]))).then(
      (result) => (value = result),
      (error) => {
        failure = error;
        try {
          tx.abort();
        } catch {
          /* already over */
        }
      },
    );
  });
}

async function openDb(name) {
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => {
    const db = opening.result;
    db.createObjectStore("meta");
    db.createObjectStore("outbox", { keyPath: "seq" });
    db.createObjectStore("history", { keyPath: "k" });
  };
  const db = await done(opening);
  db.onversionchange = () => db.close();
  await transact(db, ["meta"], "readwrite", async ({ meta }) => {
    if (await getMeta(meta)) return;
    meta.put({ device_id: uuid(), next_seq: 1, acked_through: 0, sent_through: 0, cursor: null, offset: 0 }, "m");
  });
  return db;
}

const keyOf = (row) => (row.device_id ? `${row.device_id}:${row.seq}` : `n:${row.created_at}|${row.expression}`);

function cacheRow({ device_id, seq, created_at, expression, result, metadata }) {
  const row = { device_id, seq, created_at, expression, result, metadata: metadata ?? {} };
  return { k: keyOf(row), ...row };
}

/** Give `ops` the next seqs and put them in the outbox, in the caller's transaction. */
async function enqueueIn({ meta, outbox }, ops) {
  const m = await getMeta(meta);
  for (const op of ops) outbox.add({ seq: m.next_seq++, ...op });
  meta.put(m, "m");
}

/** What an acknowledged op does to the cache. */
function applyToCache(history, device, op) {
  if (op.kind === "create") history.put(cacheRow({ device_id: device, seq: op.seq, created_at: op.created_at, ...op.data }));
  else history.delete(`${op.target.device_id}:${op.target.seq}`);
}

/** Renumber the outbox from `start` (under a new device id when `fresh`); deletes follow their targets. */
async function renumberIn({ meta, outbox }, start, fresh) {
  const m = await getMeta(meta);
  const ops = await done(outbox.getAll());
  const old = m.device_id;
  if (fresh) m.device_id = uuid();
  const seqs = new Map(ops.map((op, i) => [op.seq, start + i]));
  outbox.clear();
  for (const op of ops) {
    const t = op.target;
    if (t?.device_id === old && seqs.has(t.seq)) op.target = { ...t, device_id: m.device_id, seq: seqs.get(t.seq) };
    outbox.add({ ...op, seq: seqs.get(op.seq) });
  }
  m.next_seq = start + ops.length;
  m.acked_through = m.sent_through = start - 1;
  meta.put(m, "m");
}

function toEntry(id, row) {
  const { value, engine } = row.metadata ?? {};
  const { device_id = null, seq = null, created_at, expression, result } = row;
  return {
    id,
    ...{ device_id, seq, created_at, expression, result },
    value: typeof value === "string" ? value : result,
    engine: engine ?? null,
    pending: Boolean(row.pending),
  };
}

/** The history as shown: rows + the outbox's creates − its deletes' targets, newest first. */
function view(rows, ops, device, keep = () => true) {
  const byKey = new Map(rows.map((row) => [row.k ?? keyOf(row), row]));
  for (const { kind, seq, created_at, data } of ops) {
    if (kind === "create") byKey.set(`${device}:${seq}`, { device_id: device, seq, created_at, ...data, pending: true });
  }
  for (const { kind, target } of ops) if (kind === "delete") byKey.delete(`${target.device_id}:${target.seq}`);
  const entries = [...byKey].filter(([, row]) => keep(row)).map(([k, row]) => toEntry(k, row));
  const time = new Map(entries.map((e) => [e, Date.parse(e.created_at) || 0]));
  return entries.sort((a, b) => time.get(b) - time.get(a) || b.seq - a.seq);
}

function create({ expression, result, value, engine }, created_at) {
  return { op_id: uuid(), kind: "create", created_at, data: { expression, result, metadata: { value, engine } } };
}

// ---------------------------------------------------------------- the engine

/**
 * Sync for one premium user on this device. Events: "state" (detail: SyncState), "change"
 * (the history view changed: call `list()`), "user" (the session is another account's, detail:
 * its Me; the engine has stopped).
 */
export class SyncEngine extends EventTarget {
  /** @param {string} userId the signed-in premium user's id */
  constructor(userId) {
    super();
    this.userId = userId;
    this.name = `calcapp-sync-${userId}`;
    this.offset = 0;
    /** Resolves to the open database; rejects when IndexedDB is unusable. */
    this.ready = openDb(this.name).then(async (db) => {
      this.offset = (await transact(db, ["meta"], "readonly", ({ meta }) => getMeta(meta))).offset;
      return db;
    });
    this.ready.catch(() => {});
    /** @type {SyncState} */
    this.state = { mode: "synced", waiting: 0, oldestWaitingAt: null };
    this.told = false; // no "state" event yet
    this.problem = null; // a Mode that overrides "synced"/"waiting"
    this.failures = 0;
    this.notBefore = 0; // Retry-After or backoff: no run before this time
    this.timer = 0;
    this.running = null;
    this.again = false;
    this.wantPull = false;
    this.closed = false;
    this.channel = globalThis.BroadcastChannel ? new BroadcastChannel(this.name) : null;
    this.listeners = [
      [globalThis, "online", () => this.flush({ pull: true, now: true })],
      [globalThis.document, "visibilitychange", () => this.visible() && this.flush({ pull: true })],
      [navigator.serviceWorker, "message", (e) => e.data?.type === TAG && this.flush({ now: true })],
      [this.channel, "message", (e) => this.heard(e.data)],
    ];
  }

  /**
   * Start: enqueue the free tier's entries not uploaded yet, then push and pull.
   * @param {{id: string, expression: string, result: string, value: string, engine: number,
   *   created_at: string}[]} [localEntries] the free tier's history, newest first
   */
  async start(localEntries = []) {
    for (const [target, type, fn] of this.listeners) target?.addEventListener(type, fn);
    navigator.storage?.persist?.().catch(() => {});
    try {
      await this.importLocal(localEntries);
    } finally {
      await this.refreshState().catch(() => {});
      this.flush({ pull: true });
    }
  }

  /** Stop every timer, listener and request (sign-out, another user). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    for (const [target, type, fn] of this.listeners) target?.removeEventListener(type, fn);
    this.channel?.close();
    this.ready.then((db) => db.close(), () => {});
  }

  async tx(names, mode, body) {
    return transact(await this.ready, names, mode, body);
  }

  /** Now, on the server's clock as far as we know it. */
  mint() {
    return new Date(Date.now() + this.offset).toISOString();
  }

  /** Enqueue `ops` (plus `also(stores)` in the same transaction), then tell and flush. */
  async enqueue(ops, also = () => {}) {
    await this.tx(["meta", "outbox", "history"], "readwrite", (s) => (also(s), enqueueIn(s, ops)));
    await this.changed();
    this.flush();
  }

  /**
   * Save a calculation. Resolves once it is stored; rejects when it is not (a DOMException
   * named QuotaExceededError when the device is full).
   * @param {{expression: string, result: string, value: string, engine: number}} calc
   */
  record(calc) {
    return this.enqueue([create(calc, this.mint())]);
  }

  /**
   * Delete entries on every device; hidden here at once. Rows made outside sync have no
   * (device, seq) to target and stay.
   * @param {SyncedEntry[]} entries
   */
  remove(entries) {
    const targets = entries.filter((e) => e.device_id && e.seq);
    const created_at = this.mint();
    const ops = targets.map(({ device_id, seq, created_at: at }) => ({
      op_id: uuid(),
      kind: "delete",
      created_at,
      target: { device_id, seq, created_at: at },
    }));
    return this.enqueue(ops, ({ history }) => targets.forEach((e) => history.delete(e.id)));
  }

  /** Undo a removal: the entries come back as new calculations with their own times. @param {SyncedEntry[]} entries */
  restore(entries) {
    return this.enqueue(entries.map((e) => create(e, e.created_at)));
  }

  /**
   * Enqueue the free tier's history once per account on this device, with its own times. The
   * mark goes into `meta` in the same transaction, so a crash never uploads it twice; later
   * free-tier calculations (say, a visitor's while signed out) stay on the device.
   */
  async importLocal(entries) {
    const added = await this.tx(["meta", "outbox"], "readwrite", async (s) => {
      if (await done(s.meta.get("uploaded"))) return 0;
      const oldestFirst = [...entries].reverse();
      if (oldestFirst.length) await enqueueIn(s, oldestFirst.map((e) => create(e, e.created_at)));
      s.meta.put(true, "uploaded");
      return oldestFirst.length;
    });
    if (added) await this.changed();
  }

  async outbox(rows) {
    return this.tx(["meta", "outbox", "history"], "readonly", async (s) => ({
      rows: rows ? await done(s.history.getAll()) : [],
      ops: await done(s.outbox.getAll()),
      device: (await getMeta(s.meta)).device_id,
    }));
  }

  /** The history to show (cache and outbox), newest first. @returns {Promise<SyncedEntry[]>} */
  async list() {
    const { rows, ops, device } = await this.outbox(true);
    return view(rows, ops, device);
  }

  /**
   * Entries whose expression contains `query`: the server's search (with what still waits
   * here), or the cache when the server cannot answer.
   * @param {string} query
   * @param {string | null} [before] `next` of the previous page
   * @returns {Promise<{entries: SyncedEntry[], next: string | null}>}
   */
  async search(query, before = null) {
    const q = query.trim();
    const keep = (row) => row.expression.toLowerCase().includes(q.toLowerCase());
    const params = new URLSearchParams({ q: q.slice(0, 100), limit: "100", ...(before && { before }) });
    let page;
    try {
      page = await (await request("GET", `/history?${params}`)).json();
    } catch (error) {
      if (typeof error?.status !== "number") throw error;
      return { entries: (await this.list()).filter(keep), next: null };
    }
    const { ops, device } = await this.outbox(false);
    const waiting = before ? ops.filter((op) => op.kind === "delete") : ops;
    return { entries: view(page.items, waiting, device, keep), next: page.next_cursor ?? null };
  }

  // -------------------------------------------------------------- state

  async refreshState() {
    const { waiting, first } = await this.tx(["outbox"], "readonly", async ({ outbox }) => ({
      waiting: await done(outbox.count()),
      first: (await done(outbox.openCursor()))?.value,
    }));
    const old = this.state;
    const state = { mode: this.problem ?? (waiting ? "waiting" : "synced"), waiting, oldestWaitingAt: first?.created_at ?? null };
    this.state = state;
    if (this.told && ["mode", "waiting", "oldestWaitingAt"].every((k) => old[k] === state[k])) return;
    this.told = true;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  /**
   * The view changed here: the state first (so a listed entry is never newer than the status),
   * then this page and the user's other tabs (`ok`: we just synced).
   */
  async changed(ok = false) {
    await this.refreshState().catch(() => {});
    this.dispatchEvent(new Event("change"));
    if (!this.closed) this.channel?.postMessage({ ok });
  }

  async heard(message) {
    if (message?.ok) this.problem = null; // another tab got through: so can we
    await this.refreshState().catch(() => {});
    this.dispatchEvent(new Event("change"));
  }

  visible() {
    return globalThis.document?.visibilityState !== "hidden";
  }

  // -------------------------------------------------------------- flushing

  /**
   * Push the outbox (and pull, with `pull`): one run at a time in this page, one per device
   * across tabs (Web Locks); a call during a run makes it run again. A Retry-After or backoff
   * wait holds calls back, except with `now` (the network is back).
   * @param {{pull?: boolean, now?: boolean}} [options]
   */
  flush({ pull = false, now = false } = {}) {
    if (this.closed) return;
    this.wantPull ||= pull;
    if (now) this.failures = this.notBefore = 0;
    if (Date.now() >= this.notBefore) this.launch();
  }

  launch() {
    if (this.running) {
      this.again = true;
      return;
    }
    const run = () => this.run();
    this.running = (navigator.locks ? navigator.locks.request(this.name, run) : run())
      .catch((error) => console.warn("calcapp sync:", error))
      .finally(() => {
        this.running = null;
        if (this.again && !this.closed) {
          this.again = false;
          this.flush();
        }
      });
  }

  async run() {
    const pull = this.wantPull;
    this.wantPull = false;
    let delay = TICK_MS;
    try {
      if (await this.sameAccount()) {
        await this.push();
        if (pull) await this.pull();
        this.problem = null;
        this.failures = this.notBefore = 0;
        if (!this.closed) await this.changed(true);
      }
    } catch (error) {
      this.wantPull ||= pull;
      delay = this.failed(error);
    }
    if (this.closed) return;
    await this.refreshState().catch(() => {});
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delay);
  }

  /** The timer: a retry that is due, or the minute's push and pull. */
  tick() {
    if (!this.state.waiting && !this.visible()) {
      this.timer = setTimeout(() => this.tick(), TICK_MS);
      return;
    }
    this.wantPull ||= this.visible();
    this.launch();
  }

  /** Is the session still this user's, and premium? Otherwise say so, or hand over. */
  async sameAccount() {
    const me = await (await request("GET", "/me")).json();
    if (me.id !== this.userId) {
      this.close();
      this.dispatchEvent(new CustomEvent("user", { detail: me }));
      return false;
    }
    this.problem = me.premium ? null : "paused-premium";
    return me.premium;
  }

  /** Note why a run failed; returns when to try again (ms). The queue stays in every case. */
  failed(error) {
    const status = typeof error?.status === "number" ? error.status : -1;
    if (status === 401 || (status === 403 && error.code === "premium_required")) {
      this.problem = status === 401 ? "paused-signed-out" : "paused-premium";
      return TICK_MS;
    }
    this.problem = status === 0 ? "offline" : status === 429 || status >= 500 ? null : "error";
    if (status < 0) console.warn("calcapp sync:", error);
    if (this.state.waiting) navigator.serviceWorker?.ready.then((r) => r.sync?.register(TAG)).catch(() => {});
    if (status === 0 && navigator.onLine === false) return TICK_MS; // "online" will come
    const told = (status === 429 || status === 503) && error.retryAfter != null;
    const delay = told ? error.retryAfter * 1000 : backoff(this.failures++);
    this.notBefore = Date.now() + delay;
    return delay;
  }

  learnClock(serverTime, sentAt) {
    const server = Date.parse(serverTime);
    if (server) this.offset = Math.round(server - (sentAt + Date.now()) / 2);
  }

  /** How long the oldest waiting op has waited, for the server's monitoring (a clock estimate). */
  outboxAge(oldest) {
    const age = Math.round(Date.now() + this.offset - Date.parse(oldest.created_at));
    return Number.isFinite(age) ? { outbox_oldest_age_ms: Math.min(MAX_AGE_MS, Math.max(0, age)) } : {};
  }

  async push() {
    let size = BATCH;
    let lastHalt = "";
    for (let fixes = 0; !this.closed; fixes += 1) {
      if (fixes > 30) throw new Error("push keeps failing");
      const { ops, m } = await this.tx(["meta", "outbox"], "readwrite", async ({ meta, outbox }) => {
        const state = await getMeta(meta);
        const batch = await done(outbox.getAll(null, size));
        if (batch.at(-1)?.seq > state.sent_through) meta.put({ ...state, sent_through: batch.at(-1).seq }, "m");
        return { ops: batch, m: state };
      });
      if (ops.length === 0) return;
      const sentAt = Date.now();
      let answer;
      try {
        const body = { device_id: m.device_id, acked_through: m.acked_through, ops, ...this.outboxAge(ops[0]) };
        answer = await (await request("POST", "/sync/push", body)).json();
      } catch (error) {
        if (error?.status === 413 && size > 1) size = Math.ceil(size / 2);
        else if (error?.code === "device_user_mismatch") await this.renumber(1, true);
        else throw error;
        continue;
      }
      this.learnClock(answer.server_time, sentAt);
      const halt = answer.halted;
      if (await this.settle(ops, answer, m.device_id)) await this.renumber(1, true);
      else if (!halt) fixes = -1; // progress
      else {
        const key = `${halt.reason}:${halt.seq}:${halt.expected_seq}`;
        if (key === lastHalt) throw new Error(`push halted twice: ${key}`);
        lastHalt = key;
        if (halt.reason === "gap") await this.fromGap(halt.expected_seq);
        else if (halt.reason === "clock_out_of_range") await this.remint(halt.seq, answer.server_time);
        else throw new Error(`push halted: ${halt.reason}`);
      }
    }
  }

  /**
   * Drop what a 200 answer settled (seq <= ack_seq, not a conflict), putting its effect in the
   * cache in the same transaction. Returns whether a conflict needs a new device id.
   */
  settle(ops, { ack_seq: ack, results = [] }, device) {
    if (!Number.isInteger(ack)) throw new Error("push answer without ack_seq");
    const status = new Map(results.map((r) => [r.seq, r.status]));
    return this.tx(["meta", "outbox", "history"], "readwrite", async ({ meta, outbox, history }) => {
      const m = await getMeta(meta);
      if (m.device_id !== device) return false; // renumbered meanwhile: these seqs are not ours now
      for (const op of ops) {
        if (op.seq > ack || status.get(op.seq) === "conflict") continue;
        outbox.delete(op.seq);
        if (status.get(op.seq) !== "rejected") applyToCache(history, device, op);
      }
      meta.put({ ...m, acked_through: Math.max(m.acked_through, ack), offset: this.offset }, "m");
      return results.some((r) => r.status === "conflict");
    });
  }

  renumber(start, fresh) {
    return this.tx(["meta", "outbox"], "readwrite", (s) => renumberIn(s, start, fresh));
  }

  /** The server expects `expected`: send from there, renumbering when the outbox lacks it. */
  fromGap(expected) {
    return this.tx(["meta", "outbox"], "readwrite", async (s) => {
      if (!(await done(s.outbox.get(expected)))) await renumberIn(s, expected, false);
    });
  }

  /** The halted op's time, and any out of range, become the server's; deletes follow. */
  remint(seq, serverTime) {
    const now = Date.parse(serverTime);
    const iso = new Date(now).toISOString();
    const bad = (t) => !(Date.parse(t) >= EARLIEST && Date.parse(t) <= now + DAY_MS);
    return this.tx(["meta", "outbox"], "readwrite", async ({ meta, outbox }) => {
      const { device_id } = await getMeta(meta);
      const ops = await done(outbox.getAll());
      const moved = new Set();
      for (const op of ops) {
        if (op.seq !== seq && !bad(op.created_at)) continue;
        op.created_at = iso;
        if (op.kind === "create") moved.add(op.seq);
      }
      for (const op of ops) {
        if (op.target?.device_id === device_id && moved.has(op.target.seq)) op.target.created_at = iso;
        outbox.put(op);
      }
    });
  }

  async pull() {
    let { device_id, cursor } = await this.tx(["meta"], "readonly", ({ meta }) => getMeta(meta));
    let rebuild = false;
    while (!this.closed) {
      const sentAt = Date.now();
      let page;
      try {
        page = await (await request("POST", "/sync/pull", { device_id, cursor, limit: BATCH })).json();
      } catch (error) {
        if (error?.code === "cursor_expired" && cursor !== null) [cursor, rebuild] = [null, true];
        else if (error?.code === "device_user_mismatch") {
          await this.renumber(1, true);
          ({ device_id } = await this.tx(["meta"], "readonly", ({ meta }) => getMeta(meta)));
        } else throw error;
        continue;
      }
      this.learnClock(page.server_time, sentAt);
      await this.merge(page, rebuild, device_id);
      rebuild = false;
      cursor = page.next_cursor;
      if (!page.has_more) return;
    }
  }

  /**
   * A pull page into the cache with its cursor, in one transaction (a rebuild clears the cache
   * in it). Ops we sent that the server settled (a lost push answer) leave the outbox.
   */
  merge({ items, next_cursor, acked_through }, rebuild, device) {
    return this.tx(["meta", "outbox", "history"], "readwrite", async ({ meta, outbox, history }) => {
      if (rebuild) history.clear();
      for (const item of items) {
        if (item.deleted) history.delete(keyOf(item));
        else history.put(cacheRow(item));
      }
      const m = await getMeta(meta);
      const through = Math.min(acked_through ?? 0, m.sent_through);
      if (m.device_id === device && through > m.acked_through) {
        outbox.delete(IDBKeyRange.upperBound(through));
        m.acked_through = through;
      }
      meta.put({ ...m, cursor: next_cursor, offset: this.offset }, "m");
    });
  }
}
