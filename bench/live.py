"""Live sync: how fast a calculation reaches another open device, and what open streams cost.

    .venv/bin/python -m bench.live

- Cross-device latency: two `calcapp serve` processes on one database; device A pushes one
  new calculation to the first, device B holds `GET /api/v1/sync/events` on the second and
  pulls when poked. 200 calculations one after the other; from A sending the push to B
  receiving the poke, and to B holding the calculation (its pull answered).
- Idle streams: 2,000 streams (400 premium accounts × 5) on one worker: the worker's RSS
  before and with them (per stream), and its CPU while they idle for 30 s (a heartbeat every
  25 s each, the sessions checked every 2 s). These streams are held by plain sockets that read
  up to their first poke and then nothing (the kernel's buffers take the rest): a client
  parsing 2,000 streams would take the CPU the server needs on this 2-core machine.
- Push rate with 2,000 open streams (wrk, as in bench.throughput: 64 connections, 10-op
  pushes from 64 of those accounts, whose streams are poked) as a ratio to the same run with
  none, before and after (the mean of the two).

Sessions are written straight into `user_sessions` (a bcrypt sign-in for each of 400 accounts
would take minutes and measure nothing here).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from backend.db.server import connect
from bench import throughput
from bench.support import (
    CSRF_COOKIE,
    METRICS_TOKEN,
    SESSION_COOKIE,
    bench_database,
    bench_server_process,
    create_premium_users,
    summary,
)

CALCULATIONS = 200
ACCOUNTS = 400
STREAMS_PER_ACCOUNT = 5
PUSHERS = 64
IDLE_SECONDS = 30


async def new_sessions(database_url: str, user_ids: list[uuid.UUID]) -> list[str]:
    """A session token for each account, as a sign-in would make it."""
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    conn = await connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO user_sessions (token_hash, user_id, expires_at)"
            " VALUES ($1, $2, now() + interval '30 days')",
            [
                (hashlib.sha256(t.encode()).digest(), u)
                for t, u in zip(tokens, user_ids, strict=True)
            ],
        )
    finally:
        await conn.close()
    return tokens


@dataclass
class Listening:
    """One open stream: the pokes it got, and when."""

    versions: list[int] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


async def listen(client: httpx.AsyncClient, token: str, into: Listening) -> None:
    headers = {"cookie": f"{SESSION_COOKIE}={token}"}
    async with client.stream("GET", "/api/v1/sync/events", headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                into.versions.append(json.loads(line[5:])["version"])
                into.changed.set()


async def wait_for(listening: Listening, version: int) -> None:
    while not listening.versions or listening.versions[-1] < version:
        listening.changed.clear()
        await listening.changed.wait()


@contextlib.asynccontextmanager
async def quiet_streams(base_url: str, tokens: list[str], each: int) -> AsyncIterator[int]:
    """`each` open streams per token, each read up to its first poke only; yields how many."""
    url = httpx.URL(base_url)
    writers: list[asyncio.StreamWriter] = []

    async def open_one(token: str) -> None:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        writers.append(writer)
        writer.write(
            f"GET /api/v1/sync/events HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Cookie: {SESSION_COOKIE}={token}\r\n\r\n".encode()
        )
        await reader.readuntil(b"event: poke")

    try:
        async with asyncio.timeout(120):
            await asyncio.gather(*(open_one(t) for t in tokens for _ in range(each)))
        yield len(writers)
    finally:
        for writer in writers:
            writer.close()


async def pokes_sent(base_url: str) -> float:
    headers = {"authorization": f"Bearer {METRICS_TOKEN}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
        text = (await client.get("/metrics")).raise_for_status().text
    found = re.search(r"^calcapp_sync_pokes_total (\S+)$", text, re.MULTILINE)
    assert found, "no calcapp_sync_pokes_total in /metrics"
    return float(found.group(1))


@contextlib.asynccontextmanager
async def streams(base_url: str, tokens: list[str], each: int) -> AsyncIterator[list[Listening]]:
    """`each` open streams per token, every one past its first poke."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    # No read timeout: an idle stream is silent for 25 s at a time.
    timeout = httpx.Timeout(30, read=None)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        opened = [Listening() for _ in range(len(tokens) * each)]
        tasks = [
            asyncio.create_task(listen(client, tokens[i // each], listening))
            for i, listening in enumerate(opened)
        ]
        try:
            async with asyncio.timeout(120):
                for listening in opened:
                    await wait_for(listening, 0)
            yield opened
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def op(seq: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "seq": seq,
        "op_id": str(uuid.uuid4()),
        "kind": "create",
        "created_at": now,
        "data": {"expression": f"{seq}+1", "result": str(seq + 1)},
    }


async def cross_device(first: str, second: str, token: str, csrf: str) -> dict[str, Any]:
    cookie = f"{CSRF_COOKIE}={csrf}; {SESSION_COOKIE}={token}"
    headers = {"cookie": cookie, "x-csrftoken": csrf}
    device_a, device_b = str(uuid.uuid4()), str(uuid.uuid4())
    poked: list[float] = []
    pulled: list[float] = []
    async with (
        httpx.AsyncClient(base_url=first, headers=headers, timeout=30) as a,
        httpx.AsyncClient(base_url=second, headers=headers, timeout=30) as b,
        streams(second, [token], 1) as (listening,),
    ):
        cursor = None
        for seq in range(1, CALCULATIONS + 1):
            version = listening.versions[-1] + 1
            started = time.perf_counter()
            push = await a.post("/api/v1/sync/push", json={"device_id": device_a, "ops": [op(seq)]})
            push.raise_for_status()
            await wait_for(listening, version)
            poked.append(time.perf_counter() - started)
            body = {"device_id": device_b, "cursor": cursor, "limit": 100}
            page = (await b.post("/api/v1/sync/pull", json=body)).raise_for_status().json()
            assert page["items"][-1]["version"] == version, page
            cursor = page["next_cursor"]
            pulled.append(time.perf_counter() - started)
    ms = {name: [s * 1000 for s in values] for name, values in (("poke", poked), ("pull", pulled))}
    return {
        name: {k: round(v, 1) for k, v in summary(values).items()} for name, values in ms.items()
    }


def cpu_seconds(pid: int) -> float:
    return throughput.cpu_seconds({"server": pid})["server"]


async def idle_cost(server: throughput.Server, tokens: list[str], load: throughput.Load) -> Any:
    idle_rss = throughput.idle_rss(server)[0]
    await warm_up(server.url, load)
    before = throughput.run(server, "push", load)
    async with quiet_streams(server.url, tokens, STREAMS_PER_ACCOUNT) as opened:
        with_streams_rss = throughput.rss_mb(server.pid)
        cpu = cpu_seconds(server.pid)
        await asyncio.sleep(IDLE_SECONDS)  # the measurement itself: idle streams over time
        idle_cpu = cpu_seconds(server.pid) - cpu
        poked = await pokes_sent(server.url)
        loaded = await asyncio.to_thread(throughput.run, server, "push", load)
        pokes = await pokes_sent(server.url) - poked
    after = throughput.run(server, "push", load)
    baseline = (before["rps"] + after["rps"]) / 2
    return {
        "streams": len(tokens) * STREAMS_PER_ACCOUNT,
        "idle_rss_mb": round(idle_rss, 1),
        "streams_rss_mb": round(with_streams_rss, 1),
        "kb_per_stream": round((with_streams_rss - idle_rss) * 1024 / opened, 1),
        "idle_cpu_core_percent": round(100 * idle_cpu / IDLE_SECONDS, 2),
        "push_without": [before, after],
        "push_with": loaded,
        "pokes_during_push_run": round(pokes),
        "push_ratio": round(loaded["rps"] / baseline, 3),
    }


async def warm_up(base_url: str, load: throughput.Load) -> None:
    """One push from each pushing account (a new server's first pushes prepare partitions and
    open the pool's connections): the wrk runs then measure the steady state."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for line in load.sessions.read_text().splitlines():
            csrf, cookie = line.split(" ", 1)
            body = {"device_id": str(uuid.uuid4()), "ops": [op(1)]}
            headers = {"x-csrftoken": csrf, "cookie": cookie}
            (await client.post("/api/v1/sync/push", json=body, headers=headers)).raise_for_status()


async def csrf_token(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return (await client.get("/api/v1/auth/csrf")).cookies[CSRF_COOKIE]


def measure() -> dict[str, Any]:
    with bench_database() as database_url, tempfile.TemporaryDirectory() as folder:
        # One account for the latency pair, the others for the idle streams.
        users = asyncio.run(create_premium_users(database_url, ACCOUNTS + 1))
        tokens = asyncio.run(new_sessions(database_url, [user_id for user_id, _ in users]))
        with (
            bench_server_process(database_url) as (first, _),
            bench_server_process(database_url) as (second, _),
        ):
            csrf = asyncio.run(csrf_token(first))
            latency = asyncio.run(cross_device(first, second, tokens[0], csrf))
        with bench_server_process(database_url) as (url, pid):
            server = throughput.Server(url, pid, 1)
            load = throughput.Load(
                database_url, Path(folder), asyncio.run(throughput.postmaster_pid(database_url))
            )
            pushers = tokens[1 : PUSHERS + 1]
            load.sessions.write_text(
                "".join(
                    f"{csrf} {CSRF_COOKIE}={csrf}; {SESSION_COOKIE}={token}\n" for token in pushers
                )
            )
            (load.folder / "push.lua").write_text(throughput.SCRIPTS["push"])
            idle = asyncio.run(idle_cost(server, tokens[1:], load))
    return {"calculations": CALCULATIONS, "latency_ms": latency, **idle}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
