// The sync client of one account on this device: pushes the outbox in batches, pulls what
// changed into the cache (at once when the live stream pokes), backs off, and reports its
// state. The data lives in outbox.js; the wire contract is docs/sync-protocol.md. No DOM.

import { request } from "./api.js";
import { LiveStream } from "./live.js";
import { Outbox } from "./outbox.js";

const BATCH = 500;
const TICK_MS = 60_000;
const TAG = "calcapp-sync";
const MAX_AGE_MS = 10 * 366 * 86_400_000; // the server's bound on outbox_oldest_age_ms
/** A page hidden this long lets go of its live stream (the timer and the return still sync). */
const HIDDEN_LIVE_MS = 60_000;
/** Answers that mean this outbox is not the signed-in account's: stop until it signs in again. */
const OTHER_ACCOUNT = new Set(["account_mismatch", "device_user_mismatch"]);

/**
 * @typedef {"synced" | "waiting" | "offline" | "paused-signed-out" | "paused-premium"
 *   | "paused-other-account" | "error"} Mode
 * @typedef {{mode: Mode, waiting: number, oldestWaitingAt: string | null}} SyncState
 */

const backoff = (failures) => Math.min(300_000, 1000 * 2 ** failures) * (0.5 + Math.random() / 2);

/**
 * Events: "state" (detail: SyncState), "change" (the synced history changed), "account" (the
 * session is not this account's any more; the client has stopped).
 */
export class SyncClient extends EventTarget {
  /** @param {string} userId the premium account whose outbox this is */
  constructor(userId) {
    super();
    this.userId = userId;
    this.name = `calcapp-sync-${userId}`;
    /** Resolves to the account's outbox; rejects when IndexedDB is unusable. */
    this.ready = Outbox.open(userId);
    this.ready.catch(() => {});
    this.offset = 0; // server clock minus ours (ms)
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
    this.started = false;
    this.version = -1; // the account's version this device holds all of (-1: not known)
    this.pokeAt = null; // the poke the next pull answers (its `at_ms`)
    this.hiddenTimer = 0;
    this.live = new LiveStream(userId, (poke) => this.poked(poke), () => this.flush({ pull: true }));
    this.channel = globalThis.BroadcastChannel ? new BroadcastChannel(this.name) : null;
    this.listeners = [
      [globalThis, "online", () => this.flush({ pull: true, now: true })],
      [globalThis, "offline", () => this.updateLive()],
      [globalThis.document, "visibilitychange", () => (this.updateLive(), this.visible() && this.flush({ pull: true }))],
      [navigator.serviceWorker, "message", (e) => e.data?.type === TAG && this.flush({ now: true })],
      [this.channel, "message", (e) => this.heard(e.data)],
    ];
  }

  /** Start listening, then push and pull. */
  async start() {
    this.started = true;
    for (const [target, type, fn] of this.listeners) target?.addEventListener(type, fn);
    navigator.storage?.persist?.().catch(() => {});
    this.offset = (await (await this.ready).meta()).offset ?? 0;
    await this.refreshState().catch(() => {});
    this.flush({ pull: true });
  }

  /** Stop every timer, listener and request. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.hiddenTimer);
    this.live.close();
    for (const [target, type, fn] of this.listeners) target?.removeEventListener(type, fn);
    this.channel?.close();
    this.ready.then((box) => box.close(), () => {});
  }

  /** Now, on the server's clock as far as we know it. */
  now() {
    return new Date(Date.now() + this.offset).toISOString();
  }

  /** Something changed in the outbox here: tell, then flush. */
  async enqueued() {
    await this.changed();
    this.flush();
  }

  // -------------------------------------------------------------- state

  async refreshState() {
    const { waiting, oldestAt } = await (await this.ready).state();
    const old = this.state;
    const state = { mode: this.problem ?? (waiting ? "waiting" : "synced"), waiting, oldestWaitingAt: oldestAt };
    this.state = state;
    if (this.told && ["mode", "waiting", "oldestWaitingAt"].every((k) => old[k] === state[k])) return;
    this.told = true;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  /**
   * The history changed here: the state first (so a listed entry is never newer than the
   * status), then this page and the account's other tabs (`ok`: we just synced).
   */
  async changed(ok = false) {
    await this.refreshState().catch(() => {});
    this.dispatchEvent(new Event("change"));
    if (!this.closed) this.channel?.postMessage({ ok });
  }

  async heard(message) {
    if (message?.ok && this.problem !== "paused-other-account") this.problem = null; // another tab got through
    await this.refreshState().catch(() => {});
    this.dispatchEvent(new Event("change"));
  }

  visible() {
    return globalThis.document?.visibilityState !== "hidden";
  }

  // -------------------------------------------------------------- live

  /**
   * The live stream is open while this client runs and is not paused, the device is online
   * and the page visible; a page hidden for a while lets it go.
   */
  updateLive() {
    const able = this.started && !this.closed && !this.problem?.startsWith("paused") && navigator.onLine !== false;
    clearTimeout(this.hiddenTimer);
    if (!able) this.live.want(false);
    else if (this.visible()) this.live.want(true);
    else this.hiddenTimer = setTimeout(() => this.live.want(false), HIDDEN_LIVE_MS);
  }

  /** The server says the account is at `version`: pull unless this device holds it. */
  poked({ version, at_ms }) {
    if (version <= this.version) return;
    this.pokeAt = Number.isSafeInteger(at_ms) && at_ms >= 0 ? at_ms : null;
    this.flush({ pull: true });
  }

  // -------------------------------------------------------------- flushing

  /**
   * Push the outbox (and pull, with `pull`): one run at a time in this page, one per device
   * across tabs (Web Locks); a call during a run makes it run again. A Retry-After or backoff
   * wait holds calls back, except with `now` (the network is back). Resolves when the run it
   * started (or joined) is over.
   * @param {{pull?: boolean, now?: boolean}} [options]
   */
  flush({ pull = false, now = false } = {}) {
    if (this.closed) return Promise.resolve();
    this.wantPull ||= pull;
    if (now) this.failures = this.notBefore = 0;
    if (Date.now() >= this.notBefore) this.launch();
    return this.running ?? Promise.resolve();
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
    if (this.problem === "paused-other-account") return; // until this account signs in again
    const pull = this.wantPull;
    this.wantPull = false;
    let delay = TICK_MS;
    try {
      await this.push();
      if (pull || this.wantPull) {
        // A call while the pull runs (a poke, the page shown again) may concern what that
        // pull, already sent, cannot have seen: it asks for another.
        this.wantPull = false;
        await this.pull();
      }
      // A rebuild took back ops the server lost (a restore): send them.
      if (this.wantPull || (await (await this.ready).state()).waiting) this.again = true;
      this.problem = null;
      this.failures = this.notBefore = 0;
      if (!this.closed) await this.changed(true);
    } catch (error) {
      this.wantPull ||= pull;
      delay = this.failed(error);
    }
    if (this.closed) return;
    this.updateLive();
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

  /** Note why a run failed; returns when to try again (ms). The queue stays in every case. */
  failed(error) {
    const status = typeof error?.status === "number" ? error.status : -1;
    if (status === 409 && OTHER_ACCOUNT.has(error.code)) {
      this.problem = "paused-other-account";
      this.dispatchEvent(new Event("account"));
      return TICK_MS;
    }
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
    const box = await this.ready;
    let size = BATCH;
    let lastHalt = "";
    for (let fixes = 0; !this.closed; fixes += 1) {
      if (fixes > 30) throw new Error("push keeps failing");
      const { ops, meta } = await box.nextBatch(size);
      if (ops.length === 0) return;
      const sentAt = Date.now();
      let answer;
      try {
        const body = {
          account_id: this.userId,
          device_id: meta.device_id,
          acked_through: meta.acked_through,
          ops,
          ...this.outboxAge(ops[0]),
        };
        answer = await (await request("POST", "/sync/push", body)).json();
      } catch (error) {
        if (error?.status === 413 && size > 1) {
          size = Math.ceil(size / 2);
          continue;
        }
        throw error;
      }
      this.learnClock(answer.server_time, sentAt);
      // This push made the version after the one held: the device holds that one too.
      if (answer.version === this.version + 1 && answer.results.some((r) => r.status === "applied")) {
        this.version = answer.version;
      }
      const settled = await box.settle(ops, answer, meta.device_id, this.offset);
      this.wantPull ||= settled.pull;
      const halt = answer.halted;
      if (settled.conflict) await box.renumber(1, true);
      else if (!halt) fixes = -1; // progress
      else {
        const key = `${halt.reason}:${halt.seq}:${halt.expected_seq}`;
        if (key === lastHalt) throw new Error(`push halted twice: ${key}`);
        lastHalt = key;
        if (halt.reason === "gap") await box.fromGap(halt.expected_seq);
        else if (halt.reason === "clock_out_of_range") await box.remint(halt, answer.server_time);
        else throw new Error(`push halted: ${halt.reason}`);
      }
      await this.changed();
    }
  }

  async pull() {
    const box = await this.ready;
    let { device_id, cursor } = await box.meta();
    let rebuild = false;
    while (!this.closed) {
      const sentAt = Date.now();
      let page;
      try {
        const poke = this.pokeAt === null ? {} : { poke_at_ms: this.pokeAt };
        const body = { account_id: this.userId, device_id, cursor, limit: BATCH, ...poke };
        page = await (await request("POST", "/sync/pull", body)).json();
        this.pokeAt = null;
      } catch (error) {
        if (error?.code !== "cursor_expired" || cursor === null) throw error;
        [cursor, rebuild] = [null, true];
        continue;
      }
      this.learnClock(page.server_time, sentAt);
      await box.merge(page, rebuild, device_id, this.offset);
      rebuild = false;
      cursor = page.next_cursor;
      if (!page.has_more) {
        if (Number.isInteger(page.version)) this.version = page.version;
        return;
      }
    }
  }
}
