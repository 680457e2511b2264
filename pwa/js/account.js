// The account page: sign in, sign up, forgotten password, email verification and password
// reset links, and the signed-in settings. One view at a time, cloned from its <template>.

import * as api from "./api.js";
import { saveFile } from "./download.js";
import { startShell } from "./shell.js";

const viewRoot = /** @type {HTMLElement} */ (document.getElementById("view"));
const notice = /** @type {HTMLElement} */ (document.getElementById("notice"));
const offlineBanner = /** @type {HTMLElement} */ (document.getElementById("offline-banner"));

// The data-architecture document's email format, as the server checks it (docs/api.md).
const EMAIL_FORMAT = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
const OFFLINE_MESSAGE = "You're offline. Try again when you're connected.";
const GENERIC_MESSAGE = "Something went wrong. Please try again.";

/** @type {string} the view shown */
let current = "";
/** @type {api.Me | null} */
let account = null;
/** Focus moves to a new view's heading, except for the first view of the page. */
let firstView = true;
/** What to do when the network comes back (retry what failed offline). */
let onReconnect = null;

// ---------------------------------------------------------------- password rules (hints)

const RULES = [
  { text: "8 to 100 characters", ok: (p) => [...p].length >= 8 && [...p].length <= 100 },
  { text: "an upper-case letter", ok: (p) => /\p{Lu}/u.test(p) },
  { text: "a lower-case letter", ok: (p) => /\p{Ll}/u.test(p) },
  { text: "a digit", ok: (p) => /\p{Nd}/u.test(p) },
  {
    text: "at most 72 bytes (accented letters and emoji count as 2 to 4)",
    ok: (p) => new TextEncoder().encode(p).length <= 72,
  },
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

// ---------------------------------------------------------------- messages

function tooManyAttempts(seconds) {
  if (seconds === null || seconds === undefined) return "Too many attempts — try again later.";
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return `Too many attempts — try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

/** The sentence to show for a failed request. */
function describe(error) {
  if (!(error instanceof api.ApiError)) return GENERIC_MESSAGE;
  if (error.code === "offline") return OFFLINE_MESSAGE;
  if (error.status === 429) return tooManyAttempts(error.retryAfter);
  // A validation failure's detail is "<field>: <message>"; the message alone reads better.
  const [first] = error.errors;
  if (error.code === "validation_error" && first?.key && first.message) return first.message;
  return error.detail || GENERIC_MESSAGE;
}

function setOffline(offline) {
  offlineBanner.hidden = !offline;
}

/** Run an API call, keeping the offline banner in step: any answer from the server means
 * the network is back, a request that could not be sent means it is not. */
async function call(promise) {
  try {
    const value = await promise;
    setOffline(false);
    return value;
  } catch (error) {
    setOffline(error instanceof api.ApiError && error.code === "offline");
    throw error;
  }
}

function region(root, kind, name = "") {
  return /** @type {HTMLElement | null} */ (root.querySelector(`[data-${kind}="${name}"]`));
}

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

/**
 * Show a message in a live region that was just emptied, one frame later, so that the same
 * message twice in a row is announced twice.
 */
function announce(element, text) {
  setText(element, "");
  requestAnimationFrame(() => setText(element, text));
}

function showNotice(message) {
  setText(notice, message);
}

// ---------------------------------------------------------------- views

/**
 * Show the view `name` (a clone of template #view-<name>) and wire its controls.
 * @param {string} name
 * @param {{notice?: string, email?: string}} [options] a notice to show; the sign-in email
 */
function render(name, options = {}) {
  const template = /** @type {HTMLTemplateElement} */ (document.getElementById(`view-${name}`));
  const root = /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
  viewRoot.replaceChildren(root);
  current = name;
  onReconnect = null;
  showNotice(options.notice ?? "");
  root.querySelectorAll("[data-new-password]").forEach(wirePasswordRules);
  root.querySelectorAll("[data-go]").forEach((button) => {
    button.addEventListener("click", () => render(button.getAttribute("data-go")));
  });
  VIEWS[name]?.(root, options);
  if (name !== "loading") {
    if (!firstView) root.querySelector("h2")?.focus();
    firstView = false;
  }
  return root;
}

/** Load the account (signed in or not) and show the matching view. */
async function showHome(options = {}) {
  if (navigator.onLine === false) {
    showUnavailable(OFFLINE_MESSAGE);
    return;
  }
  if (current === "" || current === "loading") render("loading");
  try {
    account = await call(api.me());
    render("account", options);
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) {
      account = null;
      render("signin", options);
    } else {
      showUnavailable(describe(error));
    }
  }
}

function showUnavailable(message) {
  const root = render("unavailable");
  setText(region(root, "alert"), message);
  onReconnect = () => showHome();
}

/** The session ended elsewhere (signed out, password changed, account deleted). */
function sessionEnded() {
  account = null;
  render("signin", { notice: "Your session has ended. Please sign in again." });
}

// ---------------------------------------------------------------- forms

/**
 * Handle a form's submit: buttons disabled while `task` runs, errors shown in its alert.
 * `task` returns nothing, or throws; a 401 from a signed-in form means the session ended.
 * @param {HTMLFormElement} form
 * @param {(fields: Record<string, string>) => Promise<void> | void} task
 * @param {{signedIn?: boolean}} [options]
 */
function onSubmit(form, task, { signedIn = false } = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll("button")];
    if (buttons.some((button) => button.disabled)) return;
    const alert = region(form, "alert");
    const status = region(form, "status");
    setText(alert, "");
    setText(status, "");
    form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    const fields = Object.fromEntries(
      [...new FormData(form)].map(([key, value]) => [key, typeof value === "string" ? value : ""]),
    );
    const hadFocus = buttons.find((button) => button === document.activeElement);
    buttons.forEach((button) => (button.disabled = true));
    form.setAttribute("aria-busy", "true");
    try {
      await task(fields);
    } catch (error) {
      if (signedIn && error instanceof api.ApiError && error.status === 401) {
        sessionEnded();
        return;
      }
      if (error instanceof FieldError) {
        invalid(form, error.field);
        announce(alert, error.message);
      } else {
        for (const problem of error instanceof api.ApiError ? error.errors : []) {
          if (problem.key) invalid(form, problem.key, false);
        }
        announce(alert, describe(error));
      }
    } finally {
      buttons.forEach((button) => (button.disabled = false));
      form.removeAttribute("aria-busy");
      if (hadFocus && form.isConnected && document.activeElement === document.body) hadFocus.focus();
    }
  });
}

/** A problem found before sending: shown in the form's alert, its field marked and focused. */
class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function invalid(form, name, focus = true) {
  const input = form.elements.namedItem(name);
  if (!(input instanceof HTMLInputElement)) return;
  input.setAttribute("aria-invalid", "true");
  if (focus) input.focus();
}

function requireEmail(value, field = "email") {
  const email = value.trim();
  if (!email) throw new FieldError(field, "Enter your email address.");
  if (!EMAIL_FORMAT.test(email)) {
    throw new FieldError(field, "Enter an email address like name@example.com.");
  }
  return email;
}

function requireValue(value, field, message) {
  if (!value) throw new FieldError(field, message);
  return value;
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

async function showVerify(token) {
  const root = render("verify");
  const status = region(root, "status");
  const alert = region(root, "alert");
  const retry = /** @type {HTMLButtonElement} */ (root.querySelector('[data-action="retry"]'));
  const next = /** @type {HTMLButtonElement} */ (root.querySelector('[data-action="continue"]'));
  let email = "";
  next.addEventListener("click", () => showHome({ email }));
  const attempt = async () => {
    const retrying = document.activeElement === retry;
    retry.hidden = true;
    setText(alert, "");
    setText(status, "Confirming your email…");
    try {
      const answer = await call(api.verifyEmail(token));
      email = answer.email ?? "";
      clearFragment();
      setText(status, email ? `Your email ${email} is confirmed.` : "Your email is confirmed.");
      next.hidden = false;
      next.focus();
    } catch (error) {
      setText(status, "");
      setText(alert, describe(error));
      if (error instanceof api.ApiError && error.code === "offline") {
        retry.hidden = false; // keep the link's token: it is still good
        if (retrying) retry.focus();
        onReconnect = attempt;
      } else {
        clearFragment();
        next.hidden = false;
      }
    }
  };
  retry.addEventListener("click", attempt);
  await attempt();
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
  /** @type {HTMLInputElement} */ (field("username")).value = account.email;
}

function wireAccount(root) {
  fillAccount(root);
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
      account = await call(api.updateMe({ email }));
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

  onAction(root, "signout", "account", async () => {
    await call(api.logout());
    account = null;
    render("signin", { notice: "You're signed out." });
  });
}

/**
 * A button of the signed-in view: disabled while `task` runs; errors go to the alert region
 * named `regionName`, and a 401 means the session ended.
 */
function onAction(root, action, regionName, task) {
  const button = /** @type {HTMLButtonElement} */ (root.querySelector(`[data-action="${action}"]`));
  const alert = region(root, "alert", regionName);
  const status = region(root, "status", regionName);
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    setText(alert, "");
    setText(status, "");
    button.disabled = true;
    try {
      await task(status);
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) {
        sessionEnded();
        return;
      }
      announce(alert, describe(error));
    } finally {
      button.disabled = false;
      if (button.isConnected && document.activeElement === document.body) button.focus();
    }
  });
}

// ---------------------------------------------------------------- start

const VIEWS = {
  signin: wireSignin,
  signup: wireSignup,
  forgot: wireForgot,
  account: wireAccount,
  unavailable: (root) => {
    const retry = /** @type {HTMLButtonElement} */ (root.querySelector('[data-action="retry"]'));
    retry.addEventListener("click", () => {
      retry.disabled = true;
      showHome();
    });
  },
};

async function route() {
  const verify = linkToken("verify");
  if (verify) return showVerify(verify);
  const reset = linkToken("reset");
  if (reset) return showReset(reset);
  return showHome();
}

function start() {
  setOffline(navigator.onLine === false);
  window.addEventListener("offline", () => setOffline(true));
  window.addEventListener("online", () => {
    setOffline(false);
    const retry = onReconnect;
    onReconnect = null;
    retry?.();
  });
  window.addEventListener("hashchange", () => {
    if (linkToken("verify") || linkToken("reset")) route();
  });
  startShell({ beforeReload: () => {} });
  route().finally(() => {
    document.documentElement.dataset.ready = "true";
  });
}

start();
