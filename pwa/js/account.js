// The account page: sign in, sign up, forgotten password, email verification and password
// reset links, and the signed-in settings. One view at a time, cloned from its <template>.
// Over 400 lines: one short function per view and form of the page, sharing the field
// errors and the busy state; split when a view grows its own state.

import * as api from "./api.js";
import { saveFile } from "./download.js";
import { Outbox } from "./outbox.js";
import {
  FieldError,
  OFFLINE_MESSAGE,
  call,
  current,
  describe,
  onAction,
  onSubmit,
  region,
  render,
  requireValue,
  setText,
  setUp,
  showUnavailable,
  whenOnline,
} from "./page.js";
import { startShell } from "./shell.js";
import { SyncClient } from "./sync-client.js";

// The data-architecture document's email format, as the server checks it (docs/api.md).
const EMAIL_FORMAT = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
/** @type {api.Me | null} */
let account = null;

// ---------------------------------------------------------------- password rules (hints)

// OWASP ASVS 2.1: length, no composition rules. Whether the password is a known breached or
// common one only the server knows (its list is not sent to the page).
const RULES = [
  { text: "12 to 128 characters", ok: (p) => [...p].length >= 12 && [...p].length <= 128 },
  { text: "not a common or breached password (checked when you save)", ok: (p) => p.length >= 12 },
];

/** The first rule `password` breaks, as a sentence; null if it follows them all. */
function passwordProblem(password) {
  const broken = RULES.find((rule) => !rule.ok(password));
  return broken ? `The password needs ${broken.text}.` : null;
}

function wirePasswordRules(input) {
  const list = /** @type {HTMLElement} */ (input.parentElement.querySelector("[data-rules]"));
  const items = RULES.map((rule) => {
    const item = document.createElement("li");
    item.textContent = rule.text[0].toUpperCase() + rule.text.slice(1);
    return item;
  });
  list.replaceChildren(...items);
  const update = () => {
    RULES.forEach((rule, i) => {
      items[i].classList.toggle("met", input.value !== "" && rule.ok(input.value));
    });
  };
  input.addEventListener("input", update);
}

// ---------------------------------------------------------------- views

/** Load the account (signed in or not) and show the matching view. */
async function showHome(options = {}) {
  if (navigator.onLine === false) {
    showUnavailable(OFFLINE_MESSAGE, showHome);
    return;
  }
  if (current === "" || current === "loading") render("loading");
  try {
    account = await call(api.signedInAccount());
  } catch (error) {
    showUnavailable(describe(error), showHome);
    return;
  }
  render(account ? "account" : "signin", options);
}

/** The session ended elsewhere (signed out, password changed, account deleted). */
function sessionEnded() {
  account = null;
  render("signin", { notice: "Your session has ended. Please sign in again." });
}

// ---------------------------------------------------------------- forms

function requireEmail(value, field = "email") {
  const email = value.trim();
  if (!email) throw new FieldError(field, "Enter your email address.");
  if (!EMAIL_FORMAT.test(email)) {
    throw new FieldError(field, "Enter an email address like name@example.com.");
  }
  return email;
}

function requireNewPassword(value, field) {
  requireValue(value, field, "Enter a password.");
  const problem = passwordProblem(value);
  if (problem) throw new FieldError(field, problem);
  return value;
}

// ---------------------------------------------------------------- signed out

function wireSignin(root, { email = "" } = {}) {
  const form = /** @type {HTMLFormElement} */ (root.querySelector('[data-form="signin"]'));
  /** @type {HTMLInputElement} */ (form.elements.namedItem("email")).value = email;
  onSubmit(form, async (fields) => {
    const email = requireEmail(fields.email);
    const password = requireValue(fields.password, "password", "Enter your password.");
    try {
      account = await call(api.login(email, password));
    } catch (error) {
      const passwordInput = /** @type {HTMLInputElement} */ (form.elements.namedItem("password"));
      if (error instanceof api.ApiError && error.code === "invalid_credentials") passwordInput.value = "";
      throw error;
    }
    render("account");
  });
}

function wireSignup(root) {
  const form = /** @type {HTMLFormElement} */ (root.querySelector('[data-form="signup"]'));
  onSubmit(form, async (fields) => {
    const email = requireEmail(fields.email);
    const password = requireNewPassword(fields.password, "password");
    const displayName = fields.display_name.trim();
    await call(api.signup({ email, password, ...(displayName ? { display_name: displayName } : {}) }));
    render("signin", {
      email,
      notice:
        `Check your inbox: we sent a message to ${email}. ` +
        "Open its link to confirm your email, then sign in.",
    });
  });
}

function wireForgot(root) {
  const form = /** @type {HTMLFormElement} */ (root.querySelector('[data-form="forgot"]'));
  onSubmit(form, async (fields) => {
    const email = requireEmail(fields.email);
    await call(api.forgotPassword(email));
    setText(
      region(form, "status"),
      `If an account uses ${email}, we sent it a link to choose a new password. It works for one hour.`,
    );
  });
}

// ---------------------------------------------------------------- links from mail

/** The token of a `#verify=…` or `#reset=…` link, or null. */
function linkToken(kind) {
  const match = new RegExp(`^#${kind}=([^&]+)`).exec(window.location.hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

function clearFragment() {
  history.replaceState(history.state, "", window.location.pathname + window.location.search);
}

/**
 * A mailed link that acts at once (confirm an address, undo an email change): its view says
 * what happened, keeps the token to try again while offline, and offers to continue.
 * @param {{view: string, working: string, act: () => Promise<{email: string}>,
 *   done: (email: string) => string, next: (email: string) => void}} link
 */
async function followLink({ view, working, act, done, next }) {
  const root = render(view);
  const status = region(root, "status");
  const alert = region(root, "alert");
  const retry = /** @type {HTMLButtonElement} */ (root.querySelector('[data-action="retry"]'));
  const onward = /** @type {HTMLButtonElement} */ (root.querySelector('[data-action="continue"]'));
  let email = "";
  onward.addEventListener("click", () => next(email));
  const attempt = async () => {
    const retrying = document.activeElement === retry;
    retry.hidden = true;
    setText(alert, "");
    setText(status, working);
    try {
      email = (await call(act())).email ?? "";
      clearFragment();
      setText(status, done(email));
      onward.hidden = false;
      onward.focus();
    } catch (error) {
      setText(status, "");
      setText(alert, describe(error));
      if (error instanceof api.ApiError && error.code === "offline") {
        retry.hidden = false; // keep the link's token: it is still good
        if (retrying) retry.focus();
        whenOnline(attempt);
      } else {
        clearFragment();
        onward.hidden = false;
      }
    }
  };
  retry.addEventListener("click", attempt);
  await attempt();
}

function showVerify(token) {
  return followLink({
    view: "verify",
    working: "Confirming your email…",
    act: () => api.verifyEmail(token),
    done: (email) => (email ? `Your email ${email} is confirmed.` : "Your email is confirmed."),
    next: (email) => showHome({ email }),
  });
}

function showUndo(token) {
  return followLink({
    view: "undo",
    working: "Putting your email address back…",
    act: () => api.undoEmailChange(token),
    done: (email) =>
      `Your email is ${email} again, and every device was signed out. We sent it a link to ` +
      "choose a new password: please do, in case someone else knows the old one.",
    next: (email) => {
      account = null;
      render("signin", { email });
    },
  });
}

function showReset(token) {
  const root = render("reset");
  const form = /** @type {HTMLFormElement} */ (root.querySelector('[data-form="reset"]'));
  onSubmit(form, async (fields) => {
    const password = requireNewPassword(fields.password, "password");
    try {
      await call(api.resetPassword(token, password));
    } catch (error) {
      if (error instanceof api.ApiError && error.code === "invalid_token") clearFragment();
      throw error;
    }
    clearFragment();
    account = null;
    render("signin", { notice: "Your password was changed. Sign in with your new password." });
  });
}

// ---------------------------------------------------------------- signed in

function fillAccount(root) {
  if (!account) return;
  const field = (name) => /** @type {HTMLElement} */ (root.querySelector(`[data-field="${name}"]`));
  setText(field("email"), account.email);
  setText(field("verified"), account.email_verified ? "Verified" : "Not verified");
  field("verified").classList.toggle("badge-ok", account.email_verified);
  field("verify-row").hidden = account.email_verified;
  field("pending-row").hidden = !account.pending_email;
  setText(field("pending"), account.pending_email ?? "");
  setText(field("plan"), account.premium ? "Premium — history synced on all your devices." : "Free");
  setText(field("plan-link"), account.premium ? "Billing" : "Upgrade to Premium");
  /** @type {HTMLInputElement} */ (field("username")).value = account.email;
  field("password-required").hidden = !account.password_change_required;
}

function timeAgo(iso) {
  const minutes = Math.floor((Date.now() - Date.parse(iso)) / 60000);
  if (!(minutes >= 1)) return "active now";
  if (minutes < 60) return `last used ${minutes} min ago`;
  if (minutes < 2880) return `last used ${Math.floor(minutes / 60)} h ago`;
  return `last used ${Math.floor(minutes / 1440)} days ago`;
}

/** The signed-in devices, each but this one with a button that signs it out. */
async function showSessions(root) {
  const list = /** @type {HTMLElement} */ (root.querySelector('[data-field="sessions"]'));
  const { items } = await call(api.sessions());
  list.replaceChildren(
    ...items.map((session) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "session-device";
      name.textContent = session.current ? `${session.device} (this device)` : session.device;
      const when = document.createElement("span");
      when.className = "muted";
      when.textContent = timeAgo(session.last_used_at);
      item.append(name, " ", when);
      if (!session.current) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "chip";
        button.textContent = "Sign out";
        button.setAttribute("aria-label", `Sign out ${session.device}, ${when.textContent}`);
        button.addEventListener("click", async () => {
          button.disabled = true;
          try {
            await call(api.endSession(session.id));
            setText(region(root, "status", "sessions"), `${session.device} is signed out.`);
          } catch (error) {
            if (error instanceof api.ApiError && error.status === 401) return sessionEnded();
            if (!(error instanceof api.ApiError && error.code === "not_found")) {
              setText(region(root, "alert", "sessions"), describe(error));
            }
          }
          await showSessions(root).catch(() => {});
        });
        item.append(" ", button);
      }
      return item;
    }),
  );
}

function wireAccount(root) {
  fillAccount(root);
  showSessions(root).catch((error) => setText(region(root, "alert", "sessions"), describe(error)));
  if (account?.password_change_required) {
    /** @type {HTMLElement} */ (root.querySelector("#password-title")).scrollIntoView();
  }
  const form = (name) => /** @type {HTMLFormElement} */ (root.querySelector(`[data-form="${name}"]`));
  const nameInput = /** @type {HTMLInputElement} */ (form("name").elements.namedItem("display_name"));
  nameInput.value = account?.display_name ?? "";

  onSubmit(
    form("name"),
    async (fields) => {
      const displayName = fields.display_name.trim();
      account = await call(api.updateMe({ display_name: displayName || null }));
      nameInput.value = account.display_name ?? "";
      fillAccount(root);
      setText(region(form("name"), "status"), displayName ? "Display name saved." : "Display name removed.");
    },
    { signedIn: true },
  );

  onSubmit(
    form("email"),
    async (fields) => {
      const email = requireEmail(fields.email);
      if (account && email.toLowerCase() === account.email.toLowerCase()) {
        throw new FieldError("email", "That is already your email.");
      }
      const current = requireValue(
        fields.current_password,
        "current_password",
        "Enter your current password.",
      );
      account = await call(api.updateMe({ email, current_password: current }));
      fillAccount(root);
      form("email").reset();
      setText(
        region(form("email"), "status"),
        `We sent a confirmation link to ${email}. Your email changes when you open it.`,
      );
    },
    { signedIn: true },
  );

  onSubmit(
    form("password"),
    async (fields) => {
      const current = requireValue(
        fields.current_password,
        "current_password",
        "Enter your current password.",
      );
      const next = requireNewPassword(fields.new_password, "new_password");
      await call(api.changePassword(current, next));
      form("password").reset();
      if (account) account = { ...account, password_change_required: false };
      fillAccount(root);
      setText(region(form("password"), "status"), "Password changed. Your other devices were signed out.");
    },
    { signedIn: true },
  );

  onSubmit(
    form("delete"),
    async (fields) => {
      const password = requireValue(fields.password, "password", "Enter your password to confirm.");
      if (fields.confirm !== "on") {
        throw new FieldError("confirm", "Tick the box to confirm that you want to delete your account.");
      }
      await call(api.deleteAccount(password));
      if (account) await Outbox.destroy(account.id).catch(() => {});
      account = null;
      render("signin", { notice: "Your account was deleted." });
    },
    { signedIn: true },
  );

  onAction(root, "resend", "account", async (status) => {
    try {
      await call(api.resendVerification());
      setText(status, `We sent a new confirmation link to ${account?.email ?? "your email"}.`);
    } catch (error) {
      if (!(error instanceof api.ApiError && error.code === "already_verified")) throw error;
      account = await call(api.me());
      fillAccount(root);
      setText(status, "Your email is already confirmed.");
    }
  });

  onAction(root, "export", "export", async (status) => {
    const { blob, filename } = await call(api.exportData());
    saveFile(blob, filename);
    setText(status, `Downloaded ${filename}.`);
  });

  const unsynced = /** @type {HTMLElement} */ (root.querySelector('[data-field="unsynced"]'));
  /** Calculations of this premium account still waiting on this device: say so, or sign out. */
  const signOutUnlessWaiting = async (status) => {
    const waiting = account?.premium ? await Outbox.waiting(account.id).catch(() => 0) : 0;
    if (!waiting) return signOut();
    const text = `${waiting} calculation${waiting === 1 ? " has" : "s have"} not synced yet.`;
    setText(/** @type {HTMLElement} */ (root.querySelector('[data-field="unsynced-text"]')), text);
    unsynced.hidden = false;
    setText(status, `${text} They sync when you sign in again with this account.`);
  };

  onAction(root, "signout-others", "sessions", async (status) => {
    await call(api.endOtherSessions());
    await showSessions(root);
    setText(status, "Every other device is signed out.");
  });

  onAction(root, "signout", "account", signOutUnlessWaiting);
  onAction(root, "signout-anyway", "account", () => signOut());
  onAction(root, "sync-first", "account", async (status) => {
    if (!account) return;
    setText(status, "Syncing…");
    const client = new SyncClient(account.id);
    try {
      await client.flush({ now: true });
    } finally {
      client.close();
    }
    await signOutUnlessWaiting(status);
  });
}

/** Sign out: the session ends, and the account's synced history leaves this device. */
async function signOut() {
  const leaving = account;
  await call(api.logout());
  if (leaving) await Outbox.forgetCache(leaving.id).catch(() => {});
  account = null;
  render("signin", { notice: "You're signed out." });
}

// ---------------------------------------------------------------- start

const VIEWS = {
  signin: wireSignin,
  signup: wireSignup,
  forgot: wireForgot,
  account: wireAccount,
};

async function route() {
  const verify = linkToken("verify");
  if (verify) return showVerify(verify);
  const reset = linkToken("reset");
  if (reset) return showReset(reset);
  const undo = linkToken("undo-email");
  if (undo) return showUndo(undo);
  return showHome();
}

function start() {
  setUp({
    views: VIEWS,
    sessionEnded,
    prepare: (root) => root.querySelectorAll("[data-new-password]").forEach(wirePasswordRules),
  });
  window.addEventListener("hashchange", () => {
    if (linkToken("verify") || linkToken("reset") || linkToken("undo-email")) route();
  });
  startShell({ beforeReload: () => {} });
  route().finally(() => {
    document.documentElement.dataset.ready = "true";
  });
}

start();
