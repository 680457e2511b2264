// Calcapp service worker: the app shell, precached and served cache-first, so the calculator
// works offline. The server fills in the version and file list from the shell's contents, so
// any change to a shell file makes this script change too (and the browser install it).
// API responses are never cached: they carry user data.

const VERSION = "__SHELL_VERSION__";
const FILES = ["__SHELL_FILES__"];
const PREFIX = "calcapp-shell-";
const CACHE = PREFIX + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(FILES.map((file) => new Request(file, { cache: "no-cache" })))),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "SKIP_WAITING") self.skipWaiting();
});

// Background Sync (Chromium): the browser says the network is back; the open pages flush their
// outboxes (the sync engine lives in the page, not here).
self.addEventListener("sync", (event) => {
  if (event.tag !== "calcapp-sync") return;
  event.waitUntil(
    self.clients
      .matchAll({ type: "window" })
      .then((pages) => pages.forEach((page) => page.postMessage({ type: "calcapp-sync" }))),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // network only, never cached
  if (request.mode === "navigate") {
    // A precached page (index.html, account.html), else the calculator, else the network.
    event.respondWith(
      fromCache(request)
        .then((hit) => hit ?? fromCache("./"))
        .then((hit) => hit ?? fetch(request)),
    );
    return;
  }
  event.respondWith(fromCache(request).then((hit) => hit ?? fetch(request)));
});

function fromCache(request) {
  return caches.open(CACHE).then((cache) => cache.match(request, { ignoreSearch: true }));
}
