"""Reads at scale: history, search and pull over 10 million rows in 25 monthly partitions.

    .venv/bin/python -m bench.history_scale [--users 100] [--rows 100000]

Fills a throw-away database with `users` x `rows` calculations spread over the last 24
months (as sync writes them: one device per user, versions in batches of 500), then measures
each read both server-side (the `sync` function on a database connection) and end to
end (HTTP through `calcapp serve`, with the session and premium checks), and writes the query
plans to docs/query-plans.md. Targets: newest 100 p50 < 10 ms, search < 50 ms, pull of 500
< 25 ms. Everything it creates is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from backend.database import connect
from bench.support import bench_database, bench_server, create_premium_users, signed_in, summary
from sync import history, pull
from sync.partitions import ensure_partitions
from sync.protocol import PullPosition, encode_cursor

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "docs" / "query-plans.md"
SAMPLES = 150
SPAN = timedelta(days=730)

EPOCH = 1  # the filled accounts' cursor epoch

FILL_USER = """
INSERT INTO calculation_history
    (user_id, device_id, seq, op_id, created_at, expression, result, version, received_at)
SELECT $1, $2, g, gen_random_uuid(), $3::timestamptz + (g * $4::interval / $5),
       (g % 997) || '×' || (g % 101) || '+' || (g % 13),
       ((g % 997) * (g % 101) + g % 13)::text, (g + 499) / 500, now()
FROM generate_series(1, $5) AS g
"""


async def fill(database_url: str, users: list[uuid.UUID], rows: int) -> float:
    """Insert the rows (two connections in parallel); returns the seconds it took."""
    started = datetime.now(UTC) - SPAN
    sql_engine = create_async_engine(database_url)
    async with sql_engine.begin() as conn:
        months = [started + timedelta(days=d) for d in range(0, SPAN.days + 31, 28)]
        await ensure_partitions(conn, months)
    await sql_engine.dispose()

    queue = list(users)
    clock = time.perf_counter()

    async def worker() -> None:
        conn = await connect(database_url)
        try:
            while queue:
                user_id = queue.pop()
                device_id = uuid.uuid4()
                await conn.execute(FILL_USER, user_id, device_id, started, SPAN, rows)
                await conn.execute(
                    "INSERT INTO sync_device (device_id, user_id, last_seq) VALUES ($1, $2, $3)",
                    device_id,
                    user_id,
                    rows,
                )
                await conn.execute(
                    "INSERT INTO sync_user (user_id, version, epoch) VALUES ($1, $2, $3)",
                    user_id,
                    (rows + 499) // 500,
                    EPOCH,
                )
        finally:
            await conn.close()

    await asyncio.gather(worker(), worker())
    elapsed = time.perf_counter() - clock
    conn = await connect(database_url)
    try:
        await conn.execute("VACUUM ANALYZE calculation_history")
    finally:
        await conn.close()
    return elapsed


async def timed(calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    timings = []
    for call in calls:
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


SAMPLED_USERS = 20  # each is signed in once for the HTTP side (bcrypt cost 12)


def sample_reads(users: list[uuid.UUID], rows: int, seed: int) -> list[tuple[str, uuid.UUID, Any]]:
    rng = random.Random(seed)
    users = users[:SAMPLED_USERS]
    reads: list[tuple[str, uuid.UUID, Any]] = []
    for _ in range(SAMPLES):
        user = rng.choice(users)
        reads.append(("newest 100", user, None))
        reads.append(("search, 3 characters", user, f"{rng.randint(100, 996)}"))
        reads.append(("search, 2 characters", user, f"{rng.randint(10, 99)}"))
        reads.append(("pull 500", user, rng.randint(1, max(1, rows // 500 - 2))))
    return reads


async def server_side(
    database_url: str, reads: list[tuple[str, uuid.UUID, Any]]
) -> dict[str, list[float]]:
    sql_engine = create_async_engine(database_url, pool_size=1)
    results: dict[str, list[float]] = {}
    try:
        async with sql_engine.connect() as conn:
            for kind, user, arg in reads:
                call = _engine_call(conn, kind, user, arg)
                results.setdefault(kind, []).extend(await timed([call]))
                await conn.rollback()
    finally:
        await sql_engine.dispose()
    return results


def _engine_call(
    conn: AsyncConnection, kind: str, user: uuid.UUID, arg: Any
) -> Callable[[], Awaitable[Any]]:
    if kind == "pull 500":
        return lambda: pull.pull(conn, user, uuid.uuid4(), PullPosition(EPOCH, arg, 0), 500)
    return lambda: history.history(conn, user, 100, None, arg)


async def end_to_end(
    base_url: str, emails: dict[uuid.UUID, str], reads: list[tuple[str, uuid.UUID, Any]]
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    clients = {}
    try:
        for user, email in emails.items():
            context = signed_in(base_url, email)
            clients[user] = (context, await context.__aenter__())
        for kind, user, arg in reads:
            client = clients[user][1]
            if kind == "pull 500":
                cursor = _cursor(arg)
                call = lambda c=client, k=cursor: c.post(  # noqa: E731
                    "/api/v1/sync/pull", json={"device_id": str(uuid.uuid4()), "cursor": k}
                )
            else:
                params = {"limit": 100, **({"q": arg} if arg else {})}
                call = lambda c=client, p=params: c.get("/api/v1/history", params=p)  # noqa: E731
            results.setdefault(kind, []).extend(await timed([call]))
    finally:
        for context, _ in clients.values():
            await context.__aexit__(None, None, None)
    return results


def _cursor(version: int) -> str:
    return encode_cursor(PullPosition(EPOCH, version, 0))


async def query_plans(database_url: str, user: uuid.UUID) -> str:
    sql_engine = create_async_engine(database_url, pool_size=1)
    sections = []
    queries: dict[str, tuple[str, dict[str, Any]]] = {
        "Newest 100 (GET /history)": (history.HISTORY_PAGE.format(search="", before=""), {}),
        "Search, 3 characters (GET /history?q=512)": (
            history.HISTORY_PAGE.format(search=history.SEARCH, before=""),
            {"q": "512"},
        ),
        "Pull 500 (POST /sync/pull)": (pull.PAGE.text, {"version": 100, "id": 0}),
    }
    try:
        async with sql_engine.connect() as conn:
            await conn.execute(text("SET plan_cache_mode = force_custom_plan"))
            for title, (sql, params) in queries.items():
                explain = text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
                rows = await conn.execute(explain, {"user_id": user, "limit": 101, **params})
                plan = "\n".join(row[0] for row in rows)
                sections.append(f"## {title}\n\n```\n{plan}\n```\n")
    finally:
        await sql_engine.dispose()
    return "\n".join(sections)


def measure(users_count: int = 100, rows: int = 100_000) -> dict[str, Any]:
    with bench_database() as database_url:
        users = asyncio.run(create_premium_users(database_url, users_count))
        user_ids = [user_id for user_id, _ in users]
        fill_seconds = asyncio.run(fill(database_url, user_ids, rows))
        reads = sample_reads(user_ids, rows, seed=1)
        server = asyncio.run(server_side(database_url, reads))
        sampled = {user for _, user, _ in reads}
        emails = {user_id: email for user_id, email in users if user_id in sampled}
        with bench_server(database_url) as base_url:
            http = asyncio.run(end_to_end(base_url, emails, reads))
        plans = asyncio.run(query_plans(database_url, user_ids[0]))
    PLANS.write_text(
        "# Query plans at scale\n\nWritten by `make bench` (bench/history_scale.py) on "
        f"{users_count * rows:,} rows over 25 monthly partitions; do not edit by hand.\n\n{plans}"
    )
    return {
        "rows": users_count * rows,
        "fill_seconds": fill_seconds,
        "server_ms": {kind: summary(values) for kind, values in server.items()},
        "http_ms": {kind: summary(values) for kind, values in http.items()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.users, args.rows), indent=2))
