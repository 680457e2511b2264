"""Simulated sync devices and database checks for the sync tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.db.server import connect
from testkit.api import Api


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stamp_z(moment: datetime) -> str:
    """A moment as the server writes it (msgspec: microseconds when there are any, Z)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Device:
    """A simulated device: its id, its counter, the ops it made (what the outbox held)."""

    def __init__(self, api: Api, *, clock_offset: timedelta = timedelta(0)) -> None:
        self.api = api
        self.id = str(uuid.uuid4())
        self.next_seq = 1
        self.clock_offset = clock_offset
        self.cursor: str | None = None
        self.seen: dict[tuple[str | None, int | None], dict[str, Any]] = {}

    def create(self, expression: str, *, at: datetime | None = None) -> dict[str, Any]:
        moment = at or datetime.now(UTC) + self.clock_offset
        op = {
            "seq": self.next_seq,
            "op_id": str(uuid.uuid4()),
            "kind": "create",
            "created_at": stamp(moment),
            "data": {"expression": expression, "result": "1", "metadata": {"engine": 1}},
        }
        self.next_seq += 1
        return op

    def delete(self, target: dict[str, Any]) -> dict[str, Any]:
        op = {
            "seq": self.next_seq,
            "op_id": str(uuid.uuid4()),
            "kind": "delete",
            "created_at": stamp(datetime.now(UTC)),
            "target": {
                "device_id": target["device_id"],
                "seq": target["seq"],
                "created_at": target["created_at"],
            },
        }
        self.next_seq += 1
        return op

    async def push(self, ops: list[dict[str, Any]], **extra: Any) -> httpx.Response:
        body = {"device_id": self.id, "ops": ops, **extra}
        return await self.api.post("/sync/push", body)

    async def pull_all(self, limit: int = 500) -> list[dict[str, Any]]:
        """Pull until done; returns the items of this round and merges them into `seen`."""
        items: list[dict[str, Any]] = []
        while True:
            body = {"device_id": self.id, "cursor": self.cursor, "limit": limit}
            response = await self.api.post("/sync/pull", body)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        for item in items:
            key = (item["device_id"], item["seq"])
            if item["deleted"]:
                self.seen.pop(key, None)
            else:
                self.seen[key] = item
        return items


class Events:
    """A live sync stream (`GET /sync/events`) as a client reads it: event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, within: float = 10) -> dict[str, Any] | None:
        """The next event (`id`, `event`, `data` decoded), skipping comments and `retry`;
        None when the server ended the stream."""
        async with asyncio.timeout(within):
            fields: dict[str, Any] = {}
            async for line in self.lines:
                if line == "":
                    if "data" in fields:
                        return {**fields, "data": json.loads(fields["data"])}
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
            return None

    async def version(self, within: float = 10) -> int:
        event = await self.next(within)
        assert event is not None and event["event"] == "poke", event
        assert event["id"] == str(event["data"]["version"])
        return int(event["data"]["version"])


@contextlib.asynccontextmanager
async def events(api: Api, **headers: str) -> AsyncIterator[Events]:
    """An open live sync stream of the client's session (200 checked)."""
    async with api.client.stream("GET", "/api/v1/sync/events", headers=headers) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Events(response)


async def stored(database_url: str, email: str) -> list[tuple[str, int, bool]]:
    """(device_id, seq, deleted) of every row of the user, as the database holds them."""
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT device_id, seq, deleted_at IS NOT NULL AS deleted FROM calculation_history
               WHERE user_id = (SELECT id FROM users WHERE email = $1) ORDER BY device_id, seq""",
            email,
        )
        return [(str(r["device_id"]), r["seq"], r["deleted"]) for r in rows]
    finally:
        await conn.close()


async def set_premium(database_url: str, email: str, *, active: bool) -> None:
    """Premium on or off through a complimentary subscription (no Stripe objects behind it,
    like `calcapp users grant-premium`, so `billing reconcile` leaves it alone)."""
    conn = await connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id,
                   status, source, price_per_month, current_period_start, current_period_end)
               SELECT id, 'comp_' || id, 'comp_' || id, 'active', 'complimentary', 0.00,
                      now(), now() + interval '30 days'
               FROM users WHERE email = $1
               ON CONFLICT (user_id) DO UPDATE SET status = EXCLUDED.status,
                   current_period_end = EXCLUDED.current_period_end""",
            email,
        )
        if not active:
            await conn.execute(
                """UPDATE subscriptions SET status = 'canceled', current_period_end = now()
                   WHERE user_id = (SELECT id FROM users WHERE email = $1)""",
                email,
            )
    finally:
        await conn.close()


async def stored_user(database_url: str, email: str) -> bool:
    conn = await connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM users WHERE email = $1", email))
    finally:
        await conn.close()


def statuses(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


def keys(ops: Iterable[dict[str, Any]], device: Device) -> list[tuple[str, int, bool]]:
    return sorted((device.id, op["seq"], False) for op in ops)
