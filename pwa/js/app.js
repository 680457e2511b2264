// The calculator page: the calculator, and the history panel showing the device's own history
// or, for a premium account, its synced history; the account state selects which.

import { PREMIUM_USER_KEY, signedInAccount } from "./api.js";
import { saveDraft, startCalculator } from "./calculator.js";
import * as panel from "./history-panel.js";
import { LocalHistory } from "./local-history.js";
import { startNumberSettings } from "./number-settings.js";
import { Outbox } from "./outbox.js";
import { startShell } from "./shell.js";
import { SyncedHistory } from "./synced-history.js";

/** "Not now" to the offer to upload: asked again the next time the app opens. */
const DECLINED_KEY = "calcapp.upload-declined.v1";

const storage = safeStorage();
const local = new LocalHistory(storage);
/** The history shown and written to. @type {LocalHistory | SyncedHistory} */
let history = local;

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    const data = new Map();
    return /** @type {Storage} */ ({
      getItem: (k) => (data.has(k) ? data.get(k) : null),
      setItem: (k, v) => void data.set(k, String(v)),
      removeItem: (k) => void data.delete(k),
    });
  }
}

function remember(key, value) {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch {
    /* storage full: only remembered for this visit */
  }
}

function use(next) {
  if (history === next) return;
  if (history !== local) history.close();
  history = next;
  panel.withdrawOffer();
  panel.show(next);
}

/** A premium account's synced history (its cache opens at once, even offline). @param {string} userId */
function usePremium(userId) {
  if (history instanceof SyncedHistory && history.userId === userId) return;
  const synced = new SyncedHistory(userId);
  synced.events.addEventListener("state", (event) => {
    if (history === synced) panel.showSyncState(/** @type {CustomEvent} */ (event).detail);
  });
  synced.events.addEventListener("account", checkAccount); // the session is another account's
  synced.ready.catch(() => history === synced && use(local)); // IndexedDB unusable: the local history works
  use(synced);
  synced.start().catch(() => {});
  offerUpload(synced).catch(() => {});
}

/**
 * The device's own calculations never added to any account: offer them to this one, once (the
 * ones added are marked with the account, never offered to another).
 * @param {SyncedHistory} synced
 */
async function offerUpload(synced) {
  const legacy = await (await synced.ready).takeLegacyUploadMark();
  if (legacy) {
    const sent = local.store.entries.filter((e) => legacy.has(`${e.created_at}|${e.expression}`));
    local.store.markUploaded(new Set(sent.map((e) => e.id)), synced.userId);
  }
  const waiting = local.store.notUploaded();
  if (!waiting.length || declined(synced.userId) || history !== synced) return;
  panel.offerUpload(
    waiting.length,
    async () => {
      const entries = local.store.notUploaded();
      await synced.upload(entries); // first: a crash in between offers them again, stored once
      local.store.markUploaded(new Set(entries.map((e) => e.id)), synced.userId);
      return entries.length;
    },
    () => decline(synced.userId),
  );
}

function declined(userId) {
  try {
    return sessionStorage.getItem(DECLINED_KEY) === userId;
  } catch {
    return false;
  }
}

function decline(userId) {
  try {
    sessionStorage.setItem(DECLINED_KEY, userId);
  } catch {
    /* asked again on the next start */
  }
}

/**
 * The signed-in account (null: signed out) selects the history. Signed out, the remembered
 * account's synced history leaves the device (its outbox waits for it to sign in again).
 * @param {{id: string, premium: boolean} | null} account
 */
function useAccount(account) {
  const remembered = storage.getItem(PREMIUM_USER_KEY);
  remember(PREMIUM_USER_KEY, account?.premium ? account.id : null);
  if (account?.premium) {
    usePremium(account.id);
    return;
  }
  use(local);
  if (!account && remembered) Outbox.forgetCache(remembered).catch(() => {});
}

/** Ask who is signed in; offline or unsure (5xx), the page keeps the history it has. */
function checkAccount() {
  signedInAccount().then(useAccount, () => {});
}

function start() {
  startNumberSettings(storage); // before the calculator and the panel show any number
  startCalculator({ storage, onResult: (calc) => panel.saving(history.add(calc)) });
  panel.startPanel();
  panel.show(local);
  if (local.store.recovered) {
    panel.tell("Stored history could not be read; it was kept aside and a new one started.");
  }
  const premiumUser = storage.getItem(PREMIUM_USER_KEY);
  if (premiumUser) usePremium(premiumUser);
  startShell({ beforeReload: saveDraft });
  document.documentElement.dataset.ready = "true";
  performance.mark("calcapp-ready"); // the first calculation is possible from here (bench/)
  checkAccount(); // in the background: the calculator never waits for the network
}

start();
