"""What keeps the hub's streams true: the pokes of every process's pushes, and sessions ending.

One connection per process LISTENs on `sync.push.CHANNEL`; a push sends its NOTIFY in its own
transaction, so PostgreSQL delivers it to every listening process on commit, and never for a
push that rolled back. When the connection is lost (a database restart), it reconnects with a
growing pause, and then pokes every open stream with its account's version: a client that
missed a notification while the connection was down finds out and pulls.

Every few seconds, one query finds which of the streams' sessions still hold (not signed out,
expired, ended by a password change or an account deletion, and the account still premium):
the others' streams close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import FrameType
from typing import Any

import asyncpg
from litestar import Litestar
from sqlalchemy import ARRAY, Uuid, any_, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.models import User, UserSession
from backend.accounts.sessions import IDLE
from backend.db.server import DatabaseError, connect
from backend.entitlements.models import Subscription
from backend.entitlements.premium import premium_condition
from backend.live.hub import Hub
from backend.settings import Settings
from sync.push import CHANNEL

CHECK_SECONDS = 10.0
"""How often an idle listening connection is checked (a lost one may not say so)."""
SWEEP_SECONDS = 2.0
"""How often the streams' sessions are checked: a stream ends this long after its session."""
MAX_PAUSE_SECONDS = 5.0
logger = logging.getLogger(__name__)

VERSIONS = "SELECT user_id, version FROM sync_user WHERE user_id = ANY($1::uuid[])"
LIVE_SESSIONS = (
    select(UserSession.id)
    .join(User, User.id == UserSession.user_id)
    .where(
        UserSession.id == any_(bindparam("ids", type_=ARRAY(Uuid()))),
        UserSession.expires_at > func.now(),
        UserSession.last_used_at > func.now() - IDLE,
        User.deleted_at.is_(None),
        exists().where(Subscription.user_id == User.id, premium_condition()),
    )
)


def parse(payload: str) -> tuple[uuid.UUID, int] | None:
    """`<user id> <version>`, as `sync.push` sends it."""
    user, _, version = payload.partition(" ")
    try:
        return uuid.UUID(user), int(version)
    except ValueError:
        return None


class Listener:
    def __init__(self, hub: Hub, database_url: str) -> None:
        self.hub = hub
        self.database_url = database_url
        self.connected = asyncio.Event()
        """Set while the connection listens."""
        self.pid: int | None = None
        """The listening connection's server process."""

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        heard = parse(payload)
        if heard is not None:
            self.hub.poke(*heard)

    async def run(self) -> None:
        pause = 0.2
        while True:
            try:
                await self._listen()
                pause = 0.2
            except (
                OSError,
                TimeoutError,
                DatabaseError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
            ) as exc:
                logger.warning("live sync: listening connection lost, reconnecting: %s", exc)
            self.connected.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)

    async def _listen(self) -> None:
        conn = await connect(self.database_url)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._heard)
            self.pid = conn.get_server_pid()
            self.connected.set()
            await self._catch_up(conn)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=CHECK_SECONDS)
            raise OSError("the database closed the connection")
        finally:
            conn.terminate()

    async def _catch_up(self, conn: asyncpg.Connection) -> None:
        """Poke every open stream with its account's version (what was missed while down)."""
        users = self.hub.users()
        if users:
            for row in await conn.fetch(VERSIONS, users):
                self.hub.poke(row["user_id"], row["version"])


async def end_stale_streams(hub: Hub, engine: AsyncEngine) -> int:
    """Close the streams whose session no longer holds; returns how many."""
    ids = hub.sessions()
    if not ids:
        return 0
    async with engine.connect() as conn:
        live = (await conn.execute(LIVE_SESSIONS, {"ids": list(ids)})).scalars().all()
    # Only the sessions checked: streams opened meanwhile are checked next time.
    return hub.end_sessions(ids.difference(live))


async def sweep(hub: Hub, engine: AsyncEngine, every: float = SWEEP_SECONDS) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await end_stale_streams(hub, engine)
        except Exception as exc:  # the database is down: the streams stay until it is back
            logger.debug("live sync: sessions not checked: %s", exc)


@contextlib.contextmanager
def streams_closed_on_stop_signals(hub: Hub) -> Iterator[None]:
    """The ASGI server waits for open answers to finish before it stops the app, and streams
    never finish by themselves: on its stop signals (SIGINT, SIGTERM; its own handlers still
    run after) they end cleanly at once, and their clients reconnect elsewhere. Without this,
    they would be cut when the server's grace period ends. The handlers are put back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def close_all() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(hub.close_all)

    chained: dict[signal.Signals, tuple[Any, Any]] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if callable(handler):

            def on_signal(number: int, frame: FrameType | None, handler: Any = handler) -> None:
                close_all()
                handler(number, frame)

            signal.signal(signum, on_signal)
            chained[signum] = (handler, on_signal)
    try:
        yield
    finally:
        for signum, (handler, ours) in chained.items():
            if signal.getsignal(signum) is ours:
                signal.signal(signum, handler)


def live_lifespan(
    hub: Hub, settings: Settings
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """The listening connection and the session sweep, for as long as the app runs (after
    the database lifespan); every stream closes when the app stops."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        assert settings.database_url is not None  # the database lifespan checked it
        listener = Listener(hub, settings.database_url)
        app.state.listener = listener
        tasks = [
            asyncio.create_task(listener.run()),
            asyncio.create_task(sweep(hub, app.state.engine)),
        ]
        try:
            with streams_closed_on_stop_signals(hub):
                yield
        finally:
            hub.close_all()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan
