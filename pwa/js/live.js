// Live sync: while its owner wants it (premium, signed in, online, visible), one tab of the
// browser holds a stream of pokes from the server (GET /api/v1/sync/events, Server-Sent Events
// read with fetch) and hands each poke to its owner, which pulls when the poke names a version
// it does not hold. The other tabs hear of the pull through the sync client's channel. When
// the stream cannot be opened or breaks, it re-opens with backoff and jitter; the sync
// client's other triggers (start, online, visible, its timer) stay as the fallback. No DOM;
// the wire contract is docs/sync-protocol.md.

const PATH = "/api/v1/sync/events";
/** The server comments every 25 s: this long without a byte, the connection is dead. */
const SILENCE_MS = 60_000;

const backoff = (failures) => Math.min(60_000, 1000 * 2 ** failures) * (0.5 + Math.random() / 2);

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** The fields of one event block (`id`, `event`, `data`), comments left out. */
function parseEvent(block) {
  const fields = {};
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const name = at < 0 ? line : line.slice(0, at);
    fields[name] = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
  }
  return fields;
}

export class LiveStream {
  /**
   * @param {string} userId whose stream (one per account and browser)
   * @param {(poke: {version: number, at_ms: number}) => void} onPoke
   * @param {(status: number) => void} onRefused the server said 401 or 403: the owner finds
   *   out why (a push or pull) and wants the stream again once that is settled
   */
  constructor(userId, onPoke, onRefused) {
    this.lock = `calcapp-live-${userId}`;
    this.onPoke = onPoke;
    this.onRefused = onRefused;
    this.wanted = false;
    this.stopper = null;
    this.lastId = null;
  }

  /** Open (`true`) or close the stream; repeated calls with the same value do nothing. */
  want(on) {
    if (on === this.wanted) return;
    this.wanted = on;
    if (!on) {
      this.stopper?.abort();
      this.stopper = null;
      return;
    }
    const stopper = (this.stopper = new AbortController());
    const hold = () => this.run(stopper.signal);
    // One stream per browser: the tabs queue for the lock; a stopped tab leaves the queue.
    const held = navigator.locks
      ? navigator.locks.request(this.lock, { signal: stopper.signal }, hold)
      : hold();
    held.catch(() => {}); // stopped while waiting for the lock
  }

  close() {
    this.want(false);
  }

  /** Open, read, re-open after a pause, until stopped. */
  async run(signal) {
    let failures = 0;
    while (!signal.aborted) {
      const request = new AbortController();
      const cancel = () => request.abort();
      signal.addEventListener("abort", cancel);
      try {
        const headers = { accept: "text/event-stream" };
        if (this.lastId) headers["last-event-id"] = this.lastId;
        const response = await fetch(PATH, { headers, signal: request.signal, cache: "no-store" });
        if (response.status === 401 || response.status === 403) {
          this.wanted = false;
          this.onRefused(response.status);
          return;
        }
        if (response.ok && response.body) {
          failures = 0;
          await this.read(response.body, request);
        }
      } catch {
        // offline, the connection cut, or stopped: the pause below, or the end
      } finally {
        signal.removeEventListener("abort", cancel);
      }
      await pause(backoff(failures++), signal);
    }
  }

  async read(body, request) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let watchdog = 0;
    const awake = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => request.abort(), SILENCE_MS);
    };
    let buffer = "";
    try {
      for (awake(); ; awake()) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value.replace(/\r\n?/g, "\n");
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          this.heard(parseEvent(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  heard({ id, event, data }) {
    if (event !== "poke" || !data) return;
    if (id) this.lastId = id;
    try {
      const poke = JSON.parse(data);
      if (Number.isInteger(poke?.version)) this.onPoke(poke);
    } catch {
      // not ours: ignored
    }
  }
}
