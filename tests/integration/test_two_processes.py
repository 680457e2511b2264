"""The app is stateless: two `calcapp serve` processes on one database act as one service.

A load balancer may send each request of a client to either process: sessions, CSRF tokens,
rate limits and the sync dedup all live in PostgreSQL, so nothing depends on which one answers.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from testkit.api import Api
from testkit.support import calcapp_env, running_server
from testkit.sync_client import Device, set_premium, statuses, stored

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]


class Balanced(httpx.AsyncBaseTransport):
    """A round-robin load balancer in front of the two processes (one cookie jar)."""

    def __init__(self, *bases: str) -> None:
        self.bases = [httpx.URL(b) for b in bases]
        self.inner = httpx.AsyncHTTPTransport()
        self.turn = 0
        self.served: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self.turn % len(self.bases)
        self.turn += 1
        self.served.append(index)
        base = self.bases[index]
        forwarded = httpx.Request(
            request.method,
            request.url.copy_with(host=base.host, port=base.port),
            headers=request.headers,
            stream=request.stream,
        )
        # The client keeps the original request: cookies stay those of the one public address.
        return await self.inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_sessions_csrf_and_sync_work_across_processes(
    server: str, second_server: str, database_url: str
) -> None:
    email = f"balanced-{uuid.uuid4().hex[:8]}@example.com"
    balancer = Balanced(server, second_server)
    async with httpx.AsyncClient(
        base_url="http://balanced.invalid", transport=balancer, timeout=30
    ) as client:
        api = Api(client)
        assert (await api.signup(email)).status_code == 202
        assert (await api.login(email)).status_code == 200
        for _ in range(2):  # the session made by one process is known to both
            me = await api.get("/me")
            assert me.status_code == 200 and me.json()["email"] == email
        await set_premium(database_url, email, active=True)

        # Two devices push the same batches through both processes at once: stored once.
        phone, laptop = Device(api), Device(api)
        batches = [
            [device.create(f"{n}+{i}") for i in range(20)]
            for n, device in enumerate((phone, laptop))
        ]
        pushes = [
            phone.push(batches[0]),
            laptop.push(batches[1]),
            phone.push(batches[0]),
            laptop.push(batches[1]),
        ]
        answers = await asyncio.gather(*pushes)
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        results = [statuses(a) for a in answers]
        assert sorted(r.count("applied") for r in results) == [0, 0, 20, 20]
        rows = await stored(database_url, email)
        assert len(rows) == 40 and len(set(rows)) == 40
        assert {0, 1} <= set(balancer.served)

        assert (await api.post("/auth/logout")).status_code == 204
        for _ in range(2):  # and signed out on both
            assert (await api.get("/me")).status_code == 401


def _workers(pid: int) -> list[int]:
    """The worker processes the server started (multiprocessing's spawn children)."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def test_serve_runs_the_workers_it_is_told_to_on_one_port(
    database_url: str, mail_env: dict[str, str]
) -> None:
    env = calcapp_env(DATABASE_URL=database_url, CALCAPP_WORKERS="2", **mail_env)
    with running_server(env) as (base_url, process):
        workers = _workers(process.pid)
        assert len(workers) == 2, workers
        with httpx.Client(base_url=base_url, timeout=30) as client:
            answers = [client.get("/api/v1/health") for _ in range(20)]
        assert {a.status_code for a in answers} == {200}
    assert process.returncode == 0  # Ctrl+C stopped the workers and the supervisor cleanly
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
