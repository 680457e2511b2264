"""`calcapp db backup`, `calcapp db restore` and `calcapp db stats` through the real command."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from backend.db.server import connect
from backend.ops.partitions import add_months
from sync.partitions import month_start
from testkit.support import (
    assert_one_line_error,
    calcapp_env,
    migrated_database,
    run_async,
    run_calcapp,
)

pytestmark = pytest.mark.db

# Read when the module is collected, and given partitions where rows go: a run that crosses
# midnight at a month's end keeps using the same months.
THIS_MONTH = month_start(datetime.now(UTC))
OLD_MONTH = add_months(THIS_MONTH, -30)


def calcapp(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_calcapp(*args, env=calcapp_env(DATABASE_URL=url))


async def _populate(url: str) -> None:
    """At least one row in every table of the schema (two partitions of the history)."""
    conn = await connect(url)
    try:
        user = await conn.fetchval(
            """INSERT INTO users (email, password_hash, display_name, email_verified)
               VALUES ('Ada@Example.com', $1, 'Ada ✓', true) RETURNING id""",
            "$2b$12$" + "x" * 53,
        )
        subscription = await conn.fetchval(
            """INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id,
                   price_per_month, current_period_start, current_period_end)
               VALUES ($1, 'cus_1', 'sub_1', 5.00, now(), now() + interval '1 month')
               RETURNING id""",
            user,
        )
        await conn.execute(
            """INSERT INTO payment_history (subscription_id, stripe_payment_intent_id, amount,
                   status, metadata)
               VALUES ($1, 'pi_1', 5.00, 'succeeded', '{"invoice": "in_1"}')""",
            subscription,
        )
        device = uuid.uuid4()
        for month in (OLD_MONTH, THIS_MONTH):
            await conn.execute("SELECT ensure_calculation_history_partition($1)", month)
        for seq, created in enumerate((OLD_MONTH, THIS_MONTH, THIS_MONTH), start=1):
            await conn.execute(
                """INSERT INTO calculation_history (user_id, expression, result, metadata,
                       created_at, device_id, seq, op_id, version)
                   VALUES ($1, $2, $3, '{"mode": "exact"}', $4, $5, $6, gen_random_uuid(), $6)""",
                user,
                f'{seq} × "2", ok',
                str(seq * 2),
                created,
                device,
                seq,
            )
        await conn.execute(
            "INSERT INTO sync_device (device_id, user_id, last_seq) VALUES ($1, $2, 3)",
            device,
            user,
        )
        await conn.execute("INSERT INTO sync_user (user_id, version) VALUES ($1, 3)", user)
        await conn.execute(
            "INSERT INTO sync_op_log (device_id, block, op_ids) VALUES ($1, 0, $2)",
            device,
            bytes(range(48)),
        )
        await conn.execute(
            "INSERT INTO sync_entry (user_id, entry_id) VALUES ($1, gen_random_uuid())", user
        )
        await conn.execute(
            """INSERT INTO calculation_history_archive (month, rows, sha256)
               VALUES ($1, 12, repeat('a', 64))""",
            add_months(OLD_MONTH, -1),
        )
        await conn.execute(
            """INSERT INTO user_sessions (token_hash, user_id, expires_at, user_agent)
               VALUES ('\\x0102', $1, now() + interval '1 day', 'pytest')""",
            user,
        )
        await conn.execute(
            """INSERT INTO email_tokens (token_hash, user_id, purpose, email, expires_at)
               VALUES ('\\x0304', $1, 'verify_email', 'Ada@Example.com', now())""",
            user,
        )
        await conn.execute(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ('login:ip', now(), 3)"
        )
        await conn.execute(
            "INSERT INTO stripe_customers (user_id, stripe_customer_id) VALUES ($1, 'cus_1')", user
        )
        await conn.execute(
            "INSERT INTO stripe_events (event_id, type) VALUES ('evt_1', 'invoice.paid')"
        )
        if await conn.fetchval("SELECT to_regclass('retention_notices') IS NOT NULL"):
            await conn.execute(
                """INSERT INTO retention_notices (user_id, kind, premium_ended_at)
                   VALUES ($1, 'history_deletion', now())""",
                user,
            )
            await conn.execute(
                """INSERT INTO retained_payments (id, stripe_customer_id,
                       stripe_payment_intent_id, amount, currency, status, created_at)
                   VALUES (gen_random_uuid(), 'cus_0', 'pi_0', 5.00, 'usd', 'succeeded', now())"""
            )
    finally:
        await conn.close()


async def _tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
           ORDER BY 1"""
    )
    return [r[0] for r in rows]


async def _snapshot(url: str) -> dict[str, object]:
    """Every table's rows (ordered by all columns), and every sequence's position."""
    conn = await connect(url)
    try:
        contents: dict[str, object] = {}
        for table in await _tables(conn):
            width = await conn.fetchval(
                """SELECT count(*) FROM pg_attribute
                   WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped""",
                f'"{table}"',
            )
            order = ", ".join(str(i) for i in range(1, width + 1))
            records = await conn.fetch(f'SELECT * FROM "{table}" ORDER BY {order}')
            contents[table] = [tuple(r.items()) for r in records]
        sequences = await conn.fetch(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        )
        contents["sequences"] = sorted(tuple(r) for r in sequences)
        return contents
    finally:
        await conn.close()


def snapshot(url: str) -> dict[str, object]:
    return run_async(_snapshot(url))


def table_count(url: str) -> int:
    async def count() -> int:
        conn = await connect(url)
        try:
            return len(await _tables(conn))
        finally:
            await conn.close()

    return run_async(count())


@dataclass(frozen=True)
class Source:
    url: str
    backup: Path
    contents: dict[str, object]


@pytest.fixture(scope="module")
def source(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A database with rows in every table, and its backup made by `calcapp db backup`."""
    url = migrated_database(make_database)
    run_async(_populate(url))
    contents = snapshot(url)
    backup = tmp_path_factory.mktemp("backups") / "calcapp.dump"
    result = calcapp(url, "db", "backup", str(backup))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("backed up PostgreSQL ")
    assert f" database to {backup}: " in result.stdout and " tables with data, " in result.stdout
    assert "(pg_dump " in result.stdout
    assert [p.name for p in backup.parent.iterdir()] == ["calcapp.dump"]  # no temporary left
    assert backup.stat().st_mode & 0o777 == 0o600  # personal data: the owner's only
    return Source(url, backup, contents)


def test_backup_restores_every_table_into_a_new_database(
    source: Source, make_database: Callable[[], str]
) -> None:
    tables = [name for name in source.contents if name != "sequences"]
    # Every table has rows, but the partitions made ahead for the coming months.
    filled = [f"calculation_history_{m:%Y_%m}" for m in (OLD_MONTH, THIS_MONTH)]
    empty = [
        name
        for name in tables
        if not source.contents[name]
        and (name in filled or not name.startswith("calculation_history_"))
    ]
    assert not empty, f"add rows for {empty} to _populate(): every table must be compared"
    assert {"users", "subscriptions", "payment_history", "calculation_history", *filled} <= set(
        tables
    )
    target = make_database()  # empty: not even migrated

    result = calcapp(target, "db", "restore", str(source.backup))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"restored {source.backup}: {len(tables)} tables in schema public, "
    )
    assert_restored(snapshot(target), source.contents)


def assert_restored(restored: dict[str, object], backed_up: dict[str, object]) -> None:
    """Every table as backed up, but the accounts' sync epochs, which are new: every device
    rebuilds its synced history from the restored one."""
    assert list(restored) == list(backed_up)  # the same tables, all compared
    for name in backed_up:
        if name != "sync_user":
            assert restored[name] == backed_up[name], name
    accounts: list[tuple[tuple[str, object], ...]] = restored["sync_user"]  # type: ignore[assignment]
    earlier: list[tuple[tuple[str, object], ...]] = backed_up["sync_user"]  # type: ignore[assignment]
    [account], [before] = accounts, earlier
    assert dict(account)["epoch"] != dict(before)["epoch"]
    assert {k: v for k, v in account if k != "epoch"} == {k: v for k, v in before if k != "epoch"}


def test_restore_into_a_database_with_tables_needs_force(
    source: Source, make_database: Callable[[], str]
) -> None:
    target = migrated_database(make_database)
    run_async(_populate(target))  # other rows (new ids, times), same tables
    before = snapshot(target)

    refused = calcapp(target, "db", "restore", str(source.backup))

    assert_one_line_error(refused, "is not empty (")
    assert "pass --force to replace them" in refused.stderr
    assert snapshot(target) == before

    forced = calcapp(target, "db", "restore", "--force", str(source.backup))
    assert forced.returncode == 0, forced.stderr
    assert ", replacing what was there, " in forced.stdout
    assert_restored(snapshot(target), source.contents)


def test_a_corrupt_backup_is_refused_and_changes_nothing(
    source: Source, make_database: Callable[[], str], tmp_path: Path
) -> None:
    good = source.backup.read_bytes()
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"-- not a backup\n")
    damaged = tmp_path / "damaged.dump"  # its table of contents reads; its data does not
    flipped = bytearray(good)
    for tenth in (5, 6, 7, 8):
        for i in range(len(good) * tenth // 10, len(good) * tenth // 10 + 4):
            flipped[i] ^= 0xFF
    damaged.write_bytes(bytes(flipped))
    empty = make_database()

    assert_one_line_error(
        calcapp(empty, "db", "restore", str(garbage)), f"{garbage} is not a backup made by"
    )
    assert_one_line_error(calcapp(empty, "db", "restore", str(damaged)), str(damaged))
    assert table_count(empty) == 0

    # With --force the old contents are dropped in the same transaction as the failed restore:
    # they are still there.
    target = migrated_database(make_database)
    run_async(_populate(target))
    before = snapshot(target)
    assert_one_line_error(calcapp(target, "db", "restore", "--force", str(damaged)), str(damaged))
    assert snapshot(target) == before


def test_backup_to_a_missing_folder_fails_clearly(source: Source, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "calcapp.dump"
    assert_one_line_error(
        calcapp(source.url, "db", "backup", str(missing)),
        f"cannot write {missing}: No such file or directory",
    )


def test_stats_prints_the_three_sections(source: Source) -> None:
    result = calcapp(source.url, "db", "stats")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Slowest statements (pg_stat_statements, top 10 by mean time)\n")
    # Either the statements, or why there are none and how to turn the extension on.
    assert "mean ms" in out or "pg_stat_statements is" in out
    if "is not installed" in out:
        assert "shared_preload_libraries" in out and "CREATE EXTENSION pg_stat_statements" in out
    unused = out.split("\nUnused indexes (", 1)[1].split("\nTable sizes (", 1)[0]
    assert "  table  " in unused and "partitions" in unused
    assert "pk_users" not in unused and "idx_users_email " not in unused  # unique: left out
    sizes = out.split("\nTable sizes (", 1)[1].splitlines()
    assert sizes[1].split() == ["table", "rows", "(est.)", "total", "size"]
    names = [line.split()[0] for line in sizes[2:]]
    assert "users" in names and "calculation_history" in names
    history = next(i for i, line in enumerate(sizes) if line.split()[0] == "calculation_history")
    # Its partitions follow it, indented, oldest first.
    assert sizes[history + 1].startswith(f"    calculation_history_{OLD_MONTH:%Y_%m} ")


async def _reader_url(url: str) -> str:
    """`url` as a role that is not a superuser (as on managed PostgreSQL): a new login role
    when we are superuser, else our own role, which already is not one."""
    conn = await connect(url)
    try:
        if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            return url
        role = f"reader_{uuid.uuid4().hex[:8]}"
        await conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{role}'")
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    finally:
        await conn.close()
    return make_url(url).set(username=role, password=role).render_as_string(False)


def test_stats_works_without_superuser_rights(source: Source) -> None:
    """Managed databases give no superuser: settings such as shared_preload_libraries are
    hidden, which must not make the command fail."""
    result = calcapp(run_async(_reader_url(source.url)), "db", "stats")
    assert result.returncode == 0, result.stderr
    assert "pg_stat_statements is" in result.stdout or "mean ms" in result.stdout
    assert "\nTable sizes (" in result.stdout
