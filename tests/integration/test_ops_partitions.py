"""`calcapp partitions ...` through the real command against a real PostgreSQL.

Every test that archives works in a database of its own: archiving drops partitions.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import resource
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from backend.db import migrations as migrate
from backend.db.server import connect
from backend.ops.partitions import add_months
from sync.partitions import month_start
from testkit.support import (
    CALCAPP,
    assert_one_line_error,
    calcapp_env,
    migrated_database,
    run_async,
    run_calcapp,
)

pytestmark = pytest.mark.db

# Read when the module is collected: the months stay the same for the whole run, also when
# it crosses midnight at a month's end (OLD and OLDER_NEXT are archived either way, and the
# tests insert rows of LAST_MONTH and THIS_MONTH into partitions they make).
THIS_MONTH = month_start(datetime.now(UTC))
OLD = add_months(THIS_MONTH, -36)  # three years ago: archived with --older-than-months 24
OLDER_NEXT = add_months(THIS_MONTH, -35)
LAST_MONTH = add_months(THIS_MONTH, -1)  # recent: kept


def name(month: datetime) -> str:
    return f"calculation_history_{month:%Y_%m}"


@pytest.fixture
def new_db(make_database: Callable[[], str]) -> str:
    return migrated_database(make_database)


async def _insert(url: str, counts: dict[datetime, int], *, payload: int = 0) -> None:
    """`counts[month]` rows in each month, with awkward values in every column."""
    conn = await connect(url)
    try:
        user = await conn.fetchval(
            "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id",
            f"u-{uuid.uuid4().hex[:8]}@example.com",
            "$2b$12$" + "x" * 53,
        )
        device = uuid.uuid4()
        seq = 0
        for month, count in counts.items():
            await conn.execute("SELECT ensure_calculation_history_partition($1)", month)
            for i in range(count):
                seq += 1
                synced = i % 2 == 0
                expression = f'{i} + "quoted", comma\nnewline ünïcode ×÷'
                if payload:
                    expression = "".join(uuid.uuid4().hex for _ in range(payload // 32))
                await conn.execute(
                    """INSERT INTO calculation_history
                           (user_id, expression, result, metadata, created_at, device_id, seq,
                            op_id, version, received_at, deleted_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
                    user,
                    expression,
                    "" if i == 1 else str(i * 2),
                    None if i == 2 else json.dumps({"mode": "exact", "i": i, "s": 'a"b,c'}),
                    month + timedelta(days=i % 27, hours=i % 24, microseconds=123456 + i),
                    device if synced else None,
                    seq if synced else None,
                    uuid.uuid4() if synced else None,
                    i,
                    month + timedelta(days=27),
                    month + timedelta(days=28) if i == 3 else None,
                )
    finally:
        await conn.close()


def insert(url: str, counts: dict[datetime, int], *, payload: int = 0) -> None:
    run_async(_insert(url, counts, payload=payload))


async def _rows(url: str, month: datetime) -> list[tuple[object, ...]]:
    conn = await connect(url)
    try:
        records = await conn.fetch(
            "SELECT * FROM calculation_history WHERE created_at >= $1 AND created_at < $2"
            " ORDER BY id",
            month,
            add_months(month, 1),
        )
        return [tuple(r.items()) for r in records]
    finally:
        await conn.close()


def rows(url: str, month: datetime) -> list[tuple[object, ...]]:
    return run_async(_rows(url, month))


async def _partitions(url: str) -> dict[str, int]:
    conn = await connect(url)
    try:
        names = await conn.fetch(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'calculation_history'::regclass ORDER BY 1"""
        )
        return {
            r[0]: await conn.fetchval(f'SELECT count(*) FROM "{r[0]}"')  # row counts
            for r in names
        }
    finally:
        await conn.close()


def partitions(url: str) -> dict[str, int]:
    return run_async(_partitions(url))


def calcapp(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_calcapp(*args, env=calcapp_env(DATABASE_URL=url))


def archive(url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return calcapp(url, "partitions", "archive", "--older-than-months", "24", "--to", str(folder))


def test_ensure_creates_the_missing_months_once(new_db: str) -> None:
    # The migration made the month it ran in and three ahead; months four and five are new.
    migrated = month_start(cast("datetime", run_async(_scalar(new_db, "SELECT now()"))))
    first = calcapp(new_db, "partitions", "ensure", "--months-ahead", "5")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"created {name(add_months(migrated, 4))}",
        f"created {name(add_months(migrated, 5))}",
        "partitions: 2 created, 4 already present (this month and 5 ahead)",
    ]
    again = calcapp(new_db, "partitions", "ensure", "--months-ahead", "5")
    assert again.stdout.splitlines() == [
        "partitions: 0 created, 6 already present (this month and 5 ahead)"
    ]


def test_archive_round_trip(new_db: str, tmp_path: Path) -> None:
    insert(new_db, {OLD: 5, OLDER_NEXT: 3, LAST_MONTH: 2, THIS_MONTH: 1})
    before = {OLD: rows(new_db, OLD), OLDER_NEXT: rows(new_db, OLDER_NEXT)}
    folder = tmp_path / "archives"

    result = archive(new_db, folder)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"archived {name(OLD)} ({OLD:%Y-%m-%d} to {OLDER_NEXT:%Y-%m-%d}): 5 rows, sha256 "
    )
    assert lines[0].endswith("; partition dropped")
    assert lines[1].startswith(f"archived {name(OLDER_NEXT)} (")
    assert lines[2] == f"2 partition(s) archived to {folder}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{name(m)}{suffix}" for m in (OLD, OLDER_NEXT) for suffix in (".csv.gz", ".json")
    )
    left = partitions(new_db)
    assert name(OLD) not in left and name(OLDER_NEXT) not in left
    assert left[name(LAST_MONTH)] == 2 and left[name(THIS_MONTH)] == 1

    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}  # personal data
    manifest = json.loads((folder / f"{name(OLD)}.json").read_text())
    data = gzip.decompress((folder / f"{name(OLD)}.csv.gz").read_bytes())
    assert manifest["rows"] == 5
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["range"] == {"from": OLD.isoformat(), "to": OLDER_NEXT.isoformat()}
    assert manifest["alembic_revision"] == migrate.head_revision()
    assert manifest["columns"][:3] == ["id", "user_id", "expression"]
    assert data.decode().startswith(",".join(manifest["columns"]) + "\n")

    listing = calcapp(new_db, "partitions", "list")
    assert listing.returncode == 0, listing.stderr
    table = listing.stdout.splitlines()
    assert table[0].split() == ["partition", "from", "to", "rows", "size"]
    assert table[1].split()[:4] == [
        name(LAST_MONTH),
        f"{LAST_MONTH:%Y-%m-%d}",
        f"{THIS_MONTH:%Y-%m-%d}",
        "2",
    ]
    assert table[2].split()[:4] == [
        name(THIS_MONTH),
        f"{THIS_MONTH:%Y-%m-%d}",
        f"{add_months(THIS_MONTH, 1):%Y-%m-%d}",
        "1",
    ]
    assert table[-1].startswith(f"{len(left)} partition(s), 3 row(s), ")
    assert "Traceback" not in listing.stderr

    # Nothing is old any more: a second run changes nothing, files included.
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = archive(new_db, folder)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to archive: no partition ends on or before ")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files

    # Restore brings the month back with every column identical, by the archive or manifest,
    # but the version: the rows get their account's next one (devices must pull them again).
    restored = calcapp(new_db, "partitions", "restore", str(folder / f"{name(OLD)}.csv.gz"))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"restored {name(OLD)}: 5 rows from ")
    assert unversioned(rows(new_db, OLD)) == unversioned(before[OLD])
    assert versions(new_db, OLD) == {account_version(new_db)}
    by_manifest = calcapp(new_db, "partitions", "restore", str(folder / f"{name(OLDER_NEXT)}.json"))
    assert by_manifest.returncode == 0, by_manifest.stderr
    assert unversioned(rows(new_db, OLDER_NEXT)) == unversioned(before[OLDER_NEXT])
    assert versions(new_db, OLDER_NEXT) == {account_version(new_db)} != versions(new_db, OLD)

    # Restoring a month again is refused: it would duplicate the rows.
    restored_rows = rows(new_db, OLD)
    assert_one_line_error(
        calcapp(new_db, "partitions", "restore", str(folder / f"{name(OLD)}.csv.gz")),
        f"partition {name(OLD)} already holds 5 rows",
    )
    assert rows(new_db, OLD) == restored_rows


def columns(row: tuple[object, ...]) -> dict[str, object]:
    return {str(name): value for name, value in cast("tuple[tuple[str, object], ...]", row)}


def unversioned(found: list[tuple[object, ...]]) -> list[dict[str, object]]:
    return [{k: v for k, v in columns(row).items() if k != "version"} for row in found]


def versions(url: str, month: datetime) -> set[object]:
    return {columns(row)["version"] for row in rows(url, month)}


def account_version(url: str) -> object:
    """The sync version of the (one) account with rows in the database."""
    return run_async(_scalar(url, "SELECT version FROM sync_user"))


async def _scalar(url: str, query: str) -> object:
    conn = await connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def test_archive_into_a_folder_that_is_a_file_drops_nothing(new_db: str, tmp_path: Path) -> None:
    """Tests run as root, whom no permission bit stops: the folder is an existing regular file
    instead, which fails for everyone (ENOTDIR/EEXIST)."""
    insert(new_db, {OLD: 3})
    blocker = tmp_path / "archives"
    blocker.write_bytes(b"not a folder")
    before = partitions(new_db)

    result = archive(new_db, blocker)

    assert_one_line_error(result, f"cannot use {blocker} as the archive folder")
    assert partitions(new_db) == before
    assert [p.name for p in tmp_path.iterdir()] == ["archives"]
    assert blocker.read_bytes() == b"not a folder"


def test_archive_that_cannot_be_written_in_full_drops_nothing(new_db: str, tmp_path: Path) -> None:
    """A full disk, simulated for root: a 16 KiB file-size limit (RLIMIT_FSIZE binds root too;
    Python ignores SIGXFSZ, so the write fails with EFBIG) while the archive is ~60 KiB."""
    insert(new_db, {OLD: 200, OLDER_NEXT: 2}, payload=480)
    before = partitions(new_db)
    folder = tmp_path / "archives"
    folder.mkdir()

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    result = subprocess.run(
        [*CALCAPP, "partitions", "archive", "--older-than-months", "24", "--to", str(folder)],
        env=calcapp_env(DATABASE_URL=new_db),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit_file_size,
    )

    assert_one_line_error(
        result, f"cannot write the archive of {name(OLD)} in {folder}: File too large"
    )
    assert "nothing was dropped" in result.stderr
    assert partitions(new_db) == before
    assert list(folder.iterdir()) == []


@dataclass(frozen=True)
class Archived:
    url: str
    folder: Path


@pytest.fixture(scope="module")
def archived(
    make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Archived:
    """A database whose old months were archived; the tests below only fail to restore them."""
    url = migrated_database(make_database)
    insert(url, {OLD: 4, OLDER_NEXT: 2})
    folder = tmp_path_factory.mktemp("archived")
    result = archive(url, folder)
    assert result.returncode == 0, result.stderr
    return Archived(url, folder)


def copy_archive(archived: Archived, month: datetime, folder: Path) -> tuple[Path, Path]:
    data, manifest = (folder / f"{name(month)}{s}" for s in (".csv.gz", ".json"))
    for path in (data, manifest):
        path.write_bytes((archived.folder / path.name).read_bytes())
    return data, manifest


def test_restore_refuses_a_corrupted_archive(archived: Archived, tmp_path: Path) -> None:
    data, manifest = copy_archive(archived, OLD, tmp_path)
    good = data.read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    data.write_bytes(bytes(flipped))

    assert_one_line_error(
        calcapp(archived.url, "partitions", "restore", str(data)), f"{data} is corrupt"
    )

    # A well-formed gzip whose content differs from what the manifest recorded.
    text = gzip.decompress(good).decode()
    data.write_bytes(gzip.compress(text.replace("exact", "EXACT").encode()))
    assert_one_line_error(
        calcapp(archived.url, "partitions", "restore", str(manifest)),
        "differs from the manifest's",
    )
    assert name(OLD) not in partitions(archived.url)


def test_restore_refuses_rows_outside_the_month(archived: Archived, tmp_path: Path) -> None:
    data, manifest_path = copy_archive(archived, OLD, tmp_path)
    text = gzip.decompress(data.read_bytes()).decode()
    # Move one row to the next month; the manifest is made to match, so only PostgreSQL's
    # partition constraint can catch it.
    header, rest = text.split("\n", 1)
    moved = header + "\n" + rest.replace(f"{OLD:%Y-%m}-01 ", f"{OLDER_NEXT:%Y-%m}-01 ", 1)
    assert moved != text
    data.write_bytes(gzip.compress(moved.encode()))
    manifest = json.loads(manifest_path.read_text())
    manifest["sha256"] = hashlib.sha256(moved.encode()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))

    result = calcapp(archived.url, "partitions", "restore", str(data))

    assert_one_line_error(
        result, f"{data.name} has rows outside {name(OLD)}'s range [{OLD.isoformat()}, "
    )
    assert "nothing was restored" in result.stderr
    assert name(OLD) not in partitions(archived.url)  # not even an empty partition
    assert rows(archived.url, OLDER_NEXT) == []


def test_restore_into_a_month_that_has_rows_is_refused(archived: Archived, tmp_path: Path) -> None:
    data, _ = copy_archive(archived, OLDER_NEXT, tmp_path)
    insert(archived.url, {OLDER_NEXT: 1})  # synced since: the partition is back, with a row

    assert_one_line_error(
        calcapp(archived.url, "partitions", "restore", str(data)),
        f"partition {name(OLDER_NEXT)} already holds 1 rows",
    )
    assert partitions(archived.url)[name(OLDER_NEXT)] == 1


def test_restore_needs_the_manifest(archived: Archived, tmp_path: Path) -> None:
    data, manifest = copy_archive(archived, OLD, tmp_path)
    manifest.unlink()
    assert_one_line_error(
        calcapp(archived.url, "partitions", "restore", str(data)),
        f"the manifest {manifest} is missing",
    )
