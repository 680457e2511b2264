"""Live sync (`GET /sync/events`, backend/live): a push commits, and the account's open streams
on every process hear of it once; nothing for other accounts, nothing for a rollback; a
stream ends with its session; limits per account."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.engine import create_engine
from backend.db.server import connect
from backend.live.hub import Hub, Stream
from backend.live.listener import Listener, end_stale_streams
from backend.settings import Settings
from backend.web.metrics import Metrics
from sync import push as push_ops
from sync.protocol import parse_op
from testkit.api import PASSWORD, Api, assert_error
from testkit.support import calcapp_env, running_server
from testkit.sync_client import Device, events, set_premium, stamp, statuses

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]


@contextlib.asynccontextmanager
async def premium_client(base_url: str, database_url: str, email: str) -> AsyncIterator[Api]:
    """A signed-in client of the premium account `email` (made on first use)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        api = Api(client)
        if (await api.signup(email)).status_code == 202:
            await set_premium(database_url, email, active=True)
        assert (await api.login(email)).status_code == 200
        yield api


def new_email() -> str:
    return f"live-{uuid.uuid4().hex[:10]}@example.com"


async def test_a_push_pokes_the_accounts_streams_on_both_processes_once(
    server: str, second_server: str, database_url: str
) -> None:
    email, other_email = new_email(), new_email()
    async with (
        premium_client(server, database_url, email) as phone_api,
        premium_client(second_server, database_url, email) as laptop_api,
        premium_client(server, database_url, other_email) as other_api,
        events(phone_api) as phone_stream,
        events(laptop_api) as laptop_stream,
        events(other_api) as other_stream,
    ):
        assert phone_stream.response.headers["cache-control"] == "no-store"
        assert phone_stream.response.headers["x-accel-buffering"] == "no"
        # On connecting: the account's version, so a device knows whether it missed anything.
        assert await phone_stream.version() == await laptop_stream.version() == 0
        assert await other_stream.version() == 0

        phone, laptop = Device(phone_api), Device(laptop_api)
        first = phone.create("1+1")
        assert statuses(await phone.push([first])) == ["applied"]
        assert await phone_stream.version() == 1
        assert await laptop_stream.version() == 1

        # A retry changes nothing and pokes nobody: the next poke is the next change, once.
        assert statuses(await phone.push([first])) == ["duplicate"]
        assert statuses(await laptop.push([laptop.create("2+2")])) == ["applied"]
        assert await phone_stream.version() == 2
        assert await laptop_stream.version() == 2

        # The other account heard none of it: its first poke is its own push.
        other = Device(other_api)
        assert statuses(await other.push([other.create("3+3")])) == ["applied"]
        assert await other_stream.version() == 1


async def test_a_reconnecting_device_that_missed_nothing_gets_no_poke(
    server: str, database_url: str
) -> None:
    async with premium_client(server, database_url, new_email()) as api:
        device = Device(api)
        assert statuses(await device.push([device.create("1+1")])) == ["applied"]
        async with events(api, **{"Last-Event-ID": "1"}) as stream:
            # Up to date: the first event is the next change, not version 1 again.
            assert statuses(await device.push([device.create("2+2")])) == ["applied"]
            assert await stream.version() == 2


async def test_every_stream_gets_its_own_headers(server: str, database_url: str) -> None:
    """The layers in between add to the answer's headers (a CSRF cookie for a client without
    one): never to those of the streams before."""
    async with premium_client(server, database_url, new_email()) as api:
        for _ in range(3):
            api.client.cookies.delete("csrftoken")
            async with events(api) as stream:
                assert len(stream.response.headers.get_list("set-cookie")) == 1
                assert await stream.version() == 0


async def test_streams_are_for_signed_in_premium_accounts(api: Api, email: str) -> None:
    assert_error(await api.get("/sync/events"), 401, "not_authenticated")
    assert (await api.signup(email)).status_code == 202
    assert (await api.login(email)).status_code == 200
    assert_error(await api.get("/sync/events"), 403, "premium_required")


async def test_a_full_process_answers_503_with_retry_after(
    settings: Settings, database_url: str, email: str
) -> None:
    app = create_app(dataclasses.replace(settings, streams_per_process=1))
    async with AsyncTestClient(app) as client:
        api = Api(client)
        assert (await api.signup(email)).status_code == 202
        await set_premium(database_url, email, active=True)
        assert (await api.login(email)).status_code == 200
        app.state.hub.open(uuid.uuid4(), uuid.uuid4())  # another account's stream
        response = await api.get("/sync/events")
        assert_error(response, 503, "too_many_streams")
        assert response.headers["retry-after"] == "30"


@pytest.mark.parametrize(
    "ending", ["sign-out", "premium ends", "password changed elsewhere", "account deleted"]
)
async def test_a_stream_ends_within_seconds_of_its_session(
    server: str, database_url: str, ending: str
) -> None:
    email = new_email()
    async with (
        premium_client(server, database_url, email) as api,
        premium_client(server, database_url, email) as elsewhere,
        events(api) as stream,
    ):
        assert await stream.version() == 0
        if ending == "sign-out":
            assert (await api.post("/auth/logout")).status_code in {200, 204}
        elif ending == "premium ends":
            await set_premium(database_url, email, active=False)
        elif ending == "password changed elsewhere":  # ends the other sessions
            change = {"current_password": PASSWORD, "new_password": "Another-Horse-8"}
            assert (await elsewhere.post("/me/password", change)).status_code == 204
        else:
            assert (await elsewhere.delete("/me", {"password": PASSWORD})).status_code == 204
        assert await stream.next(within=10) is None  # the server closed it


async def test_metrics_count_streams_pokes_and_the_poke_to_pull_time(
    server: str, database_url: str
) -> None:
    async def metric(name: str) -> float:
        async with httpx.AsyncClient(base_url=server) as client:
            text = (await client.get("/metrics")).text
        found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        assert found, f"no {name}"
        return float(found.group(1))

    pokes = await metric("calcapp_sync_pokes_total")
    measured = await metric("calcapp_sync_poke_to_pull_seconds_count")
    async with premium_client(server, database_url, new_email()) as api:
        async with events(api) as stream:
            assert await metric("calcapp_sync_streams_open") >= 1
            await stream.version()
            device = Device(api)
            assert statuses(await device.push([device.create("1+1")])) == ["applied"]
            event = await stream.next()
        assert event is not None and event["data"]["version"] == 1
        body = {"device_id": device.id, "poke_at_ms": event["data"]["at_ms"]}
        assert (await api.post("/sync/pull", body)).status_code == 200
    assert await metric("calcapp_sync_pokes_total") >= pokes + 2
    assert await metric("calcapp_sync_poke_to_pull_seconds_count") == measured + 1


async def test_an_account_keeps_five_streams_a_process_and_the_oldest_closes(
    server: str, database_url: str
) -> None:
    async with (
        premium_client(server, database_url, new_email()) as api,
        contextlib.AsyncExitStack() as stack,
    ):
        streams = [await stack.enter_async_context(events(api)) for _ in range(5)]
        for stream in streams:
            assert await stream.version() == 0
        sixth = await stack.enter_async_context(events(api))
        assert await sixth.version() == 0
        assert await streams[0].next() is None
        device = Device(api)
        assert statuses(await device.push([device.create("1+1")])) == ["applied"]
        for stream in [*streams[1:], sixth]:
            assert await stream.version() == 1


async def test_a_stopping_server_ends_its_streams_cleanly(
    database_url: str, mail_env: dict[str, str]
) -> None:
    env = calcapp_env(DATABASE_URL=database_url, **mail_env)
    with running_server(env) as (base_url, process):
        async with (
            premium_client(base_url, database_url, new_email()) as api,
            events(api) as stream,
        ):
            assert await stream.version() == 0
            process.send_signal(signal.SIGINT)
            # The stream's last chunk, not a cut connection (httpx would raise).
            assert await stream.next() is None


# ---------------------------------------------------------------- one process's listener


async def _new_user(conn: asyncpg.Connection) -> uuid.UUID:
    user_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id", new_email()
    )
    return user_id


async def _push_one(conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
    """A new device's first calculation, as `POST /sync/push` applies it."""
    op = {
        "seq": 1,
        "op_id": str(uuid.uuid4()),
        "kind": "create",
        "created_at": stamp(datetime.now(UTC)),
        "data": {"expression": "1+1", "result": "2"},
    }
    await push_ops.push(conn, user_id, uuid.uuid4(), [parse_op(op)])


@contextlib.asynccontextmanager
async def listening(database_url: str) -> AsyncIterator[tuple[Hub, Listener]]:
    hub = Hub(per_account=5, per_process=100, metrics=Metrics())
    listener = Listener(hub, database_url)
    task = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(10):
            await listener.connected.wait()
        yield hub, listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _poked(stream: Stream) -> int:
    async with asyncio.timeout(10):
        await stream.wake.wait()
    stream.wake.clear()
    return stream.version


async def test_a_push_that_rolls_back_pokes_nobody(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        async with listening(database_url) as (hub, _):
            quiet = hub.open(await _new_user(conn), uuid.uuid4())
            heard = hub.open(await _new_user(conn), uuid.uuid4())
            transaction = conn.transaction()
            await transaction.start()
            await _push_one(conn, quiet.user_id)
            await transaction.rollback()
            async with conn.transaction():
                await _push_one(conn, heard.user_id)
            # Notifications arrive in commit order: once this one is in, a rolled-back
            # push's would have been too.
            assert await _poked(heard) == 1
            assert not quiet.pending and quiet.version == -1
    finally:
        await conn.close()


async def test_the_listener_reconnects_and_no_push_goes_unheard(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        user_id = await _new_user(conn)
        async with listening(database_url) as (hub, listener):
            stream = hub.open(user_id, uuid.uuid4())
            # What a database restart does to the listening connection.
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", listener.pid)
            async with conn.transaction():
                await _push_one(conn, user_id)
            # Heard live or, if it came while the listener was away, on its return.
            assert await _poked(stream) == 1
            async with conn.transaction():  # and the listener is back: heard live
                await _push_one(conn, user_id)
            assert await _poked(stream) == 2
    finally:
        await conn.close()


async def test_the_session_check_leaves_streams_opened_while_it_ran(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        streams = Hub(per_account=5, per_process=100, metrics=Metrics())
        gone = streams.open(uuid.uuid4(), uuid.uuid4())  # a session the database never had
        check = asyncio.create_task(end_stale_streams(streams, engine))
        await asyncio.sleep(0)  # the check took its list of sessions and awaits the database
        newer = streams.open(uuid.uuid4(), uuid.uuid4())
        assert await check == 1
        assert gone.closed and not newer.closed
    finally:
        await engine.dispose()


async def test_a_new_servers_first_pushes_at_once_never_wait_on_its_own_pool(
    database_url: str, mail_env: dict[str, str]
) -> None:
    """Each first push of a process makes sure of its month's partition on a connection of its
    own: with the request's connection still held, as many such pushes as the pool has
    connections would each wait for a second one, and the pool for them (30 s, then 500s)."""
    env = calcapp_env(DATABASE_URL=database_url, CALCAPP_DB_POOL_SIZE="1", **mail_env)
    with running_server(env) as (base_url, _):
        async with contextlib.AsyncExitStack() as stack:
            apis = [
                await stack.enter_async_context(premium_client(base_url, database_url, e))
                for e in [new_email() for _ in range(6)]
            ]
            devices = [Device(api) for api in apis]
            async with asyncio.timeout(20):
                answers = await asyncio.gather(
                    *(device.push([device.create("1+1")]) for device in devices)
                )
    assert [statuses(answer) for answer in answers] == [["applied"]] * 6
