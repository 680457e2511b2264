"""`make run STRIPE=local`: the app with billing through localstripe, no Stripe account needed.

    python -m scripts.run_with_stripe COMMAND...

Starts the emulator on 127.0.0.1:STRIPE_PORT (default 8420) with its data in
.data/localstripe.pickle (kept, like the embedded database, so customers and subscriptions
survive a restart), registers the app's webhook (http://HOST:PORT/api/v1/billing/webhook),
then runs COMMAND with the STRIPE_* settings; stops the emulator when COMMAND ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

SECRET_KEY = "sk_test_local"
PUBLISHABLE_KEY = "pk_test_local"
WEBHOOK_SECRET = "whsec_local"
STORE = Path(".data") / "localstripe.pickle"


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/v1/plans", headers={"Authorization": f"Bearer {SECRET_KEY}"})
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"localstripe did not start on {base}") from None
            time.sleep(0.1)


def main() -> int:
    command = sys.argv[1:]
    port = os.environ.get("STRIPE_PORT", "8420")
    base = f"http://127.0.0.1:{port}"
    app = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
    STORE.parent.mkdir(exist_ok=True)
    emulator = subprocess.Popen(
        [sys.executable, "-m", "scripts.stripe_emulator", port, str(STORE)],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base, emulator)
        httpx.post(
            f"{base}/_config/webhooks/calcapp",
            data={"url": f"{app}/api/v1/billing/webhook", "secret": WEBHOOK_SECRET},
        ).raise_for_status()
        print(f"localstripe on {base}: pay with 4242 4242 4242 4242, any future date and CVC")
        env = {
            **os.environ,
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": base,
        }
        app_process = subprocess.Popen(command, env=env)
        try:
            return app_process.wait()
        except KeyboardInterrupt:  # Ctrl+C reached the app too: let it shut down cleanly
            return app_process.wait()
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
