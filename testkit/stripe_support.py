"""localstripe for tests: start it, register webhooks, make cards, sign events ourselves."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import stripe

from backend.settings import Settings
from scripts.run_with_stripe import wait_until_up
from testkit.support import free_port

SECRET_KEY = "sk_test_calcapp"
PUBLISHABLE_KEY = "pk_test_calcapp"
WEBHOOK_SECRET = "whsec_calcapp_tests"
AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"  # refused when saved
FAILING_CHARGE_CARD = "4000000000000341"  # saved, but the charge fails
THREE_D_SECURE_CARD = "4000002500003155"


class Emulator:
    """localstripe on a loopback port, its data in `store`: can be stopped and started again
    (same port, same data), as when Stripe is unreachable for a while."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.stripe_emulator", str(self.port), str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(self.base, self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def stripe_emulator() -> Iterator[Emulator]:
    """A running emulator with its data in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        emulator = Emulator(Path(folder) / "store")
        emulator.start()
        try:
            yield emulator
        finally:
            emulator.stop()


def stripe_env(base: str) -> dict[str, str]:
    """What a `calcapp` process needs to bill through the emulator."""
    return {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": base,
    }


def with_stripe(settings: Settings, base: str) -> Settings:
    """`settings` billing through the emulator at `base` (for an in-process app)."""
    return dataclasses.replace(
        settings,
        stripe_secret_key=SECRET_KEY,
        stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=base,
    )


def register_webhook(base: str, name: str, url: str) -> None:
    response = httpx.post(
        f"{base}/_config/webhooks/{name}", data={"url": url, "secret": WEBHOOK_SECRET}, headers=AUTH
    )
    response.raise_for_status()


async def api(
    base: str, method: str, path: str, data: dict[str, str] | None = None
) -> dict[str, Any]:
    """One call to the emulator's Stripe API, form-encoded like Stripe's (as Stripe.js, or as
    Stripe itself, would act); nested fields are written `card[number]`."""
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as http:
        response = await http.request(method, path, data=data)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def payment_method(base: str, number: str) -> str:
    """What Stripe.js does in the page: turn card details into a PaymentMethod."""
    card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    fields = {"type": "card", **{f"card[{name}]": value for name, value in card.items()}}
    return str((await api(base, "POST", "/v1/payment_methods", fields))["id"])


async def authenticate(base: str, client_secret: str, *, success: bool) -> None:
    """What the customer does in the 3-D Secure window (the emulator's own endpoint)."""
    intent_id = client_secret.split("_secret_")[0]
    fields = {"client_secret": client_secret, "success": "true" if success else "false"}
    await api(base, "POST", f"/v1/payment_intents/{intent_id}/_authenticate", fields)


def signed_event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None
) -> tuple[bytes, str]:
    """A webhook delivery as Stripe would sign it: (body, Stripe-Signature header)."""
    body = json.dumps(
        {
            "id": event_id or f"evt_test_{time.time_ns()}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    ).encode()
    return body, stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)


def patch_subscription(base: str, subscription_id: str, **changes: Any) -> None:
    """Change what the emulator cannot change by itself (see scripts/stripe_emulator.py)."""
    response = httpx.post(
        f"{base}/_test/subscriptions/{subscription_id}", json=changes, headers=AUTH
    )
    response.raise_for_status()
