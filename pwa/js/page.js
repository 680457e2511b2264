// What the account and billing pages share: one view at a time (a clone of its <template>),
// forms and buttons that call the API with clear messages, and the offline banner.

import { ApiError } from "./api.js";

export const OFFLINE_MESSAGE = "You're offline. Try again when you're connected.";
const GENERIC_MESSAGE = "Something went wrong. Please try again.";

const viewRoot = /** @type {HTMLElement} */ (document.getElementById("view"));
const notice = /** @type {HTMLElement} */ (document.getElementById("notice"));
const offlineBanner = /** @type {HTMLElement} */ (document.getElementById("offline-banner"));

/** @type {Record<string, (root: HTMLElement, options: any) => void>} */
let views = {};
/** Wiring every view gets before its own (the account page's password hints). */
let prepare = (_root) => {};
/** Called when a signed-in request answers 401 (signed out elsewhere, account deleted). */
let sessionEnded = () => {};
/** What to do when the network comes back (retry what failed offline). */
let onReconnect = null;
/** Focus moves to a new view's heading, except for the first view of the page. */
let firstView = true;

/** @type {string} the view shown */
export let current = "";

/**
 * Start the page: its views (name → wiring of the clone) and what a 401 means.
 * @param {{views: typeof views, sessionEnded: () => void, prepare?: typeof prepare}} options
 */
export function setUp(options) {
  views = options.views;
  sessionEnded = options.sessionEnded;
  prepare = options.prepare ?? prepare;
  setOffline(navigator.onLine === false);
  window.addEventListener("offline", () => setOffline(true));
  window.addEventListener("online", () => {
    setOffline(false);
    const retry = onReconnect;
    onReconnect = null;
    retry?.();
  });
}

/** Run `task` once the network is back (replaced by the next view or call). */
export function whenOnline(task) {
  onReconnect = task;
}

// ---------------------------------------------------------------- messages

function tooManyAttempts(seconds) {
  if (seconds === null || seconds === undefined) return "Too many attempts — try again later.";
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return `Too many attempts — try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

/** The sentence to show for a failed request. */
export function describe(error) {
  if (error instanceof Problem) return error.message;
  if (!(error instanceof ApiError)) return GENERIC_MESSAGE;
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

/** Run an API call, keeping the offline banner in step: an answer from the server means the
 * network is back unless the browser has gone offline since it was sent, a request that could
 * not be sent means it is not. */
export async function call(promise) {
  try {
    const value = await promise;
    setOffline(navigator.onLine === false);
    return value;
  } catch (error) {
    setOffline(error instanceof ApiError && error.code === "offline");
    throw error;
  }
}

export function region(root, kind, name = "") {
  return /** @type {HTMLElement | null} */ (root.querySelector(`[data-${kind}="${name}"]`));
}

export function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

/**
 * Show a message in a live region that was just emptied, one frame later, so that the same
 * message twice in a row is announced twice.
 */
export function announce(element, text) {
  setText(element, "");
  requestAnimationFrame(() => setText(element, text));
}

// ---------------------------------------------------------------- views

/**
 * Show the view `name` (a clone of template #view-<name>) and wire its controls.
 * @param {string} name
 * @param {{notice?: string} & Record<string, any>} [options] a notice to show, and the view's own
 */
export function render(name, options = {}) {
  const template = /** @type {HTMLTemplateElement} */ (document.getElementById(`view-${name}`));
  const root = /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
  viewRoot.replaceChildren(root);
  current = name;
  onReconnect = null;
  setText(notice, options.notice ?? "");
  prepare(root);
  root.querySelectorAll("[data-go]").forEach((button) => {
    button.addEventListener("click", () => render(button.getAttribute("data-go")));
  });
  views[name]?.(root, options);
  if (name !== "loading") {
    if (!firstView) root.querySelector("h2")?.focus();
    firstView = false;
  }
  return root;
}

/** The view saying what failed (offline, say), with a Try again button running `retry`. */
export function showUnavailable(message, retry) {
  const root = render("unavailable");
  setText(region(root, "alert"), message);
  const button = /** @type {HTMLButtonElement} */ (root.querySelector('[data-action="retry"]'));
  button.addEventListener("click", () => {
    button.disabled = true;
    retry();
  });
  onReconnect = retry;
}

// ---------------------------------------------------------------- forms and buttons

/** A failure whose message is written for people (a declined card, say): shown as it is. */
export class Problem extends Error {}

/** A problem found before sending: shown in the form's alert, its field marked and focused. */
export class FieldError extends Problem {
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

export function requireValue(value, field, message) {
  if (!value) throw new FieldError(field, message);
  return value;
}

/**
 * Handle a form's submit: buttons disabled while `task` runs, errors shown in its alert.
 * `task` returns nothing, or throws; a 401 from a signed-in form means the session ended.
 * @param {HTMLFormElement} form
 * @param {(fields: Record<string, string>) => Promise<void> | void} task
 * @param {{signedIn?: boolean}} [options]
 */
export function onSubmit(form, task, { signedIn = false } = {}) {
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
      if (signedIn && error instanceof ApiError && error.status === 401) {
        sessionEnded();
        return;
      }
      if (error instanceof FieldError) {
        invalid(form, error.field);
      } else {
        for (const problem of error instanceof ApiError ? error.errors : []) {
          if (problem.key) invalid(form, problem.key, false);
        }
      }
      announce(alert, describe(error));
    } finally {
      buttons.forEach((button) => (button.disabled = false));
      form.removeAttribute("aria-busy");
      if (hadFocus && form.isConnected && document.activeElement === document.body) hadFocus.focus();
    }
  });
}

/**
 * A button of a signed-in view: disabled while `task` runs; errors go to the alert region
 * named `regionName`, and a 401 means the session ended.
 * @param {HTMLElement} root
 * @param {string} action the button's data-action
 * @param {string} regionName
 * @param {(status: HTMLElement | null) => Promise<void>} task
 */
export function onAction(root, action, regionName, task) {
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
      if (error instanceof ApiError && error.status === 401) {
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
