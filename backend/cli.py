"""The `calcapp` command: serve the app and manage its database.

Every operator-facing failure (bad setting, port in use, database unreachable) ends as one
line on stderr, `calcapp: error: ...`, and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import migrate
from backend.accounts.models import User
from backend.accounts.service import live_user
from backend.billing import premium
from backend.billing import service as billing_service
from backend.billing.gateway import StripeGateway
from backend.database import DatabaseError, check_connection, database_url
from backend.db import create_engine
from backend.errors import AppError
from backend.settings import Settings, SettingsError

logger = logging.getLogger("calcapp")


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

    db = commands.add_parser("db", help="database schema and sample data")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply migrations (default: to head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    downgrade = db_commands.add_parser("downgrade", help="revert migrations down to REVISION")
    downgrade.add_argument("revision", help="target revision, or 'base' for an empty schema")
    downgrade.set_defaults(handler=cmd_db_downgrade)
    seed = db_commands.add_parser("seed", help="insert the sample data (idempotent)")
    seed.set_defaults(handler=cmd_db_seed)

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

    billing = commands.add_parser("billing", help="Stripe subscriptions, for operators")
    billing_commands = billing.add_subparsers(
        dest="billing_command", required=True, metavar="BILLING_COMMAND"
    )
    reconcile = billing_commands.add_parser(
        "reconcile", help="fetch every subscription that is not final from Stripe again"
    )
    reconcile.set_defaults(handler=cmd_billing_reconcile)
    return parser


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # The Stripe SDK logs every request and response at INFO: keep its warnings only.
    if settings.log_level != "DEBUG":
        logging.getLogger("stripe").setLevel(logging.WARNING)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from backend.app import create_app

    sock = bind_socket(settings.host, settings.port)
    with sock, database_url(settings) as url:
        version = asyncio.run(check_connection(url))
        if args.migrate:
            migrate.upgrade(url)
        app = create_app(dataclasses.replace(settings, database_url=url))
        logger.info(
            "Calcapp on http://%s:%d (PostgreSQL %s)", settings.host, settings.port, version
        )
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level=settings.log_level.lower(),
            proxy_headers=settings.is_production,
            server_header=False,
        )
        # uvicorn re-raises Ctrl+C once its graceful shutdown is done: that is a clean stop.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run(sockets=[sock])
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


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured database."""

    async def run(url: str) -> T:
        await check_connection(url)
        engine = create_engine(url, pool_size=1)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    with database_url(settings) as url:
        return asyncio.run(run(url))


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


def cmd_billing_reconcile(settings: Settings, args: argparse.Namespace) -> None:
    if not settings.billing_configured:
        raise CommandError("billing is not configured (STRIPE_SECRET_KEY is not set)")
    gateway = StripeGateway(settings)

    async def work(db: AsyncSession) -> int:
        return await billing_service.reconcile(db, gateway)

    print(f"reconciled {in_transaction(settings, work)} subscription(s) with Stripe")


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
