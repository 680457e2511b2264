"""Run localstripe (a stateful Stripe emulator, GPL) on loopback, for tests and development.

    python -m scripts.stripe_emulator PORT STORE_FILE

localstripe's own command listens on every interface and keeps its data in a fixed file in
/tmp; this launcher binds 127.0.0.1 and keeps the data in STORE_FILE. It adds one test hook,
`POST /_test/subscriptions/{id}` with `{"status": ..., "start_date": ...}`, for what the
emulator cannot do by itself: let a month pass (a renewal) or fail a renewal (`past_due`).
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from aiohttp import web
from localstripe import resources, server

PATCHABLE = {"status", "start_date"}


async def patch_subscription(request: web.Request) -> web.Response:
    changes = await request.json()
    if not isinstance(changes, dict) or not set(changes) <= PATCHABLE:
        return web.json_response({"error": f"only {sorted(PATCHABLE)}"}, status=400)
    subscription = resources.Subscription._api_retrieve(request.match_info["id"])
    for name, value in changes.items():
        setattr(subscription, name, value)
    return web.json_response({"id": subscription.id})


def main() -> None:
    port, store_file = int(sys.argv[1]), Path(sys.argv[2])

    def load(store: resources.Store) -> None:
        if store_file.exists():
            store.update(pickle.loads(store_file.read_bytes()))

    def dump(store: resources.Store) -> None:
        store_file.write_bytes(pickle.dumps(dict(store), protocol=pickle.HIGHEST_PROTOCOL))

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    resources.store.try_load_from_disk()
    server.app.router.add_post("/_test/subscriptions/{id}", patch_subscription)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
