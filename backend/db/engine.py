"""Database plumbing: the engine, the per-request session, and the naming convention."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from backend.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CONNECT_TIMEOUT_SECONDS = 5


class Base(DeclarativeBase):
    """Declarative base of the backend's ORM models (the schema itself comes from Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        # No overflow: a connection opened beyond the pool is closed again on its return, and
        # under load that is a new PostgreSQL backend (a fork, and every statement prepared
        # and planned again) for most requests; waiting for a pooled one is far cheaper
        # (measured: PostgreSQL's CPU per GET /me fell from 1.0 to 0.14 ms at 64 clients).
        max_overflow=0,
        # No ping before each checkout (a round trip, and a transaction, every request): a
        # connection that died meanwhile fails its statement, which answers 503 and drops it
        # from the pool (backend/web/errors.py), and the client retries.
        pool_pre_ping=False,
        # Errors and logs name the SQL but not its values (password hashes, tokens, emails).
        hide_parameters=True,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "server_settings": {
                # Short queries only: compiling them to machine code costs more than it saves.
                "jit": "off",
                # Each prepared statement planned once per connection: over two years of
                # monthly partitions, a custom plan costs more to make than to run, and the
                # queries are written for their generic plans (sync/history.py, sync/pull.py).
                "plan_cache_mode": "force_generic_plan",
            },
        },
    )


def database_lifespan(
    settings: Settings,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Open the engine when the app starts and dispose of it when the app stops."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.database_url is None:
            raise RuntimeError("create_app needs settings.database_url (calcapp resolves it)")
        engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        app.state.engine = engine
        app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        # Reads (GET, HEAD) need no transaction: each statement commits on its own, which
        # saves the BEGIN and the COMMIT (two round trips) of every read.
        app.state.read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        app.state.read_sessionmaker = async_sessionmaker(
            app.state.read_engine, expire_on_commit=False
        )
        try:
            yield
        finally:
            await engine.dispose()

    return lifespan


READS = frozenset({"GET", "HEAD"})


async def provide_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler succeeds, rolled back otherwise;
    for reads, one without a transaction (a handler that reads must not depend on one)."""
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.read_sessionmaker if request.method in READS else state.sessionmaker
    )
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


def provide_engine(state: State) -> AsyncEngine:
    engine: AsyncEngine = state.engine
    return engine
