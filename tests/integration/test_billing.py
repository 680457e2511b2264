"""The $5/month subscription against localstripe (the Stripe emulator), over HTTP.

Stripe's own servers are the one thing stubbed in this project: localstripe stands in for
them, started by the test session on a loopback port, and the app talks to it with the
official SDK. Events the emulator cannot produce are signed by the tests themselves.

Over 400 lines: one test per subscription state change and webhook event (twenty), each driven
through the emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.server import connect
from backend.settings import Settings
from testkit.api import PASSWORD, Api
from testkit.stripe_support import (
    DECLINED_CARD,
    FAILING_CHARGE_CARD,
    GOOD_CARD,
    PUBLISHABLE_KEY,
    THREE_D_SECURE_CARD,
    authenticate,
    patch_subscription,
    payment_method,
    signed_event,
    stripe_env,
    with_stripe,
)
from testkit.stripe_support import (
    api as api_call,
)
from testkit.support import calcapp_env, eventually_async, free_port, in_thread, run_calcapp

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]


@pytest.fixture
def customer(server: str) -> Callable[[], Any]:
    """A factory of new signed-in accounts on the billing-enabled server."""

    @asynccontextmanager
    async def make() -> AsyncIterator[Api]:
        email = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
        async with httpx.AsyncClient(base_url=server, timeout=30) as http:
            api = Api(http)
            assert (await api.signup(email)).status_code == 202
            assert (await api.login(email)).status_code == 200
            yield api

    return make


async def subscribe(api: Api, stripe_base: str, card: str) -> httpx.Response:
    assert (await api.post("/billing/setup-intent")).status_code == 200
    method = await payment_method(stripe_base, card)
    return await api.post("/billing/subscribe", {"payment_method": method})


async def billing(api: Api) -> dict[str, Any]:
    response = await api.get("/billing")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def until(check: Callable[[], Any], seconds: float = 15) -> None:
    """Poll `check` (an async predicate) until true: webhook events arrive about 1 s later."""
    await eventually_async(check, seconds=seconds, what="the expected state")


async def subscribed(api: Api, stripe_base: str, database_url: str) -> str:
    """Subscribe with a good card: the Stripe id of the subscription."""
    response = await subscribe(api, stripe_base, GOOD_CARD)
    assert response.status_code == 200, response.text
    return await stripe_subscription_id(database_url, api)


async def stripe_subscription_id(database_url: str, api: Api) -> str:
    user_id = (await api.get("/me")).json()["id"]
    conn = await connect(database_url)
    try:
        found: str = await conn.fetchval(
            "SELECT stripe_subscription_id FROM subscriptions WHERE user_id = $1",
            uuid.UUID(user_id),
        )
        return found
    finally:
        await conn.close()


async def post_event(
    api: Api, event_type: str, obj: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    body, signature = signed_event(event_type, obj, **kwargs)
    return await api.client.post(
        "/api/v1/billing/webhook",
        content=body,
        headers={"stripe-signature": signature, "content-type": "application/json"},
    )


# ---------------------------------------------------------------- buying


async def test_the_page_learns_what_it_needs(customer: Any) -> None:
    async with customer() as api:
        state = await billing(api)
        assert state["configured"] is True
        assert state["publishable_key"] == PUBLISHABLE_KEY
        assert state["stripe_js"].endswith("/js.stripe.com/v3/")
        assert state["plan"] == {
            "id": "premium-monthly",
            "name": "Calcapp Premium",
            "amount": "5.00",
            "currency": "usd",
            "interval": "month",
        }
        assert state["subscription"] is None


async def test_a_good_card_buys_premium_and_a_payment(customer: Any, stripe_api_base: str) -> None:
    async with customer() as api:
        outcome = await subscribe(api, stripe_api_base, GOOD_CARD)
        assert outcome.status_code == 200, outcome.text
        body = outcome.json()
        assert (body["status"], body["requires_action"]) == ("active", False)
        subscription = body["billing"]["subscription"]
        assert (subscription["premium"], subscription["price_per_month"]) == (True, "5.00")
        assert (await api.get("/me")).json()["premium"] is True
        payments = (await api.get("/billing/payments")).json()["items"]
        assert [(p["amount"], p["currency"], p["status"]) for p in payments] == [
            ("5.00", "usd", "succeeded")
        ]
        for path, body in [
            ("/billing/setup-intent", None),
            (
                "/billing/subscribe",
                {"payment_method": await payment_method(stripe_api_base, GOOD_CARD)},
            ),
        ]:
            again = await api.post(path, body)
            assert (again.status_code, again.json()["code"]) == (409, "already_subscribed")


async def test_a_declined_card_changes_nothing_and_a_retry_works(
    customer: Any, stripe_api_base: str
) -> None:
    async with customer() as api:
        declined = await subscribe(api, stripe_api_base, DECLINED_CARD)
        assert (declined.status_code, declined.json()["code"]) == (402, "card_declined")
        assert "declined" in declined.json()["detail"]
        assert (await billing(api))["subscription"] is None
        retry = await subscribe(api, stripe_api_base, GOOD_CARD)
        assert retry.json()["status"] == "active"


async def test_a_failed_charge_leaves_the_subscription_incomplete(
    customer: Any, stripe_api_base: str
) -> None:
    async with customer() as api:
        outcome = (await subscribe(api, stripe_api_base, FAILING_CHARGE_CARD)).json()
        assert outcome["status"] == "incomplete"
        assert outcome["billing"]["subscription"]["premium"] is False
        assert (await api.get("/me")).json()["premium"] is False


# A failed authentication: localstripe ends the subscription at once (Stripe keeps it
# `incomplete` until it expires a day later); either way it gives no premium.
@pytest.mark.parametrize(
    ("success", "status", "premium"), [(True, "active", True), (False, "canceled", False)]
)
async def test_three_d_secure(
    customer: Any, stripe_api_base: str, success: bool, status: str, premium: bool
) -> None:
    async with customer() as api:
        outcome = (await subscribe(api, stripe_api_base, THREE_D_SECURE_CARD)).json()
        assert outcome["requires_action"] is True
        assert outcome["client_secret"].startswith("pi_")
        assert outcome["billing"]["subscription"]["premium"] is False
        await authenticate(stripe_api_base, outcome["client_secret"], success=success)
        refreshed = (await api.post("/billing/refresh")).json()
        assert (refreshed["subscription"]["status"], refreshed["subscription"]["premium"]) == (
            status,
            premium,
        )


# ---------------------------------------------------------------- cancelling


async def test_cancel_at_period_end_then_resume(customer: Any, stripe_api_base: str) -> None:
    async with customer() as api:
        await subscribe(api, stripe_api_base, GOOD_CARD)
        canceled = (await api.post("/billing/cancel", {"at_period_end": True})).json()[
            "subscription"
        ]
        assert (canceled["status"], canceled["cancel_at_period_end"], canceled["premium"]) == (
            "active",
            True,
            True,
        )
        resumed = (await api.post("/billing/resume")).json()["subscription"]
        assert resumed["cancel_at_period_end"] is False


async def test_cancel_now_ends_premium_at_once(customer: Any, stripe_api_base: str) -> None:
    async with customer() as api:
        await subscribe(api, stripe_api_base, GOOD_CARD)
        ended = (await api.post("/billing/cancel", {"at_period_end": False})).json()["subscription"]
        assert (ended["status"], ended["premium"]) == ("canceled", False)
        assert (await api.get("/me")).json()["premium"] is False
        push = await api.post("/sync/push", {"device_id": str(uuid.uuid4()), "ops": []})
        assert push.status_code == 403


async def test_cancel_without_a_subscription_is_404(customer: Any) -> None:
    async with customer() as api:
        response = await api.post("/billing/cancel", {"at_period_end": True})
        assert (response.status_code, response.json()["code"]) == (404, "no_subscription")


# ---------------------------------------------------------------- webhooks


async def test_the_emulators_events_reach_the_app(
    customer: Any, stripe_api_base: str, database_url: str
) -> None:
    async with customer() as api:
        sub_id = await subscribed(api, stripe_api_base, database_url)
        # Canceled behind the app's back: only the webhook tells it.
        await api_call(stripe_api_base, "DELETE", f"/v1/subscriptions/{sub_id}")

        async def canceled() -> bool:
            state = await billing(api)
            return bool(state["subscription"]["status"] == "canceled")

        await until(canceled)


async def test_a_forged_event_is_refused_and_changes_nothing(
    customer: Any, database_url: str
) -> None:
    async with customer() as api:
        body, _ = signed_event(
            "customer.subscription.deleted", {"id": "sub_forged"}, event_id="evt_forged"
        )
        response = await api.client.post(
            "/api/v1/billing/webhook",
            content=body,
            headers={"stripe-signature": "t=1,v1=00ff", "content-type": "application/json"},
        )
        assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")
        conn = await connect(database_url)
        try:
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM stripe_events WHERE event_id = 'evt_forged'"
                )
                == 0
            )
        finally:
            await conn.close()


async def test_the_same_event_twice_is_processed_once(
    customer: Any, stripe_api_base: str, database_url: str
) -> None:
    async with customer() as api:
        sub_id = await subscribed(api, stripe_api_base, database_url)
        event_id = f"evt_twice_{uuid.uuid4().hex}"
        first = await post_event(
            api, "customer.subscription.updated", {"id": sub_id}, event_id=event_id
        )
        second = await post_event(
            api, "customer.subscription.updated", {"id": sub_id}, event_id=event_id
        )
        assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)


async def test_events_out_of_order_cannot_resurrect_a_subscription(
    customer: Any, stripe_api_base: str, database_url: str
) -> None:
    async with customer() as api:
        sub_id = await subscribed(api, stripe_api_base, database_url)
        await api.post("/billing/cancel", {"at_period_end": False})
        # The "created" event arrives last; the app fetches the subscription and stays canceled.
        late = await post_event(
            api, "customer.subscription.created", {"id": sub_id, "status": "active"}
        )
        assert late.status_code == 200
        assert (await billing(api))["subscription"]["status"] == "canceled"


async def cancel_on_stripe(stripe_api_base: str, sub_id: str, *, cancel: bool = True) -> None:
    """Set cancel_at_period_end on Stripe's side (as from Stripe's dashboard)."""
    value = "true" if cancel else "false"
    await api_call(
        stripe_api_base, "POST", f"/v1/subscriptions/{sub_id}", {"cancel_at_period_end": value}
    )


async def test_invoice_paid_and_subscription_updated_from_real_stripe(
    customer: Any, stripe_api_base: str, database_url: str
) -> None:
    """Two events localstripe never sends; signed here as Stripe would send them."""
    async with customer() as api:
        sub_id = await subscribed(api, stripe_api_base, database_url)
        await cancel_on_stripe(stripe_api_base, sub_id)
        await post_event(api, "customer.subscription.updated", {"id": sub_id})
        assert (await billing(api))["subscription"]["cancel_at_period_end"] is True

        invoice_id = (await api_call(stripe_api_base, "GET", f"/v1/subscriptions/{sub_id}"))[
            "latest_invoice"
        ]
        await post_event(api, "invoice.paid", {"id": invoice_id, "subscription": sub_id})
        payments = (await api.get("/billing/payments")).json()["items"]
        assert [p["status"] for p in payments] == ["succeeded"]  # the same payment, once


async def test_a_renewal_and_a_failed_renewal(
    customer: Any, stripe_api_base: str, database_url: str
) -> None:
    async with customer() as api:
        sub_id = await subscribed(api, stripe_api_base, database_url)
        before = (await billing(api))["subscription"]

        # A month later Stripe renews: a new period (the emulator's clock moved by the test).
        stripe_view = await api_call(stripe_api_base, "GET", f"/v1/subscriptions/{sub_id}")
        start = stripe_view["current_period_end"]
        patch_subscription(stripe_api_base, sub_id, start_date=start)
        await post_event(api, "customer.subscription.updated", {"id": sub_id})
        renewed = (await billing(api))["subscription"]
        assert renewed["current_period_start"] > before["current_period_start"]
        assert renewed["premium"] is True

        # The next renewal fails: past_due, still premium during the grace period.
        patch_subscription(stripe_api_base, sub_id, status="past_due")
        await post_event(api, "customer.subscription.updated", {"id": sub_id})
        overdue = (await billing(api))["subscription"]
        assert (overdue["status"], overdue["premium"]) == ("past_due", True)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"payment_method": "card_123"},
        {"payment_method": "pm_" + "x" * 300},
        {"payment_method": 4},
    ],
)
async def test_bad_subscribe_bodies_are_422(customer: Any, body: dict[str, Any]) -> None:
    async with customer() as api:
        response = await api.post("/billing/subscribe", body)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
        assert (await billing(api))["subscription"] is None


async def test_an_unknown_payment_method_is_a_clear_400(customer: Any) -> None:
    async with customer() as api:
        response = await api.post("/billing/subscribe", {"payment_method": "pm_doesnotexist"})
        assert (response.status_code, response.json()["code"]) == (400, "billing_invalid_request")
        assert (await billing(api))["subscription"] is None


# ---------------------------------------------------------------- operations and faults


async def test_reconcile_catches_up_with_changes_made_on_stripe(
    customer: Any, stripe_api_base: str, database_url: str, mail_env: dict[str, str]
) -> None:
    async with customer() as api:
        sub_id = await subscribed(api, stripe_api_base, database_url)
        # Changed on Stripe's side, and no event about it ever arrives:
        await cancel_on_stripe(stripe_api_base, sub_id)
        assert (await billing(api))["subscription"]["cancel_at_period_end"] is False
        env = calcapp_env(DATABASE_URL=database_url, **mail_env, **stripe_env(stripe_api_base))
        result = in_thread(run_calcapp, "billing", "reconcile", env=env)
        assert result.returncode == 0, result.stderr
        assert "reconciled" in result.stdout
        assert (await billing(api))["subscription"]["cancel_at_period_end"] is True

        # One subscription Stripe does not know: reported (exit 2), the others still done.
        unknown = await _orphan_subscription(database_url)
        try:
            await cancel_on_stripe(stripe_api_base, sub_id, cancel=False)
            result = in_thread(run_calcapp, "billing", "reconcile", env=env)
            assert result.returncode == 2 and unknown in result.stderr, result.stderr
            assert (await billing(api))["subscription"]["cancel_at_period_end"] is False
        finally:
            await _execute(
                database_url,
                "DELETE FROM users WHERE id = (SELECT user_id FROM "
                "subscriptions WHERE stripe_subscription_id = $1)",
                unknown,
            )


async def _execute(database_url: str, statement: str, *args: Any) -> Any:
    conn = await connect(database_url)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


async def _orphan_subscription(database_url: str) -> str:
    """A local subscription row whose Stripe subscription does not exist."""
    stripe_id = f"sub_unknown{uuid.uuid4().hex[:8]}"
    user_id = await _execute(
        database_url,
        "INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id",
        f"orphan-{uuid.uuid4().hex[:8]}@example.com",
    )
    await _execute(
        database_url,
        """INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id,
               status, price_per_month, current_period_start, current_period_end)
           VALUES ($1, $2, $3, 'active', 5.00, now(), now() + interval '1 month')""",
        user_id,
        f"cus_unknown{uuid.uuid4().hex[:8]}",
        stripe_id,
    )
    return stripe_id


async def test_stripe_unreachable_is_a_clear_503_and_leaves_nothing_behind(
    settings: Settings, database_url: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    offline_settings = with_stripe(settings, dead)
    email = f"offline-{uuid.uuid4().hex[:8]}@example.com"
    async with AsyncTestClient(create_app(offline_settings)) as test_client:
        api = Api(test_client)
        await api.signup(email)
        await api.login(email)
        response = await api.post("/billing/setup-intent")
        assert (response.status_code, response.json()["code"]) == (503, "billing_unavailable")
        assert "try again" in response.json()["detail"]
        assert response.headers["retry-after"] == "10"
        assert (await billing(api))["subscription"] is None
    conn = await connect(database_url)
    try:
        customers = await conn.fetchval(
            "SELECT count(*) FROM stripe_customers c"
            " JOIN users u ON u.id = c.user_id WHERE u.email = $1",
            email,
        )
        assert customers == 0
    finally:
        await conn.close()


async def test_deleting_the_account_stops_the_charges(
    customer: Any, stripe_api_base: str, database_url: str
) -> None:
    async with customer() as api:
        sub_id = await subscribed(api, stripe_api_base, database_url)
        wrong = await api.delete("/me", {"password": "Wrong-password-1"})
        assert wrong.status_code == 403
        assert (await api_call(stripe_api_base, "GET", f"/v1/subscriptions/{sub_id}"))[
            "status"
        ] == "active"  # a refused deletion cancels nothing
        assert (await api.delete("/me", {"password": PASSWORD})).status_code == 204
        on_stripe = await api_call(stripe_api_base, "GET", f"/v1/subscriptions/{sub_id}")
        assert on_stripe["status"] == "canceled"


async def test_without_stripe_keys_billing_answers_503_and_the_rest_works(
    api: Api, email: str
) -> None:
    """The in-process app of these tests has no Stripe keys: what needs Stripe answers 503
    `billing_not_configured` (after 401 for nobody), the plan and payments still answer."""
    assert (await api.post("/billing/setup-intent")).status_code == 401
    assert (await api.signup(email)).status_code == 202
    assert (await api.login(email)).status_code == 200
    for path, body in [
        ("/billing/setup-intent", None),
        ("/billing/subscribe", {"payment_method": "pm_card_visa"}),
        ("/billing/refresh", None),
        ("/billing/cancel", {"at_period_end": True}),
        ("/billing/resume", None),
        ("/billing/webhook", {}),
    ]:
        answer = await api.post(path, body)
        assert (answer.status_code, answer.json()["code"]) == (503, "billing_not_configured")
    assert (await api.get("/billing")).status_code == 200
    assert (await api.get("/billing/payments")).json() == {"items": []}
