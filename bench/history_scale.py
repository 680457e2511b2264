"""Reads at scale: history, search and pull over 10 million rows in 25 monthly partitions.

    .venv/bin/python -m bench.history_scale [--users 100] [--rows 100000]

Fills a throw-away database with `users` x `rows` calculations spread over the last 24
months (as sync writes them: one device per user, versions in batches of 500), then measures
each read both server-side (the `sync` function on a connection with the app's engine
settings) and end to end (HTTP through `calcapp serve`, with the session and premium checks),
in a cold pass and a warm one, and writes the query plans to docs/query-plans.md. Targets:
server side p50 newest 100 < 1 ms, pull 500 < 5 ms; search p99 < 20 ms for 2, 3 and 5
characters; over HTTP p50 newest 100 < 3 ms, pull 500 < 10 ms. Everything it creates is
deleted afterwards.
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

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from backend.db.engine import create_engine
from backend.db.server import connect
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
KINDS = (
    "newest 100",
    "search, 2 characters",
    "search, 3 characters",
    "search, 5 characters",
    "pull 500",
)


def sample_reads(users: list[uuid.UUID], rows: int, seed: int) -> list[tuple[str, uuid.UUID, Any]]:
    """The reads of a pass, interleaved. The filled expressions are `a×b+c` (a < 997, b < 101,
    c < 13): a 2-digit term is common, a 3-digit one rarer, `a×b` rarer still."""
    rng = random.Random(seed)
    users = users[:SAMPLED_USERS]
    reads: list[tuple[str, uuid.UUID, Any]] = []
    for _ in range(SAMPLES):
        user = rng.choice(users)
        reads.append(("newest 100", user, None))
        reads.append(("search, 2 characters", user, f"{rng.randint(10, 99)}"))
        reads.append(("search, 3 characters", user, f"{rng.randint(100, 996)}"))
        reads.append(("search, 5 characters", user, f"{rng.randint(100, 996)}×{rng.randint(1, 9)}"))
        reads.append(("pull 500", user, rng.randint(1, max(1, rows // 500 - 2))))
    return reads


async def server_side(
    database_url: str, reads: list[tuple[str, uuid.UUID, Any]]
) -> dict[str, list[float]]:
    """Each read as the endpoint runs it (the app's engine settings), on one connection."""
    sql_engine = create_engine(database_url, pool_size=1)
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
    base_url: str, emails: dict[uuid.UUID, str], passes: list[list[tuple[str, uuid.UUID, Any]]]
) -> list[dict[str, list[float]]]:
    """Each pass's reads over HTTP, with the session and premium checks."""
    results: list[dict[str, list[float]]] = []
    clients = {}
    try:
        for user, email in emails.items():
            context = signed_in(base_url, email)
            clients[user] = (context, await context.__aenter__())
        for reads in passes:
            timings: dict[str, list[float]] = {}
            for kind, user, arg in reads:
                call = _http_call(clients[user][1], kind, arg)
                timings.setdefault(kind, []).extend(await timed([call]))
            results.append(timings)
    finally:
        for context, _ in clients.values():
            await context.__aexit__(None, None, None)
    return results


def _http_call(client: httpx.AsyncClient, kind: str, arg: Any) -> Callable[[], Awaitable[Any]]:
    if kind == "pull 500":
        body = {"device_id": str(uuid.uuid4()), "cursor": _cursor(arg)}
        return lambda: client.post("/api/v1/sync/pull", json=body)
    params = {"limit": 100, **({"q": arg} if arg else {})}
    return lambda: client.get("/api/v1/history", params=params)


def _cursor(version: int) -> str:
    return encode_cursor(PullPosition(EPOCH, version, 0))


def _positional(sql: str, names: list[str]) -> str:
    for number, name in enumerate(names, 1):
        sql = sql.replace(f":{name}", f"${number}")
    return sql


async def query_plans(database_url: str, user: uuid.UUID) -> str:
    """The plans the endpoints run: prepared statements, generic plans where the app's
    connections use them (EXPLAIN ... EXECUTE), the search's custom plan for its term."""
    newest = history.PAGE.format(search="", limit=history.page_limit(100, history.PAGE_SIZES))
    search = history.PAGE.format(
        search=history.TRIGRAM_SEARCH, limit=history.page_limit(100, history.PAGE_SIZES)
    )
    page = pull.PAGE.format(limit=history.page_limit(500, pull.PAGE_SIZES))
    latest = f"'{history.LATEST.isoformat()}', {history.LAST_ID}"
    statements = {
        "Newest 100 (GET /history): generic plan": (
            "force_generic_plan",
            _positional(newest, ["user_id", "before_at", "before_id"]),
            f"'{user}', {latest}",
        ),
        "Search, 3 characters (GET /history?q=512): custom plan": (
            "force_custom_plan",
            _positional(search, ["user_id", "before_at", "before_id", "pattern"]),
            f"'{user}', {latest}, '%512%'",
        ),
        "Pull 500 (POST /sync/pull): generic plan": (
            "force_generic_plan",
            _positional(page, ["user_id", "version", "id"]),
            f"'{user}', 100, 0",
        ),
    }
    conn = await connect(database_url)
    sections = []
    try:
        await conn.execute("SET jit = off")
        for number, (title, (mode, sql, args)) in enumerate(statements.items()):
            await conn.execute(f"SET plan_cache_mode = {mode}")
            await conn.execute(f"PREPARE read_{number} AS {sql}")
            execute = f"EXECUTE read_{number}({args})"
            await conn.fetch(execute)  # warm: the plan the endpoint reuses
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {execute}")
            plan = "\n".join(row[0] for row in rows)
            sections.append(f"## {title}\n\n```\n{sql.strip()}\n```\n\n```\n{plan}\n```\n")
    finally:
        await conn.close()
    return "\n".join(sections)


def measure(users_count: int = 100, rows: int = 100_000) -> dict[str, Any]:
    """Two passes of the same reads on each side: cold (new connections, so every statement
    is prepared and planned for the first time, right after the fill) and warm (again)."""
    with bench_database() as database_url:
        users = asyncio.run(create_premium_users(database_url, users_count))
        user_ids = [user_id for user_id, _ in users]
        fill_seconds = asyncio.run(fill(database_url, user_ids, rows))
        reads = sample_reads(user_ids, rows, seed=1)
        server = [asyncio.run(server_side(database_url, reads)) for _ in PASSES]
        sampled = {user for _, user, _ in reads}
        emails = {user_id: email for user_id, email in users if user_id in sampled}
        with bench_server(database_url) as base_url:
            http = asyncio.run(end_to_end(base_url, emails, [reads for _ in PASSES]))
        plans = asyncio.run(query_plans(database_url, user_ids[0]))
    PLANS.write_text(
        "# Query plans at scale\n\nWritten by `make bench` (bench/history_scale.py) on "
        f"{users_count * rows:,} rows over 25 monthly partitions; do not edit by hand. Each "
        "statement is the endpoint's own (its page size as the `LIMIT` literal), prepared and "
        "run once before the plan is shown, as on a connection of the app.\n\n"
        f"{plans}"
    )
    return {
        "rows": users_count * rows,
        "fill_seconds": fill_seconds,
        "samples": len(reads) // len(KINDS),
        "server_ms": _summaries(server),
        "http_ms": _summaries(http),
    }


PASSES = ("cold", "warm")


def _summaries(passes: list[dict[str, list[float]]]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        name: {kind: summary(values) for kind, values in timings.items()}
        for name, timings in zip(PASSES, passes, strict=True)
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.users, args.rows), indent=2))
