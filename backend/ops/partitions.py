"""Monthly partitions of `calculation_history`: create ahead, list, archive old ones, restore.

An archive is two files in one folder: `calculation_history_YYYY_MM.csv.gz`, the partition's
rows as PostgreSQL's own CSV (with a header line, ordered by `created_at, id`, timestamps in
UTC), and `calculation_history_YYYY_MM.json`, its manifest (range, row count, sha256 of the
uncompressed CSV, columns, Alembic revision). A partition is dropped only once its archive has
been read back from disk and matches, and its row count, re-checked while it is locked, still
equals what was exported. A restore checks the file against its manifest before it touches
the database and loads the rows in one transaction.

The functions take a SQLAlchemy `AsyncConnection` with no transaction open and run their own
transactions; COPY goes through the underlying asyncpg connection. The files themselves are
backend/ops/archive_files.py. Over 400 lines on purpose: the catalog, archive and restore share
the lock, transaction and partition helpers at the end, which no other module needs.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.ops.archive_files import (
    ARCHIVE_SUFFIX,
    MANIFEST_FORMAT,
    MANIFEST_SUFFIX,
    PARENT,
    ArchiveFiles,
    HashingSource,
    Manifest,
    PartitionError,
    read_archive,
    verify_archive,
)
from backend.ops.errors import reason
from backend.ops.stats import human_bytes, text_table
from sync.partitions import ensure_partitions, month_start

LOCK_TIMEOUT = "10s"
"""How long archive and restore wait for a table lock before giving up (the app keeps going)."""
ADVISORY_KEY = "calcapp: calculation_history archive/restore"
"""One archive or restore at a time (a session-level advisory lock on this key's hash)."""


@dataclass(frozen=True)
class Partition:
    schema: str
    name: str
    range_from: datetime | None
    """Inclusive lower bound, None for MINVALUE (or a DEFAULT partition)."""
    range_to: datetime | None
    """Exclusive upper bound, None for MAXVALUE (or a DEFAULT partition)."""
    rows: int | None = None
    total_bytes: int | None = None

    @property
    def qualified(self) -> str:
        return f"{_ident(self.schema)}.{_ident(self.name)}"


@dataclass(frozen=True)
class EnsureReport:
    created: list[str]
    present: list[str]


@dataclass(frozen=True)
class Archived:
    partition: str
    range_from: datetime
    range_to: datetime
    rows: int
    sha256: str
    file: Path
    manifest: Path
    file_bytes: int


@dataclass(frozen=True)
class Restored:
    partition: str
    rows: int
    sha256: str
    file: Path
    created: bool
    """True when the partition was created; False when it existed, empty."""


# ---------------------------------------------------------------------------------------------
# ensure, list


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1)


async def ensure(
    conn: AsyncConnection, months_ahead: int = 3, *, now: datetime | None = None
) -> EnsureReport:
    """Create the partitions missing from the current month (UTC) to `months_ahead` later."""
    if months_ahead < 0:
        raise PartitionError("--months-ahead must be 0 or more")
    first = month_start(now or datetime.now(UTC))
    months = [add_months(first, i) for i in range(months_ahead + 1)]
    async with conn.begin():
        before = {p.name for p in await _partitions(conn)}
        await ensure_partitions(conn, months)
        after = await _partitions(conn)
    wanted = [p.name for p in after if p.range_from in months]
    return EnsureReport(
        created=[n for n in wanted if n not in before], present=[n for n in wanted if n in before]
    )


async def list_partitions(conn: AsyncConnection) -> list[Partition]:
    """Every partition, in month order, with its exact row count and total size."""
    async with _transaction(conn, read_only=True) as db:
        found = []
        for p in await _partitions(conn):
            rows = await db.fetchval(f"SELECT count(*) FROM {p.qualified}")  # noqa: S608
            size = await db.fetchval("SELECT pg_total_relation_size($1::regclass)", p.qualified)
            found.append(
                Partition(p.schema, p.name, p.range_from, p.range_to, int(rows), int(size))
            )
        return found


def render(partitions: list[Partition]) -> str:
    """The partitions as an aligned table, then a total line."""
    table = text_table(
        ["partition", "from", "to", "rows", "size"],
        [
            [
                p.name,
                describe_bound(p.range_from, "MINVALUE"),
                describe_bound(p.range_to, "MAXVALUE"),
                p.rows,
                human_bytes(p.total_bytes or 0),
            ]
            for p in partitions
        ],
        right={3, 4},
    )
    rows = sum(p.rows or 0 for p in partitions)
    size = human_bytes(sum(p.total_bytes or 0 for p in partitions))
    return f"{table}\n{len(partitions)} partition(s), {rows} row(s), {size}"


def describe_bound(moment: datetime | None, unbounded: str) -> str:
    """A month boundary as its date (UTC midnight), anything else in full."""
    if moment is None:
        return unbounded
    utc = moment.astimezone(UTC)
    return utc.date().isoformat() if utc == month_start(utc) else utc.isoformat()


# The bounds come from the catalog (never from the names): pg_get_expr renders them as
# FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00'), MINVALUE and
# MAXVALUE unquoted (no match: NULL), or DEFAULT.
PARTITIONS = text(
    r"""
    SELECT n.nspname AS schema, c.relname AS name,
           CAST(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']*)''\)')
                AS timestamptz) AS range_from,
           CAST(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']*)''\)')
                AS timestamptz) AS range_to
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.inhparent = CAST('calculation_history' AS regclass)
    ORDER BY range_from NULLS FIRST, c.relname
    """
)


async def _partitions(conn: AsyncConnection) -> list[Partition]:
    return [
        Partition(r.schema, r.name, r.range_from, r.range_to)
        for r in await conn.execute(PARTITIONS)
    ]


# ---------------------------------------------------------------------------------------------
# archive


def archive_cutoff(older_than_months: int, now: datetime | None = None) -> datetime:
    """Partitions whose range ends on or before this moment are archived."""
    return add_months(month_start(now or datetime.now(UTC)), -older_than_months)


async def archive(
    conn: AsyncConnection,
    older_than_months: int,
    to: Path,
    *,
    now: datetime | None = None,
    on_archived: Callable[[Archived], None] | None = None,
) -> list[Archived]:
    """Export, verify and drop every partition that ends before the cutoff, oldest first.

    Each partition is its own transaction: the first failure stops the run with nothing of
    that partition dropped and no file of it left in `to`; the ones before it stay archived.
    """
    if older_than_months < 1:
        raise PartitionError("--older-than-months must be 1 or more")
    cutoff = archive_cutoff(older_than_months, now)
    folder = _archive_folder(to)
    done: list[Archived] = []
    async with _exclusive(conn):
        async with conn.begin():
            due = [
                p
                for p in await _partitions(conn)
                if p.range_from is not None and p.range_to is not None and p.range_to <= cutoff
            ]
        revision = await _alembic_revision(conn)
        for partition in due:
            archived = await _archive_one(conn, partition, folder, revision)
            done.append(archived)
            if on_archived is not None:
                on_archived(archived)
    return done


def _archive_folder(to: Path) -> Path:
    try:
        to.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PartitionError(f"cannot use {to} as the archive folder: {reason(exc)}") from None
    if not to.is_dir():
        raise PartitionError(f"cannot use {to} as the archive folder: it is not a directory")
    return to


async def _archive_one(
    conn: AsyncConnection, partition: Partition, folder: Path, revision: str | None
) -> Archived:
    assert partition.range_from is not None and partition.range_to is not None
    data_path = folder / f"{partition.name}{ARCHIVE_SUFFIX}"
    manifest_path = folder / f"{partition.name}{MANIFEST_SUFFIX}"
    async with _transaction(conn) as db:
        # Writers of this partition wait until the end (readers do not): what is exported is
        # what is dropped. A second archiver would wait too (the lock conflicts with itself).
        await _lock(db, f"LOCK TABLE {partition.qualified} IN SHARE ROW EXCLUSIVE MODE", partition)
        columns = await _columns(db, partition.qualified)
        files = ArchiveFiles(data_path, manifest_path)
        try:
            writer = files.open_writer()
            assert files.data_temp is not None
            await db.copy_from_query(
                f"SELECT * FROM {partition.qualified} ORDER BY created_at, id",  # noqa: S608
                output=writer.write,
                format="csv",
                header=True,
            )
            written = writer.finish()
            read_back = read_archive(files.data_temp)
            if read_back != written or read_back.header != columns:
                raise PartitionError(
                    f"the archive of {partition.name} did not read back as written "
                    f"({read_back.rows} rows, sha256 {read_back.sha256[:12]}; wrote "
                    f"{written.rows} rows, sha256 {written.sha256[:12]}): nothing was dropped"
                )
            created_at = datetime.now(UTC)
            manifest = {
                "format": MANIFEST_FORMAT,
                "table": PARENT,
                "partition": partition.name,
                "file": data_path.name,
                "range": {
                    "from": partition.range_from.isoformat(),
                    "to": partition.range_to.isoformat(),
                },
                "rows": written.rows,
                "sha256": written.sha256,
                "columns": columns,
                "alembic_revision": revision,
                "created_at": created_at.isoformat(),
            }
            files.write_manifest(manifest)
            still = await db.fetchval(f"SELECT count(*) FROM {partition.qualified}")  # noqa: S608
            if still != written.rows:
                raise PartitionError(
                    f"{partition.name} holds {still} rows but {written.rows} were exported: "
                    "nothing was dropped"
                )
            # Pushes dated in this month are refused from now on (`sync_window_start()`).
            await db.execute(
                """INSERT INTO calculation_history_archive (month, rows, sha256)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (month) DO UPDATE SET rows = EXCLUDED.rows,
                       sha256 = EXCLUDED.sha256, archived_at = now()""",
                partition.range_from,
                written.rows,
                written.sha256,
            )
            await _lock(
                db, f"ALTER TABLE {_ident(PARENT)} DETACH PARTITION {partition.qualified}", None
            )
            await db.execute(f"DROP TABLE {partition.qualified}")
            files.publish()
        except OSError as exc:
            files.discard()
            raise PartitionError(
                f"cannot write the archive of {partition.name} in {folder}: {reason(exc)}; "
                "nothing was dropped"
            ) from None
        except BaseException:
            files.discard()
            raise
    # Committed. Were the commit itself to fail, the files would stay: they are complete and
    # checked, and a partition still there is archived again (same files) by the next run.
    return Archived(
        partition.name,
        partition.range_from,
        partition.range_to,
        written.rows,
        written.sha256,
        data_path,
        manifest_path,
        data_path.stat().st_size,
    )


async def _alembic_revision(conn: AsyncConnection) -> str | None:
    async with conn.begin():
        if (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar() is None:
            return None
        value = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        return None if value is None else str(value)


async def _columns(db: Any, qualified: str) -> list[str]:
    rows = await db.fetch(
        """SELECT attname FROM pg_attribute
           WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
           ORDER BY attnum""",
        qualified,
    )
    return [str(r["attname"]) for r in rows]


# ---------------------------------------------------------------------------------------------
# restore


async def restore(conn: AsyncConnection, file: Path) -> Restored:
    """Load an archive back into its month's partition, in one transaction.

    Refused when the month's partition exists and holds rows (already restored, or written
    since): restoring on top would duplicate or mix data.
    """
    data, manifest = verify_archive(file)
    async with _exclusive(conn), _transaction(conn) as db:
        existing = [
            p
            for p in await _partitions(conn)
            if p.range_from is not None
            and p.range_to is not None
            and p.range_from < manifest.range_to
            and manifest.range_from < p.range_to
        ]
        if existing and (
            len(existing) > 1
            or existing[0].range_from != manifest.range_from
            or existing[0].range_to != manifest.range_to
        ):
            names = ", ".join(p.name for p in existing)
            raise PartitionError(
                f"{data.name} covers {_span(manifest)}, which partition(s) {names} overlap "
                "with other bounds: nothing was restored"
            )
        created = not existing
        name = await db.fetchval(
            "SELECT ensure_calculation_history_partition($1)", manifest.range_from
        )
        target = next(p for p in await _partitions(conn) if p.name == name)
        if (target.range_from, target.range_to) != (manifest.range_from, manifest.range_to):
            raise PartitionError(
                f"partition {target.name} does not have the archive's range {_span(manifest)}: "
                "nothing was restored"
            )
        await _lock(db, f"LOCK TABLE {target.qualified} IN SHARE ROW EXCLUSIVE MODE", target)
        rows = await db.fetchval(f"SELECT count(*) FROM {target.qualified}")  # noqa: S608
        if rows:
            raise PartitionError(
                f"partition {target.name} already holds {rows} rows (restored already, or "
                "written since it was archived): nothing was restored"
            )
        missing = sorted(set(manifest.columns) - set(await _columns(db, target.qualified)))
        if missing:
            raise PartitionError(
                f"{data.name} has columns the table no longer has ({', '.join(missing)}): "
                "nothing was restored"
            )
        await _copy_in(db, target, data, manifest)
        loaded = await db.fetchval(f"SELECT count(*) FROM {target.qualified}")  # noqa: S608
        if loaded != manifest.rows:
            raise PartitionError(
                f"{data.name} loaded {loaded} rows where the manifest says {manifest.rows}: "
                "nothing was restored"
            )
        await db.execute(
            "DELETE FROM calculation_history_archive WHERE month = $1", manifest.range_from
        )
        await db.execute(_refresh_versions(target))
    return Restored(target.name, manifest.rows, manifest.sha256, data, created)


def _refresh_versions(target: Partition) -> str:
    """The restored rows get their accounts' next version, and the accounts a new epoch:
    every device re-reads its synced history from the start and finds them."""
    return f"""
        WITH owners AS (SELECT DISTINCT user_id FROM {target.qualified}),
        bumped AS (
            INSERT INTO sync_user (user_id, version) SELECT user_id, 1 FROM owners
            ON CONFLICT (user_id) DO UPDATE SET version = sync_user.version + 1,
                epoch = sync_new_epoch(), updated_at = now()
            RETURNING user_id, version)
        UPDATE {target.qualified} AS h SET version = b.version
        FROM bumped AS b WHERE h.user_id = b.user_id
    """  # noqa: S608


async def _copy_in(db: Any, target: Partition, data: Path, manifest: Manifest) -> None:
    """COPY into the partition itself: PostgreSQL refuses rows outside its range."""
    sha = hashlib.sha256()
    with data.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
        try:
            await db.copy_to_table(
                target.name,
                schema_name=target.schema,
                source=HashingSource(unzipped, sha),
                columns=manifest.columns,
                format="csv",
                header=True,
            )
        except asyncpg.CheckViolationError as exc:
            if "partition constraint" not in str(exc):
                raise PartitionError(
                    f"{data.name} has rows the table's checks refuse ({reason(exc)}): "
                    "nothing was restored"
                ) from None
            raise PartitionError(
                f"{data.name} has rows outside {target.name}'s range {_span(manifest)}: "
                "nothing was restored"
            ) from None
        except asyncpg.ForeignKeyViolationError as exc:
            raise PartitionError(
                f"{data.name} has rows of accounts that no longer exist "
                f"({reason(exc)}): nothing was restored"
            ) from None
        except asyncpg.PostgresError as exc:
            raise PartitionError(
                f"{data.name} cannot be loaded ({reason(exc)}): nothing was restored"
            ) from None
        except (OSError, EOFError, zlib.error) as exc:
            raise PartitionError(
                f"{data.name} became unreadable while loading ({reason(exc)}): nothing was restored"
            ) from None
    # What was loaded is what was checked (the file did not change in between).
    if sha.hexdigest() != manifest.sha256:
        raise PartitionError(
            f"{data.name} changed while it was loaded (sha256 {sha.hexdigest()[:12]}…): "
            "nothing was restored"
        )


# ---------------------------------------------------------------------------------------------
# plumbing


@asynccontextmanager
async def _transaction(conn: AsyncConnection, *, read_only: bool = False) -> AsyncIterator[Any]:
    """A transaction on `conn`; yields the asyncpg connection (for COPY) inside it.

    SQLAlchemy's asyncpg dialect sends BEGIN with the first statement: the SET LOCAL does
    that, so that what runs on the asyncpg connection afterwards is inside the transaction.
    """
    async with conn.begin():
        if read_only:
            await conn.execute(text("SET TRANSACTION READ ONLY"))
        await conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
        await conn.execute(text("SET LOCAL DateStyle = 'ISO, YMD'"))
        await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        raw = await conn.get_raw_connection()
        yield raw.driver_connection


@asynccontextmanager
async def _exclusive(conn: AsyncConnection) -> AsyncIterator[None]:
    """One archive or restore at a time, across processes."""
    async with conn.begin():
        got = (
            await conn.execute(
                text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": ADVISORY_KEY}
            )
        ).scalar()
    if not got:
        raise PartitionError("another partition archive or restore is running; try again later")
    try:
        yield
    finally:
        if not conn.closed and not conn.invalidated:
            if conn.in_transaction():
                await conn.rollback()
            async with conn.begin():
                await conn.execute(
                    text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": ADVISORY_KEY}
                )


async def _lock(db: Any, statement: str, table: Partition | None) -> None:
    """Run a statement that takes a table lock, giving up after LOCK_TIMEOUT."""
    try:
        await db.execute(statement)
    except asyncpg.LockNotAvailableError:
        busy = PARENT if table is None else table.name
        raise PartitionError(
            f"{busy} stayed in use for {LOCK_TIMEOUT}, too long to lock it: "
            "nothing was changed; try again later"
        ) from None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _span(manifest: Manifest) -> str:
    return f"[{manifest.range_from.isoformat()}, {manifest.range_to.isoformat()})"
