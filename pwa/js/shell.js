// The installable-app shell: service worker registration and updates, install prompts.

/** @param {{beforeReload: () => void}} hooks */
export function startShell({ beforeReload }) {
  registerServiceWorker(beforeReload);
  offerInstall();
}

function registerServiceWorker(beforeReload) {
  if (!("serviceWorker" in navigator)) return;
  const banner = document.getElementById("update-banner");
  let reloading = false;

  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!reloading) return;
    beforeReload();
    window.location.reload();
  });

  const showUpdate = (worker) => {
    banner.hidden = false;
    document.getElementById("update-reload").onclick = () => {
      reloading = true;
      worker.postMessage({ type: "SKIP_WAITING" });
    };
  };

  navigator.serviceWorker
    .register("sw.js", { scope: "./" })
    .then((registration) => {
      if (registration.waiting && navigator.serviceWorker.controller) showUpdate(registration.waiting);
      registration.addEventListener("updatefound", () => {
        const worker = registration.installing;
        worker?.addEventListener("statechange", () => {
          // Only an update (there is a controller) needs the user's go-ahead.
          if (worker.state === "installed" && navigator.serviceWorker.controller) showUpdate(worker);
        });
      });
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") registration.update().catch(() => {});
      });
    })
    .catch(() => {
      // No service worker (private mode, unsupported): the app still works online.
    });
}

/**
 * Chromium offers installation through `beforeinstallprompt`; iOS Safari has no such event,
 * so there the same button shows how to add the app to the home screen.
 */
function offerInstall() {
  const button = document.getElementById("install");
  const tip = document.getElementById("ios-install");
  let deferred = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    deferred = event;
    button.hidden = false;
  });
  window.addEventListener("appinstalled", () => {
    button.hidden = true;
  });

  const ios = /iphone|ipad|ipod/i.test(navigator.userAgent);
  const standalone = navigator.standalone === true || matchMedia("(display-mode: standalone)").matches;
  if (ios && !standalone) button.hidden = false;

  button.addEventListener("click", async () => {
    if (deferred) {
      button.hidden = true;
      deferred.prompt();
      await deferred.userChoice.catch(() => null);
      deferred = null;
    } else if (ios) {
      tip.hidden = !tip.hidden;
    }
  });
  document.getElementById("ios-install-dismiss").addEventListener("click", () => {
    tip.hidden = true;
  });
}
