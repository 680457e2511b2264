"""Sync ingest: 8 devices pushing 500-op batches over HTTP, against raw asyncpg inserts of the
same rows, for new ops and for ops the server has already.

    .venv/bin/python -m bench.sync_ingest

Both sides write the same rows (8 devices x 12 batches x 500 ops; each side its own accounts,
devices and op ids) into the same partitioned table of the same database in the same run: the
endpoint (JSON, validation, locks, dedup, per-op results) through `calcapp serve` (one uvicorn
worker), the 8 devices at once, and the fastest plain statement (`INSERT ... SELECT FROM
unnest(...) ON CONFLICT DO NOTHING`, 500 rows a statement) on 4 asyncpg connections.

Two passes, each raw then endpoint:

- new ops: every op comes back `applied`, every statement inserts its 500 rows;
- all duplicates: the devices push again exactly the batches they pushed (as after a lost
  answer: every op must come back `duplicate`), against the same statements run again with the
  same rows (all conflicts, nothing inserted).

Target for both: the endpoint reaches at least 0.8 x the raw rate. Each pass also reports the
CPU time per op of the server, of PostgreSQL and of this process (the client: httpx and JSON
for the endpoint, asyncpg for the raw side), all on the same machine. Before measuring, each side
sends one batch (a device of its own, results discarded) so that the cold start is not measured:
the server's first requests, prepared statements, the first writes to the table.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from backend.db.server import connect
from bench import throughput
from bench.support import (
    bench_database,
    bench_server_process,
    create_premium_users,
    signed_in,
    summary,
)

DEVICES = 8
BATCH = 500
BATCHES = 12  # per device: 8 x 12 x 500 = 48,000 ops a side and pass
RAW_CONNECTIONS = 4

RAW_INSERT = """
INSERT INTO calculation_history
    (user_id, device_id, seq, op_id, created_at, expression, result, metadata, version)
SELECT $1, $2, o.seq, o.op_id, o.created_at, o.expression, o.result, o.metadata::jsonb, $3
FROM unnest($4::bigint[], $5::uuid[], $6::timestamptz[], $7::text[], $8::text[], $9::text[])
     AS o(seq, op_id, created_at, expression, result, metadata)
ON CONFLICT DO NOTHING
"""

Batch = list[dict[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class Device:
    id: uuid.UUID
    batches: list[Batch]


def ops_for(batch: int) -> Batch:
    start = datetime.now(UTC) - timedelta(hours=1)
    return [
        {
            "seq": batch * BATCH + i + 1,
            "op_id": str(uuid.uuid4()),
            "kind": "create",
            "created_at": (start + timedelta(milliseconds=batch * BATCH + i)).isoformat(),
            "data": {
                "expression": f"{i}×{batch}+7",
                "result": str(i * batch + 7),
                "metadata": {"engine": 1},
            },
        }
        for i in range(BATCH)
    ]


def new_device(batches: int = BATCHES) -> Device:
    return Device(uuid.uuid4(), [ops_for(batch) for batch in range(batches)])


def raw_args(user_id: uuid.UUID, device: Device) -> list[tuple[Any, ...]]:
    """The raw statement's arguments for each of the device's batches."""
    return [
        (
            user_id,
            device.id,
            1,
            [op["seq"] for op in ops],
            [uuid.UUID(op["op_id"]) for op in ops],
            [datetime.fromisoformat(op["created_at"]) for op in ops],
            [op["data"]["expression"] for op in ops],
            [op["data"]["result"] for op in ops],
            [json.dumps(op["data"]["metadata"]) for op in ops],
        )
        for ops in device.batches
    ]


async def push_device(
    client: httpx.AsyncClient, device: Device, status: str, latencies: list[float]
) -> None:
    """The device's batches in order; every op must come back with `status`."""
    for number, ops in enumerate(device.batches, 1):
        started = time.perf_counter()
        response = await client.post(
            "/api/v1/sync/push", json={"device_id": str(device.id), "ops": ops}
        )
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        answer = response.json()
        statuses = [result["status"] for result in answer["results"]]
        assert statuses == [status] * BATCH, Counter(statuses)
        assert answer["ack_seq"] >= number * BATCH, answer["ack_seq"]


async def endpoint_pass(
    clients: list[httpx.AsyncClient], devices: list[Device], status: str
) -> dict[str, Any]:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(
            push_device(client, device, status, latencies)
            for client, device in zip(clients, devices, strict=True)
        )
    )
    elapsed = time.perf_counter() - started
    ops = sum(len(ops) for device in devices for ops in device.batches)
    return {"ops_per_second": ops / elapsed, "batch_ms": summary(latencies)}


async def raw_pass(connections: list[Any], work: list[list[tuple[Any, ...]]], rows: int) -> float:
    """Rows a second: each connection runs its statements in order; each must insert `rows`."""

    async def run(conn: Any, statements: list[tuple[Any, ...]]) -> None:
        for args in statements:
            assert await conn.execute(RAW_INSERT, *args) == f"INSERT 0 {rows}"

    started = time.perf_counter()
    await asyncio.gather(*(run(conn, part) for conn, part in zip(connections, work, strict=True)))
    return sum(len(args[3]) for part in work for args in part) / (time.perf_counter() - started)


def raw_work(user_ids: list[uuid.UUID], devices: list[Device]) -> list[list[tuple[Any, ...]]]:
    """The statements of each raw connection: the batches of every RAW_CONNECTIONS-th device."""
    by_device = [
        raw_args(user_id, device) for user_id, device in zip(user_ids, devices, strict=True)
    ]
    return [
        [args for statements in by_device[i::RAW_CONNECTIONS] for args in statements]
        for i in range(RAW_CONNECTIONS)
    ]


def cpu_now(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of the server's and PostgreSQL's process trees and of this process."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {**throughput.tree_cpu_seconds(roots), "client": own.ru_utime + own.ru_stime}


async def with_cpu(
    roots: dict[str, int], ops: int, work: Awaitable[T]
) -> tuple[T, dict[str, float]]:
    """`await work`, and the CPU microseconds per op it took of each process."""
    before = cpu_now(roots)
    result = await work
    after = cpu_now(roots)
    return result, {name: round((after[name] - before[name]) * 1e6 / ops, 1) for name in after}


async def passes(
    base_url: str,
    database_url: str,
    emails: list[str],
    user_ids: list[uuid.UUID],
    server_pid: int,
) -> dict[str, Any]:
    """The warm-up, then the new and the all-duplicate passes, each raw then endpoint."""
    devices = [new_device() for _ in emails]
    work = raw_work(user_ids, [new_device() for _ in user_ids])
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(signed_in(base_url, email)) for email in emails]
        connections = []
        for _ in range(RAW_CONNECTIONS):
            connections.append(await connect(database_url))
            stack.push_async_callback(connections[-1].close)
        # The warm-up: one batch a side, each of a device of its own; not measured.
        await endpoint_pass(clients[:1], [new_device(1)], "applied")
        await raw_pass(connections[:1], [raw_args(user_ids[0], new_device(1))], BATCH)
        roots = {"server": server_pid, "postgres": await throughput.postmaster_pid(database_url)}
        ops = DEVICES * BATCHES * BATCH
        results = {}
        for name, status, rows in (("new", "applied", BATCH), ("duplicate", "duplicate", 0)):
            raw, raw_cpu = await with_cpu(roots, ops, raw_pass(connections, work, rows))
            endpoint, cpu = await with_cpu(roots, ops, endpoint_pass(clients, devices, status))
            results[name] = {
                "endpoint_ops_per_second": endpoint["ops_per_second"],
                "raw_ops_per_second": raw,
                "ratio": endpoint["ops_per_second"] / raw,
                "batch_ms": endpoint["batch_ms"],
                "cpu_us_per_op": cpu,
                "raw_cpu_us_per_op": raw_cpu,
            }
    return results


def measure() -> dict[str, Any]:
    with bench_database() as database_url:
        users = asyncio.run(create_premium_users(database_url, 2 * DEVICES))
        endpoint_users, raw_users = users[:DEVICES], users[DEVICES:]
        with bench_server_process(database_url) as (base_url, server_pid):
            results = asyncio.run(
                passes(
                    base_url,
                    database_url,
                    [email for _, email in endpoint_users],
                    [user_id for user_id, _ in raw_users],
                    server_pid,
                )
            )
    return {
        **results,
        "devices": DEVICES,
        "batch": BATCH,
        "ops": DEVICES * BATCHES * BATCH,
        "raw_connections": RAW_CONNECTIONS,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
