"""Partitions made ahead of need inside the server: before it serves, then every few hours.

One process at a time does the work (an advisory lock; the others skip that round), so any
number of `calcapp serve` processes can run this. A failure (the database is down) is logged
and retried a minute later; pushes never depend on it (`sync.partitions.Partitions` makes a
missing month's partition before a push).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from sync.partitions import upkeep

EVERY_SECONDS = 6 * 3600.0
RETRY_SECONDS = 60.0
logger = logging.getLogger(__name__)


async def upkeep_once(engine: AsyncEngine) -> bool:
    """One round; False (logged) when it failed."""
    try:
        made = await upkeep(engine)
    except Exception as exc:
        logger.warning("partition upkeep failed, retrying in %.0f s: %s", RETRY_SECONDS, exc)
        return False
    logger.debug("partition upkeep: %s", ", ".join(made) or "another process did it")
    return True


async def keep_partitions(engine: AsyncEngine, ok: bool, every: float = EVERY_SECONDS) -> None:
    """The later rounds: `every` seconds after a round that worked, a minute after one that
    did not."""
    while True:
        await asyncio.sleep(every if ok else RETRY_SECONDS)
        ok = await upkeep_once(engine)


def partition_upkeep_lifespan() -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A round before the app serves (after the database lifespan), then `keep_partitions`
    for as long as the app runs."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = app.state.engine
        task = asyncio.create_task(keep_partitions(engine, await upkeep_once(engine)))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
