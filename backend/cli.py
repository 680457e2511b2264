"""The `calcapp` command: serve the app and manage its database.

Every operator-facing failure (bad setting, port in use, database unreachable) ends as one
line on stderr, `calcapp: error: ...`, and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from backend import migrate
from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.service import live_user
from backend.billing import premium
from backend.billing import service as billing_service
from backend.billing.gateway import StripeGateway
from backend.database import DatabaseError, check_connection, database_url
from backend.db import create_engine
from backend.errors import AppError
from backend.logs import configure_logging
from backend.mail import mailer_from_settings
from backend.ops import backup as db_backup
from backend.ops import partitions as history_partitions
from backend.ops import retention
from backend.ops import stats as db_stats
from backend.settings import Settings, SettingsError
from sync.pull import expire_cursors

logger = logging.getLogger("calcapp")
SHUTDOWN_GRACE_SECONDS = 5


class CommandError(RuntimeError):
    """A failure the operator can fix; the message is one line."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings)
        args.handler(settings, args)
    except (CommandError, SettingsError, DatabaseError) as exc:
        print(f"calcapp: error: {exc}", file=sys.stderr)
        return 2
    except AppError as exc:  # e.g. Stripe unreachable during `billing reconcile`
        print(f"calcapp: error: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calcapp", description="Calcapp server and operations commands."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the app (HOST, PORT from the environment)")
    serve.add_argument(
        "--migrate", action="store_true", help="apply pending migrations before serving"
    )
    serve.set_defaults(handler=cmd_serve)

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
    _add_ops_commands(commands, db_commands)

    users = commands.add_parser("users", help="accounts, for operators")
    user_commands = users.add_subparsers(
        dest="users_command", required=True, metavar="USERS_COMMAND"
    )
    grant = user_commands.add_parser(
        "grant-premium", help="give an account premium (free of charge)"
    )
    grant.add_argument("email")
    grant.add_argument("--until", type=_date, help="last day, YYYY-MM-DD (default: no end)")
    grant.set_defaults(handler=cmd_users_grant_premium)
    revoke = user_commands.add_parser("revoke-premium", help="end an account's premium now")
    revoke.add_argument("email")
    revoke.set_defaults(handler=cmd_users_revoke_premium)
    export = user_commands.add_parser(
        "export", help="everything held about an account, as JSON (GDPR right of access)"
    )
    export.add_argument("email")
    export.add_argument("--out", help="write to this file (default: standard output)")
    export.set_defaults(handler=cmd_users_export)
    delete = user_commands.add_parser(
        "delete", help="delete an account (GDPR erasure): hidden now, erased after 30 days"
    )
    delete.add_argument("email")
    delete.add_argument(
        "--now", action="store_true", help="erase at once (payment records are still kept)"
    )
    delete.set_defaults(handler=cmd_users_delete)

    retention = commands.add_parser("retention", help="the data retention policy")
    retention_commands = retention.add_subparsers(
        dest="retention_command", required=True, metavar="RETENTION_COMMAND"
    )
    retention_run = retention_commands.add_parser(
        "run", help="warn, delete and erase what the retention policy says (safe to re-run)"
    )
    retention_run.add_argument(
        "--dry-run", action="store_true", help="only report what would be done"
    )
    retention_run.set_defaults(handler=cmd_retention_run)

    billing = commands.add_parser("billing", help="Stripe subscriptions, for operators")
    billing_commands = billing.add_subparsers(
        dest="billing_command", required=True, metavar="BILLING_COMMAND"
    )
    reconcile = billing_commands.add_parser(
        "reconcile", help="fetch every subscription that is not final from Stripe again"
    )
    reconcile.set_defaults(handler=cmd_billing_reconcile)
    return parser


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    """uvicorn (uvloop, httptools) with `CALCAPP_WORKERS` processes on one socket; each worker
    builds its app from the environment (`backend.asgi:app`), where the database's URL is put
    once it is known (the embedded server runs in this process, for all of them)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = bind_socket(settings.host, settings.port)
    with sock, database_url(settings) as url:
        version = asyncio.run(check_connection(url))
        if args.migrate:
            migrate.upgrade(url)
        os.environ["DATABASE_URL"] = url
        logger.info(
            "Calcapp on http://%s:%d (PostgreSQL %s, %d worker(s))",
            settings.host,
            settings.port,
            version,
            settings.workers,
        )
        config = uvicorn.Config(
            "backend.asgi:app",
            factory=True,
            workers=settings.workers,
            loop="uvloop",
            http="httptools",
            log_config=None,
            log_level=settings.log_level.lower(),
            # Ours (backend/edge.py) has the request id and leaves out the query string.
            access_log=False,
            # The client's address comes from CALCAPP_TRUSTED_PROXIES (backend/clients.py).
            proxy_headers=False,
            server_header=False,
            # Answers still open this long after a stop signal are cut (live sync streams end
            # at the signal already: backend/live/listener.py).
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        server = uvicorn.Server(config)
        # uvicorn re-raises Ctrl+C once its graceful shutdown is done: that is a clean stop.
        with contextlib.suppress(KeyboardInterrupt):
            if settings.workers > 1:
                Multiprocess(config, sockets=[sock]).run()
            else:
                server.run(sockets=[sock])
        logger.info("Calcapp stopped; the data stays for the next run")


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        asyncio.run(check_connection(url))
        migrate.upgrade(url, args.revision)


def cmd_db_downgrade(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        asyncio.run(check_connection(url))
        migrate.downgrade(url, args.revision)


T = TypeVar("T")


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` with an engine on the configured database (started if embedded)."""

    async def run(url: str) -> T:
        await check_connection(url)
        engine = create_engine(url, pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    with database_url(settings) as url:
        return asyncio.run(run(url))


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured database."""

    async def run(engine: AsyncEngine) -> T:
        async with async_sessionmaker(engine)() as session, session.begin():
            return await work(session)

    return with_engine(settings, run)


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


async def _user(db: AsyncSession, email: str) -> User:
    user = await live_user(db, email)
    if user is None:
        raise CommandError(f"no account uses {email}")
    return user


def cmd_users_grant_premium(settings: Settings, args: argparse.Namespace) -> None:
    until = None if args.until is None else datetime.combine(args.until, time(), tzinfo=UTC)

    async def work(db: AsyncSession) -> datetime:
        return await premium.grant(db, (await _user(db, args.email)).id, until)

    end = in_transaction(settings, work)
    print(f"{args.email}: premium until {end:%Y-%m-%d %H:%M} UTC")


def cmd_users_revoke_premium(settings: Settings, args: argparse.Namespace) -> None:
    async def work(db: AsyncSession) -> bool:
        return await premium.revoke(db, (await _user(db, args.email)).id)

    had = in_transaction(settings, work)
    print(f"{args.email}: premium ended" if had else f"{args.email}: had no subscription")


def cmd_users_export(settings: Settings, args: argparse.Namespace) -> None:
    """Streamed to the file (created 0600: it holds personal data) or stdout, so the memory
    it takes does not grow with the history."""
    try:
        out = (
            os.fdopen(os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
            if args.out is not None
            else sys.stdout.buffer
        )
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror}") from exc

    async def work(engine: AsyncEngine) -> None:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = await _user(db, args.email)
            head = await accounts.export_head(db, user)
        async for chunk in accounts.export_chunks(engine, head, user.id):
            out.write(chunk)
        out.write(b"\n")

    try:
        with_engine(settings, work)
    except BaseException:
        if args.out is not None:
            out.close()
            Path(args.out).unlink(missing_ok=True)  # no half-written export left behind
        raise
    if args.out is not None:
        out.close()
        print(f"{args.email}: exported to {args.out}")


def cmd_users_delete(settings: Settings, args: argparse.Namespace) -> None:
    gateway = StripeGateway(settings) if settings.billing_configured else None

    async def work(db: AsyncSession) -> int | None:
        user = await _user(db, args.email)
        await billing_service.stop_charging(db, user, gateway)
        if args.now:
            return await retention.erase_account(await db.connection(), user.id)
        await accounts.soft_delete(db, user)
        return None

    kept = in_transaction(settings, work)
    if kept is None:
        print(f"{args.email}: deleted (signed out everywhere; erased after 30 days)")
    else:
        print(f"{args.email}: erased ({kept} payment record(s) kept for 7 years)")


def cmd_retention_run(settings: Settings, args: argparse.Namespace) -> None:
    mailer = mailer_from_settings(settings)

    async def work(engine: AsyncEngine) -> retention.RetentionReport:
        return await retention.run(engine, mailer, settings.base_url, dry_run=args.dry_run)

    print("\n".join(with_engine(settings, work).lines()))


def cmd_billing_reconcile(settings: Settings, args: argparse.Namespace) -> None:
    if not settings.billing_configured:
        raise CommandError("billing is not configured (STRIPE_SECRET_KEY is not set)")
    gateway = StripeGateway(settings)

    async def work(db: AsyncSession) -> tuple[int, list[str]]:
        return await billing_service.reconcile(db, gateway)

    done, failed = in_transaction(settings, work)
    print(f"reconciled {done} subscription(s) with Stripe")
    if failed:
        raise CommandError(f"Stripe could not answer for {len(failed)}: {', '.join(failed)}")


# Operations (backend/ops/): partitions of the history table, backups, statistics.


def _add_ops_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    db_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
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

    partitions = commands.add_parser(
        "partitions", help="monthly partitions of the calculation history"
    )
    partition_commands = partitions.add_subparsers(
        dest="partitions_command", required=True, metavar="PARTITIONS_COMMAND"
    )
    ensure = partition_commands.add_parser(
        "ensure", help="create the partitions from this month to N months ahead"
    )
    ensure.add_argument("--months-ahead", type=_count, default=3, metavar="N")
    ensure.set_defaults(handler=cmd_partitions_ensure)
    listing = partition_commands.add_parser("list", help="every partition: range, rows, size")
    listing.set_defaults(handler=cmd_partitions_list)
    archive = partition_commands.add_parser(
        "archive", help="export, verify and drop the partitions older than N months"
    )
    archive.add_argument("--older-than-months", type=_count, default=24, metavar="N")
    archive.add_argument("--to", type=Path, required=True, metavar="DIR")
    archive.set_defaults(handler=cmd_partitions_archive)
    restore_month = partition_commands.add_parser(
        "restore", help="load an archived month back (FILE: the .csv.gz or its .json manifest)"
    )
    restore_month.add_argument("file", type=Path, metavar="FILE")
    restore_month.set_defaults(handler=cmd_partitions_restore)


def on_connection(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` with a connection (no transaction open) on the configured database."""

    async def run(engine: AsyncEngine) -> T:
        async with engine.connect() as conn:
            return await work(conn)

    return _operator_errors(lambda: with_engine(settings, run))


def _operator_errors(call: Callable[[], T]) -> T:
    try:
        return call()
    except (history_partitions.PartitionError, db_backup.BackupError) as exc:
        raise CommandError(str(exc)) from exc


def cmd_partitions_ensure(settings: Settings, args: argparse.Namespace) -> None:
    report = on_connection(
        settings, lambda conn: history_partitions.ensure(conn, args.months_ahead)
    )
    for name in report.created:
        print(f"created {name}")
    print(
        f"partitions: {len(report.created)} created, {len(report.present)} already present "
        f"(this month and {args.months_ahead} ahead)"
    )


def cmd_partitions_list(settings: Settings, args: argparse.Namespace) -> None:
    print(history_partitions.render(on_connection(settings, history_partitions.list_partitions)))


def cmd_partitions_archive(settings: Settings, args: argparse.Namespace) -> None:
    def report(done: history_partitions.Archived) -> None:
        print(
            f"archived {done.partition} ({done.range_from:%Y-%m-%d} to {done.range_to:%Y-%m-%d}): "
            f"{done.rows} rows, sha256 {done.sha256[:16]}, {done.file} "
            f"({db_stats.human_bytes(done.file_bytes)}); partition dropped",
            flush=True,
        )

    archived = on_connection(
        settings,
        lambda conn: history_partitions.archive(
            conn, args.older_than_months, args.to, on_archived=report
        ),
    )
    cutoff = history_partitions.archive_cutoff(args.older_than_months)
    if archived:
        print(f"{len(archived)} partition(s) archived to {args.to}")
    else:
        print(f"nothing to archive: no partition ends on or before {cutoff:%Y-%m-%d}")


def cmd_partitions_restore(settings: Settings, args: argparse.Namespace) -> None:
    done = on_connection(settings, lambda conn: history_partitions.restore(conn, args.file))
    print(
        f"restored {done.partition}: {done.rows} rows from {done.file} (sha256 "
        f"{done.sha256[:16]} verified); partition {'created' if done.created else 'was empty'}"
    )


def cmd_db_backup(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        done = _operator_errors(lambda: asyncio.run(db_backup.backup(url, args.file)))
    print(
        f"backed up PostgreSQL {done.server_version} database to {done.file}: "
        f"{db_stats.human_bytes(done.bytes)}, {done.tables} tables with data, "
        f"{done.seconds:.1f} s (pg_dump {done.tool.version}, {done.tool.path})"
    )


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        done = _operator_errors(
            lambda: asyncio.run(db_backup.restore(url, args.file, force=args.force))
        )
    replaced = ", replacing what was there" if done.replaced else ""
    print(
        f"restored {done.file}: {done.tables} tables in schema public{replaced}, "
        f"{done.seconds:.1f} s (pg_restore {done.tool.version}, {done.tool.path})"
    )


def cmd_db_expire_sync_cursors(settings: Settings, args: argparse.Namespace) -> None:
    async def work(engine: AsyncEngine) -> int:
        async with engine.begin() as conn:
            return await expire_cursors(conn)

    count = with_engine(settings, work)
    print(f"sync cursors expired for {count} account(s): their devices re-read their history")


def cmd_db_stats(settings: Settings, args: argparse.Namespace) -> None:
    print(db_stats.render(on_connection(settings, db_stats.collect)))


def _count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 1200:
        raise argparse.ArgumentTypeError(f"not a number of months (0 to 1200): {raw!r}")
    return value


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {raw!r}") from None


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket up front, so a busy port is one clear line, not a traceback."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CommandError(f"HOST {host!r} cannot be resolved: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {port} on {host} is already in use: stop the other server "
                f"or choose another port (PORT={port + 1} make run)"
            ) from exc
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


if __name__ == "__main__":
    sys.exit(main())
