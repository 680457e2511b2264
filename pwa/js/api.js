// The Calcapp API client (docs/api.md): JSON in and out, the session cookie, the CSRF header,
// and one error type for every failure, including being offline. Imports nothing.

const BASE = "/api/v1";
/** In production the server names it `__Host-csrftoken` (only this origin can set it). */
const CSRF_COOKIES = ["__Host-csrftoken", "csrftoken"];
const CSRF_HEADER = "x-csrftoken";
const UNSAFE = new Set(["POST", "PATCH", "PUT", "DELETE"]);

/** A failed API call: the server's `{detail, code}` answer, or code `offline`. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server was not reached)
   * @param {string} code stable code such as `invalid_credentials`, `rate_limited`, `offline`
   * @param {string} detail a sentence for people
   * @param {{retryAfter?: number | null, errors?: {key?: string, message: string}[]}} [extra]
   *   `retryAfter`: seconds to wait (429); `errors`: the fields of a validation failure (422)
   */
  constructor(status, code, detail, { retryAfter = null, errors = [] } = {}) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.errors = errors;
  }
}

const OFFLINE_DETAIL = "You're offline: this needs the network.";

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null. */
function parseRetryAfter(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON (a proxy's page): fall back to the status below */
  }
  const detail =
    typeof body?.detail === "string" && body.detail
      ? body.detail
      : `The server answered ${response.status}. Please try again.`;
  const code = typeof body?.code === "string" ? body.code : "unexpected_response";
  return new ApiError(response.status, code, detail, {
    retryAfter: parseRetryAfter(response.headers.get("retry-after")),
    errors: Array.isArray(body?.errors) ? body.errors : [],
  });
}

/** fetch that reports "not reached" as an ApiError with code `offline`. */
async function send(path, init) {
  // When the browser knows it is offline, do not even try (and log nothing).
  if (navigator.onLine === false) throw new ApiError(0, "offline", OFFLINE_DETAIL);
  try {
    return await fetch(BASE + path, { credentials: "same-origin", cache: "no-store", ...init });
  } catch {
    throw new ApiError(0, "offline", OFFLINE_DETAIL);
  }
}

/**
 * Ask the server for a CSRF cookie; resolves to its value (null if it still is not there).
 * The server sets one only when there is none, so a refused (stale) one is dropped first.
 */
const csrfToken = () => CSRF_COOKIES.map(readCookie).find((value) => value) ?? null;

async function refreshCsrf({ stale = false } = {}) {
  if (stale) {
    document.cookie = "csrftoken=; Max-Age=0; Path=/; SameSite=Lax";
    if (location.protocol === "https:") document.cookie = "__Host-csrftoken=; Max-Age=0; Path=/; Secure; SameSite=Lax";
  }
  const response = await send("/auth/csrf", { method: "GET" });
  if (!response.ok) throw await errorFrom(response);
  return csrfToken();
}

/**
 * One API request. Resolves to the successful Response; rejects with ApiError.
 * @param {string} method
 * @param {string} path under /api/v1, e.g. "/auth/login"
 * @param {unknown} [body] sent as JSON when given
 * @returns {Promise<Response>}
 */
export async function request(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  if (!UNSAFE.has(method)) {
    const response = await send(path, init);
    if (!response.ok) throw await errorFrom(response);
    return response;
  }
  let token = csrfToken() ?? (await refreshCsrf());
  for (let attempt = 0; ; attempt += 1) {
    if (token) headers[CSRF_HEADER] = token;
    const response = await send(path, init);
    if (response.ok) return response;
    const error = await errorFrom(response);
    if (error.status !== 403 || error.code !== "csrf_failed" || attempt > 0) throw error;
    token = await refreshCsrf({ stale: true });
  }
}

async function json(method, path, body) {
  const response = await request(method, path, body);
  return response.status === 204 ? null : response.json();
}

/**
 * @typedef {{id: string, email: string, display_name: string | null, email_verified: boolean,
 *   pending_email: string | null, created_at: string, premium: boolean,
 *   password_change_required: boolean}} Me
 */

/**
 * Create an account; the answer is the same whether or not the email is registered.
 * @param {{email: string, password: string, display_name?: string}} account
 * @returns {Promise<{detail: string}>}
 */
export function signup(account) {
  return json("POST", "/auth/signup", account);
}

/**
 * Sign in (sets the session cookie).
 * @param {string} email
 * @param {string} password
 * @returns {Promise<Me>}
 */
export function login(email, password) {
  return json("POST", "/auth/login", { email, password });
}

/** Sign out: the session ends and its cookie is cleared. @returns {Promise<null>} */
/**
 * Where the calculator page remembers the last premium account of this browser, to open its
 * synced history at once; signing out or deleting the account forgets it.
 */
export const PREMIUM_USER_KEY = "calcapp.premium-user.v1";

function forgetPremiumUser() {
  try {
    localStorage.removeItem(PREMIUM_USER_KEY);
  } catch {
    /* storage disabled: nothing was remembered */
  }
}

export async function logout() {
  const answer = await json("POST", "/auth/logout");
  forgetPremiumUser();
  return answer;
}

/** The signed-in account; rejects with code `not_authenticated` when signed out. @returns {Promise<Me>} */
export function me() {
  return json("GET", "/me");
}

/** Who is signed in: the account, or null (no failing request when nobody is). @returns {Promise<Me | null>} */
export async function signedInAccount() {
  return (await json("GET", "/auth/session")).account;
}

/**
 * Change the display name (null removes it) and/or the email (with the current password; it
 * becomes `pending_email` until confirmed from the link sent to it).
 * @param {{display_name?: string | null, email?: string, current_password?: string}} changes
 * @returns {Promise<Me>}
 */
export function updateMe(changes) {
  return json("PATCH", "/me", changes);
}

/**
 * Change the password (other sessions end); code `wrong_password` if `current` is wrong.
 * @param {string} current
 * @param {string} next
 * @returns {Promise<null>}
 */
export function changePassword(current, next) {
  return json("POST", "/me/password", { current_password: current, new_password: next });
}

/**
 * Confirm an email address with the token from the emailed link.
 * @param {string} token
 * @returns {Promise<{detail: string, email: string}>}
 */
export function verifyEmail(token) {
  return json("POST", "/auth/verify-email", { token });
}

/** Send the verification mail again (signed in). @returns {Promise<{detail: string}>} */
export function resendVerification() {
  return json("POST", "/auth/resend-verification");
}

/**
 * Put the old address back with the token of the link mailed to it (every session ends).
 * @param {string} token
 * @returns {Promise<{detail: string, email: string}>}
 */
export function undoEmailChange(token) {
  return json("POST", "/auth/undo-email-change", { token });
}

/**
 * The account's signed-in devices.
 * @returns {Promise<{items: {id: string, device: string, created_at: string, last_used_at: string,
 *   current: boolean}[]}>}
 */
export function sessions() {
  return json("GET", "/me/sessions");
}

/** Sign out another device. @param {string} id @returns {Promise<null>} */
export function endSession(id) {
  return json("DELETE", `/me/sessions/${encodeURIComponent(id)}`);
}

/** Sign out every other device. @returns {Promise<null>} */
export function endOtherSessions() {
  return json("POST", "/me/sessions/sign-out-others");
}

/**
 * Mail a password-reset link; the answer is the same for unknown emails.
 * @param {string} email
 * @returns {Promise<{detail: string}>}
 */
export function forgotPassword(email) {
  return json("POST", "/auth/forgot-password", { email });
}

/**
 * Set a new password with the token from the emailed link (every session ends).
 * @param {string} token
 * @param {string} password
 * @returns {Promise<null>}
 */
export function resetPassword(token, password) {
  return json("POST", "/auth/reset-password", { token, password });
}

/** The file name from a Content-Disposition header, or null. */
function attachmentName(header) {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      /* fall through to the plain parameter */
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(header);
  return plain ? (plain[2] ?? plain[1]).trim() : null;
}

/**
 * Everything the server keeps about the account, as the JSON file it offers.
 * @returns {Promise<{blob: Blob, text: () => Promise<string>, filename: string}>}
 */
export async function exportData() {
  const response = await request("GET", "/me/export");
  const blob = await response.blob();
  const fallback = `calcapp-account-${new Date().toISOString().slice(0, 10)}.json`;
  const filename = attachmentName(response.headers.get("content-disposition")) ?? fallback;
  return { blob, text: () => blob.text(), filename };
}

/**
 * Delete the account (soft delete; every session ends); code `wrong_password` if wrong.
 * @param {string} password
 * @returns {Promise<null>}
 */
export async function deleteAccount(password) {
  const answer = await json("DELETE", "/me", { password });
  forgetPremiumUser();
  return answer;
}

// ---------------------------------------------------------------- billing (docs/api.md)

/**
 * @typedef {{status: string, premium: boolean, complimentary: boolean, price_per_month: string,
 *   current_period_start: string, current_period_end: string, cancel_at_period_end: boolean,
 *   canceled_at: string | null}} Subscription
 * @typedef {{configured: boolean, publishable_key: string | null, stripe_js: string | null,
 *   plan: {id: string, name: string, amount: string, currency: string, interval: string},
 *   subscription: Subscription | null}} Billing
 */

/** The plan, this account's subscription, and what the payment form needs. @returns {Promise<Billing>} */
export function billing() {
  return json("GET", "/billing");
}

/** A SetupIntent's client secret for Stripe.js `confirmCardSetup`. @returns {Promise<{client_secret: string}>} */
export function setupIntent() {
  return json("POST", "/billing/setup-intent");
}

/**
 * Subscribe with a saved card; `requires_action`: 3-D Secure through `confirmCardPayment`.
 * @param {string} paymentMethod
 * @returns {Promise<{status: string, requires_action: boolean, client_secret: string | null, billing: Billing}>}
 */
export function subscribe(paymentMethod) {
  return json("POST", "/billing/subscribe", { payment_method: paymentMethod });
}

/** The subscription fetched from Stripe again (after 3-D Secure). @returns {Promise<Billing>} */
export function refreshBilling() {
  return json("POST", "/billing/refresh");
}

/** Cancel at the end of the period, or now. @param {boolean} atPeriodEnd @returns {Promise<Billing>} */
export function cancelSubscription(atPeriodEnd) {
  return json("POST", "/billing/cancel", { at_period_end: atPeriodEnd });
}

/** Undo a cancel at the end of the period. @returns {Promise<Billing>} */
export function resumeSubscription() {
  return json("POST", "/billing/resume");
}

/**
 * The last payments, newest first.
 * @returns {Promise<{items: {amount: string, currency: string, status: string, created_at: string,
 *   receipt_url: string | null}[]}>}
 */
export function payments() {
  return json("GET", "/billing/payments");
}
