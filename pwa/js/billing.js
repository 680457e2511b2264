// The billing page: upgrade to Premium with a card (Stripe.js, 3-D Secure included), then the
// subscription's status, cancel and resume, and the payment history with receipts.

import * as api from "./api.js";
import {
  OFFLINE_MESSAGE,
  Problem,
  call,
  describe,
  onAction,
  onSubmit,
  region,
  render,
  setText,
  setUp,
  showUnavailable,
} from "./page.js";
import { startShell } from "./shell.js";

const STATUS_NAMES = {
  active: "Active",
  trialing: "Trial",
  past_due: "Payment overdue",
  canceled: "Canceled",
  incomplete: "Payment not completed",
};
const PAYMENT_STATUS_NAMES = {
  succeeded: "Paid",
  failed: "Failed",
  pending: "Pending",
  canceled: "Canceled",
  requires_action: "Needs authentication",
};
const STRIPE_UNAVAILABLE = "The payment form could not be loaded. Check your connection and try again.";
const WELCOME = "Welcome to Premium! Your history now syncs on all your devices.";

/** @type {api.Billing | null} */
let billing = null;
/** @type {Promise<any> | null} Stripe.js, loaded once */
let stripeLoading = null;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "long" });
const formatDate = (iso) => dateFormat.format(new Date(iso));

function money(amount, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(
    Number(amount),
  );
}

function priceText(plan) {
  return `${money(plan.amount, plan.currency)} a ${plan.interval}`;
}

// ---------------------------------------------------------------- Stripe.js

/** Load Stripe.js from the address the server gives (Stripe, or its emulator in development). */
function loadStripe(url, key) {
  stripeLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.addEventListener("load", () => resolve(window.Stripe(key)));
    script.addEventListener("error", () => {
      script.remove();
      stripeLoading = null; // try again next time
      reject(new Problem(STRIPE_UNAVAILABLE));
    });
    document.head.append(script);
  });
  return stripeLoading;
}

const paymentMethodId = (method) => (typeof method === "string" ? method : method?.id);

/**
 * The whole purchase: save the card (SetupIntent), subscribe with it, and authenticate the
 * first payment when the bank asks (3-D Secure). Resolves to the billing state afterwards.
 */
async function purchase(stripe, card) {
  const { client_secret: setupSecret } = await call(api.setupIntent());
  const setup = await stripe.confirmCardSetup(setupSecret, { payment_method: { card } });
  if (setup.error) throw new Problem(setup.error.message || "Your card could not be saved.");
  const outcome = await call(api.subscribe(paymentMethodId(setup.setupIntent.payment_method)));
  if (!outcome.requires_action) return outcome.billing;
  const confirmed = await stripe.confirmCardPayment(outcome.client_secret);
  const after = await call(api.refreshBilling());
  if (confirmed.error && !after.subscription?.premium) {
    throw new Problem(
      "Your bank did not confirm the payment, so you were not charged. Try again or use another card.",
    );
  }
  return after;
}

// ---------------------------------------------------------------- views

async function showHome(options = {}) {
  if (navigator.onLine === false) {
    showUnavailable(OFFLINE_MESSAGE, showHome);
    return;
  }
  render("loading");
  try {
    // Signed out is an answer, not a failed request (the console stays clean).
    billing = (await call(api.signedInAccount())) ? await call(api.billing()) : null;
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) {
      signedOut();
    } else {
      showUnavailable(describe(error), showHome);
    }
    return;
  }
  if (!billing) {
    signedOut();
    return;
  }
  const subscription = billing.subscription;
  if (subscription && subscription.status !== "incomplete" && !wantsUpgrade(subscription)) {
    render("manage", options);
  } else if (!billing.configured) {
    render("not-configured", options);
  } else {
    render("upgrade", options);
  }
}

/** A canceled subscriber who followed "Subscribe again" (#upgrade) sees the payment form. */
function wantsUpgrade(subscription) {
  return window.location.hash === "#upgrade" && !subscription.premium && !subscription.complimentary;
}

function signedOut() {
  billing = null;
  const root = render("signin");
  // The plan is the same for everyone; the signed-out page names the default price.
  setText(region(root, "field", "price"), "$5.00 a month");
}

function wireUpgrade(root) {
  const plan = /** @type {api.Billing} */ (billing).plan;
  const price = priceText(plan);
  setText(region(root, "field", "price"), price[0].toUpperCase() + price.slice(1));
  const form = /** @type {HTMLFormElement} */ (root.querySelector('[data-form="pay"]'));
  const payButton = /** @type {HTMLButtonElement} */ (region(form, "field", "pay"));
  setText(payButton, `Pay ${money(plan.amount, plan.currency)} a ${plan.interval}`);
  const alert = region(form, "alert");
  const status = region(form, "status");
  if (billing?.subscription?.status === "incomplete") {
    setText(alert, "Your last payment did not go through. Try again or use another card.");
  }

  let card = null;
  const stripeReady = loadStripe(
    /** @type {string} */ (billing?.stripe_js),
    /** @type {string} */ (billing?.publishable_key),
  ).then((stripe) => {
    if (!form.isConnected) return stripe;
    card = stripe.elements().create("card");
    card.mount(region(form, "card"));
    card.on("change", (event) => setText(alert, event?.error?.message ?? ""));
    return stripe;
  });
  stripeReady.catch((error) => setText(alert, describe(error)));

  onSubmit(
    form,
    async () => {
      const stripe = await stripeReady;
      setText(status, "Processing your payment…");
      try {
        billing = await purchase(stripe, card);
      } finally {
        setText(status, "");
      }
      if (!billing.subscription?.premium) {
        throw new Problem("The payment did not go through. Try again or use another card.");
      }
      history.replaceState(history.state, "", window.location.pathname);
      render("manage", { notice: WELCOME });
    },
    { signedIn: true },
  );
}

function fillManage(root) {
  const subscription = /** @type {api.Subscription} */ (billing?.subscription);
  const field = (name) => /** @type {HTMLElement} */ (region(root, "field", name));
  const ending = subscription.cancel_at_period_end || subscription.status === "canceled";
  setText(field("plan"), `Calcapp Premium, ${money(subscription.price_per_month, billing?.plan.currency ?? "usd")} a month`);
  setText(field("status"), STATUS_NAMES[subscription.status] ?? subscription.status);
  field("status").classList.toggle("badge-ok", subscription.premium);
  const end = formatDate(subscription.current_period_end);
  let periodLabel = "Next charge";
  let summary = "Your history syncs on all your devices.";
  if (subscription.complimentary) {
    periodLabel = "Premium until";
    summary = "Premium was given to you by the Calcapp team: there is nothing to pay.";
  } else if (subscription.status === "canceled") {
    periodLabel = subscription.premium ? "Premium until" : "Ended on";
    summary = subscription.premium
      ? "Your subscription is canceled: Premium stays on until then."
      : "Premium has ended. Your history stays on this device.";
  } else if (subscription.cancel_at_period_end) {
    periodLabel = "Premium until";
    summary = "Your subscription ends then and you won't be charged again.";
  } else if (subscription.status === "past_due") {
    periodLabel = "Payment was due";
    summary = "We could not charge your card. Premium stays on for a few days while we retry.";
  }
  setText(field("period-label"), periodLabel);
  setText(field("period-end"), end);
  setText(field("summary"), summary);
  const button = (action) => /** @type {HTMLElement} */ (root.querySelector(`[data-action="${action}"]`));
  const payable = !subscription.complimentary;
  button("resume").hidden = !(payable && subscription.cancel_at_period_end && subscription.status !== "canceled");
  button("cancel-later").hidden = !(payable && !ending);
  button("cancel-now").hidden = !(payable && subscription.status !== "canceled");
  field("again").hidden = !(payable && subscription.status === "canceled" && billing?.configured);
  field("confirm-now").hidden = true;
}

async function fillPayments(root) {
  const table = /** @type {HTMLTableElement} */ (region(root, "field", "payments"));
  const empty = /** @type {HTMLElement} */ (region(root, "field", "no-payments"));
  let items;
  try {
    ({ items } = await call(api.payments()));
  } catch (error) {
    setText(empty, `The payment history could not be loaded: ${describe(error)}`);
    return;
  }
  const rows = items.map((payment) => {
    const row = document.createElement("tr");
    const cells = [
      formatDate(payment.created_at),
      money(payment.amount, payment.currency),
      PAYMENT_STATUS_NAMES[payment.status] ?? payment.status,
    ].map((text) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      return cell;
    });
    const receipt = document.createElement("td");
    if (payment.receipt_url) {
      const link = document.createElement("a");
      link.href = payment.receipt_url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = "Receipt";
      receipt.append(link);
    } else {
      receipt.textContent = "—";
    }
    row.append(...cells, receipt);
    return row;
  });
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
  empty.hidden = rows.length > 0;
}

function wireManage(root) {
  fillManage(root);
  fillPayments(root);
  const confirmRow = /** @type {HTMLElement} */ (region(root, "field", "confirm-now"));
  const change = (task, message) => async (status) => {
    billing = await call(task());
    fillManage(root);
    setText(status, message);
  };
  onAction(
    root,
    "cancel-later",
    "manage",
    change(() => api.cancelSubscription(true), "Canceled: Premium stays on until the end of the period."),
  );
  onAction(root, "resume", "manage", change(api.resumeSubscription, "Your subscription continues."));
  onAction(root, "cancel-now", "manage", async () => {
    confirmRow.hidden = false;
    /** @type {HTMLElement} */ (root.querySelector('[data-action="confirm-now"]')).focus();
  });
  onAction(root, "keep", "manage", async () => {
    confirmRow.hidden = true;
    /** @type {HTMLElement} */ (root.querySelector('[data-action="cancel-now"]')).focus();
  });
  onAction(root, "confirm-now", "manage", change(() => api.cancelSubscription(false), "Premium has ended."));
  region(root, "field", "again")?.addEventListener("click", (event) => {
    event.preventDefault();
    history.replaceState(history.state, "", "#upgrade");
    render("upgrade");
  });
}

// ---------------------------------------------------------------- start

setUp({
  views: { upgrade: wireUpgrade, manage: wireManage },
  sessionEnded: () => signedOut(),
});
startShell({ beforeReload: () => {} });
showHome().finally(() => {
  document.documentElement.dataset.ready = "true";
});
