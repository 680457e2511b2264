"""Sync ingest: 8 devices pushing 500-op batches over HTTP, against raw asyncpg inserts.

    .venv/bin/python -m bench.sync_ingest

Both sides write the same kind of rows into the same partitioned table of the same database in
the same run: the endpoint (JSON, validation, locks, dedup, per-op results) through
`calcapp serve`, and the fastest plain statement (`INSERT ... SELECT FROM unnest(...) ON
CONFLICT DO NOTHING`, 500 rows a statement) on 8 asyncpg connections. Target: the endpoint
reaches at least half of the raw rate.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.database import connect
from bench.support import bench_database, bench_server, create_premium_users, signed_in, summary

DEVICES = 8
BATCH = 500
BATCHES = 12  # per device: 8 x 12 x 500 = 48,000 ops a side

RAW_INSERT = """
INSERT INTO calculation_history
    (user_id, device_id, seq, op_id, created_at, expression, result, metadata, version)
SELECT $1, $2, o.seq, o.op_id, o.created_at, o.expression, o.result, o.metadata::jsonb, $3
FROM unnest($4::bigint[], $5::uuid[], $6::timestamptz[], $7::text[], $8::text[], $9::text[])
     AS o(seq, op_id, created_at, expression, result, metadata)
ON CONFLICT DO NOTHING
"""


def ops_for(batch: int) -> list[dict[str, Any]]:
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


async def push_device(client: httpx.AsyncClient, latencies: list[float]) -> None:
    device_id = str(uuid.uuid4())
    for batch in range(BATCHES):
        body = {"device_id": device_id, "ops": ops_for(batch)}
        started = time.perf_counter()
        response = await client.post("/api/v1/sync/push", json=body)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        assert response.json()["ack_seq"] == (batch + 1) * BATCH


async def endpoint_rate(base_url: str, emails: list[str]) -> dict[str, Any]:
    latencies: list[float] = []
    clients = [signed_in(base_url, email) for email in emails]
    opened = [await client.__aenter__() for client in clients]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(push_device(client, latencies) for client in opened))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.__aexit__(None, None, None)
    return {"ops_per_second": DEVICES * BATCHES * BATCH / elapsed, "batch_ms": summary(latencies)}


async def raw_device(database_url: str, user_id: uuid.UUID) -> None:
    conn = await connect(database_url)
    try:
        device_id = uuid.uuid4()
        for batch in range(BATCHES):
            ops = ops_for(batch)
            await conn.execute(
                RAW_INSERT,
                user_id,
                device_id,
                1,
                [op["seq"] for op in ops],
                [uuid.UUID(op["op_id"]) for op in ops],
                [datetime.fromisoformat(op["created_at"]) for op in ops],
                [op["data"]["expression"] for op in ops],
                [op["data"]["result"] for op in ops],
                [json.dumps(op["data"]["metadata"]) for op in ops],
            )
    finally:
        await conn.close()


async def raw_rate(database_url: str, user_ids: list[uuid.UUID]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(raw_device(database_url, user_id) for user_id in user_ids))
    return DEVICES * BATCHES * BATCH / (time.perf_counter() - started)


def measure() -> dict[str, Any]:
    with bench_database() as database_url:
        users = asyncio.run(create_premium_users(database_url, 2 * DEVICES))
        endpoint_users, raw_users = users[:DEVICES], users[DEVICES:]
        with bench_server(database_url) as base_url:
            raw = asyncio.run(raw_rate(database_url, [user_id for user_id, _ in raw_users]))
            endpoint = asyncio.run(endpoint_rate(base_url, [email for _, email in endpoint_users]))
    return {
        "endpoint_ops_per_second": endpoint["ops_per_second"],
        "raw_ops_per_second": raw,
        "ratio": endpoint["ops_per_second"] / raw,
        "batch_ms": endpoint["batch_ms"],
        "devices": DEVICES,
        "ops": DEVICES * BATCHES * BATCH,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
