"""`GET /api/v1/health`: is the app up, and can it reach its database? (liveness)

`GET /api/v1/ready`: can it serve, that is, does the database answer and is its schema at the
migration scripts' head? (readiness: a deploy sends traffic only once this is 200)
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import msgspec
from litestar import get
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.web.deps import Provided
from backend.web.errors import DatabaseUnavailableError, ServiceUnavailableError
from backend.web.openapi import failures

HEALTH_TIMEOUT_SECONDS = 3.0


class DatabaseHealth(msgspec.Struct, frozen=True):
    """No version: strangers learn nothing of the stack from it (`calcapp db stats` says)."""

    status: Literal["ok"]
    latency_ms: float


class Health(msgspec.Struct, frozen=True):
    status: Literal["ok"]
    database: DatabaseHealth


async def database_health(engine: AsyncEngine) -> DatabaseHealth:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise DatabaseUnavailableError(
            "The database is unreachable", headers={"Retry-After": "5"}
        ) from exc
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return DatabaseHealth(status="ok", latency_ms=latency_ms)


class DatabaseProbe:
    """The database's state for liveness, checked at most once every `FRESH_SECONDS`: a
    burst of probes (load balancers, monitors) shares one round trip, and the answer is at
    most that old."""

    FRESH_SECONDS = 1.0

    def __init__(self) -> None:
        self._checked = -self.FRESH_SECONDS
        self._outcome: DatabaseHealth | DatabaseUnavailableError | None = None
        self._answer: bytes | None = None
        self._lock = asyncio.Lock()

    def fresh_answer(self) -> bytes | None:
        """The `/health` body while a check that found the database up is fresh, else None
        (then the route checks, and answers 503 if it must): the edge layer answers with it
        without routing (backend/web/edge.py)."""
        if time.monotonic() - self._checked < self.FRESH_SECONDS:
            return self._answer
        return None

    async def state(self, engine: AsyncEngine) -> DatabaseHealth:
        if time.monotonic() - self._checked >= self.FRESH_SECONDS:
            async with self._lock:  # the first caller checks; the others wait for its answer
                if time.monotonic() - self._checked >= self.FRESH_SECONDS:
                    try:
                        self._outcome = await database_health(engine)
                        self._answer = msgspec.json.encode(
                            Health(status="ok", database=self._outcome)
                        )
                    except DatabaseUnavailableError as exc:
                        self._outcome, self._answer = exc, None
                    self._checked = time.monotonic()
        if isinstance(self._outcome, DatabaseUnavailableError):
            raise DatabaseUnavailableError(self._outcome.detail, headers=self._outcome.headers)
        assert self._outcome is not None
        return self._outcome


@get(
    "/health",
    summary="Liveness and database reachability",
    description=(
        "200 with the database's state (checked at most once a second); 503 "
        "`database_unavailable` when it is unreachable."
    ),
    tags=["operations"],
    responses=failures(),
    cache_control=None,
)
async def health(engine: Provided[AsyncEngine], probe: Provided[DatabaseProbe]) -> Health:
    return Health(status="ok", database=await probe.state(engine))


class MigrationsPendingError(ServiceUnavailableError):
    code = "migrations_pending"
    doc = "the schema is not at the code's head"


class Ready(msgspec.Struct, frozen=True):
    status: Literal["ready"]
    revision: str


async def schema_revisions(engine: AsyncEngine) -> set[str]:
    """The database's Alembic revisions (none on an empty database)."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), engine.connect() as conn:
            exists = (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar()
            if exists is None:
                return set()
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return {str(row) for row in rows.scalars()}
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise DatabaseUnavailableError(
            "The database is unreachable", headers={"Retry-After": "5"}
        ) from exc


@get(
    "/ready",
    summary="Readiness: the database answers and its schema is up to date",
    description=(
        "200 when the database answers and is migrated to the code's head revision; 503 "
        "`database_unavailable` or `migrations_pending` otherwise."
    ),
    tags=["operations"],
    responses=failures(MigrationsPendingError),
    cache_control=None,
)
async def ready(engine: Provided[AsyncEngine], migration_head: Provided[str]) -> Ready:
    """`migration_head`: the scripts' head revision, computed once by `create_app`."""
    revisions = await schema_revisions(engine)
    if revisions != {migration_head}:
        current = ", ".join(sorted(revisions)) or "none"
        raise MigrationsPendingError(
            f"The database schema is at revision {current}; this code expects {migration_head} "
            "(calcapp db upgrade)"
        )
    return Ready(status="ready", revision=migration_head)
