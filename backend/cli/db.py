"""`calcapp db`: the schema, sample data, backups, statistics, sync cursors."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.cli.common import CommandError, Commands, in_transaction, on_connection
from backend.db import migrations as migrate
from backend.db.server import check_connection, database_url
from backend.ops import backup as db_backup
from backend.ops import stats as db_stats
from backend.settings import Settings
from sync.pull import expire_cursors


def add_commands(commands: Commands) -> None:
    db = commands.add_parser("db", help="database schema, sample data, backups and statistics")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply migrations (default: to head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    downgrade = db_commands.add_parser("downgrade", help="revert migrations down to REVISION")
    downgrade.add_argument("revision", help="target revision, or 'base' for an empty schema")
    downgrade.set_defaults(handler=cmd_db_downgrade)
    seed = db_commands.add_parser("seed", help="insert the sample data (idempotent)")
    seed.set_defaults(handler=cmd_db_seed)
    backup = db_commands.add_parser("backup", help="pg_dump the database into FILE (custom format)")
    backup.add_argument("file", type=Path, metavar="FILE")
    backup.set_defaults(handler=cmd_db_backup)
    restore = db_commands.add_parser(
        "restore", help="pg_restore FILE into the database (refused if it has tables)"
    )
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument(
        "--force", action="store_true", help="replace what the database holds (--clean)"
    )
    restore.set_defaults(handler=cmd_db_restore)
    stats = db_commands.add_parser(
        "stats", help="slowest statements, unused indexes, table and partition sizes"
    )
    stats.set_defaults(handler=cmd_db_stats)
    expire = db_commands.add_parser(
        "expire-sync-cursors",
        help="every device re-reads its synced history (after a restore by other means)",
    )
    expire.set_defaults(handler=cmd_db_expire_sync_cursors)


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        asyncio.run(check_connection(url))
        migrate.upgrade(url, args.revision)


def cmd_db_downgrade(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        asyncio.run(check_connection(url))
        migrate.downgrade(url, args.revision)


def cmd_db_seed(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_production:
        raise CommandError("refusing to seed sample data when CALCAPP_ENV=production")
    from backend.seed import SEED_EMAIL, SEED_PASSWORD, seed

    report = in_transaction(settings, seed)
    print(
        f"seed: user {SEED_EMAIL} (password {SEED_PASSWORD}) "
        f"{'created' if report.user_created else 'already present'}; "
        f"subscription {'created' if report.subscription_created else 'already present'}; "
        f"{report.calculations_created} calculation(s) added"
    )


def cmd_db_backup(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        done = asyncio.run(db_backup.backup(url, args.file))
    print(
        f"backed up PostgreSQL {done.server_version} database to {done.file}: "
        f"{db_stats.human_bytes(done.bytes)}, {done.tables} tables with data, "
        f"{done.seconds:.1f} s (pg_dump {done.tool.version}, {done.tool.path})"
    )


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        done = asyncio.run(db_backup.restore(url, args.file, force=args.force))
    replaced = ", replacing what was there" if done.replaced else ""
    print(
        f"restored {done.file}: {done.tables} tables in schema public{replaced}, "
        f"{done.seconds:.1f} s (pg_restore {done.tool.version}, {done.tool.path})"
    )


def cmd_db_expire_sync_cursors(settings: Settings, args: argparse.Namespace) -> None:
    async def work(conn: AsyncConnection) -> int:
        async with conn.begin():
            return await expire_cursors(conn)

    count = on_connection(settings, work)
    print(f"sync cursors expired for {count} account(s): their devices re-read their history")


def cmd_db_stats(settings: Settings, args: argparse.Namespace) -> None:
    print(db_stats.render(on_connection(settings, db_stats.collect)))
