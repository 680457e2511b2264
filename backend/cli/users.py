"""`calcapp users`: premium granted or revoked, GDPR export and deletion, for operators."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.billing import service as billing_service
from backend.billing.gateway import StripeGateway
from backend.cli.common import (
    CommandError,
    Commands,
    account,
    day,
    in_transaction,
    with_engine,
)
from backend.entitlements import premium
from backend.ops import retention
from backend.privacy import service as privacy
from backend.settings import Settings


def add_commands(commands: Commands) -> None:
    users = commands.add_parser("users", help="accounts, for operators")
    user_commands = users.add_subparsers(
        dest="users_command", required=True, metavar="USERS_COMMAND"
    )
    grant = user_commands.add_parser(
        "grant-premium", help="give an account premium (free of charge)"
    )
    grant.add_argument("email")
    grant.add_argument("--until", type=day, help="last day, YYYY-MM-DD (default: no end)")
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


def cmd_users_grant_premium(settings: Settings, args: argparse.Namespace) -> None:
    until = None if args.until is None else datetime.combine(args.until, time(), tzinfo=UTC)

    async def work(db: AsyncSession) -> datetime:
        return await premium.grant(db, (await account(db, args.email)).id, until)

    end = in_transaction(settings, work)
    print(f"{args.email}: premium until {end:%Y-%m-%d %H:%M} UTC")


def cmd_users_revoke_premium(settings: Settings, args: argparse.Namespace) -> None:
    async def work(db: AsyncSession) -> bool:
        return await premium.revoke(db, (await account(db, args.email)).id)

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
            user = await account(db, args.email)
            head = await privacy.export_head(db, user)
        async for chunk in privacy.export_chunks(engine, head, user.id):
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
        user = await account(db, args.email)
        if not args.now:
            await privacy.delete_account(db, user, gateway)
            return None
        await billing_service.stop_charging(db, user, gateway)
        return await retention.erase_account(await db.connection(), user.id)

    kept = in_transaction(settings, work)
    if kept is None:
        print(f"{args.email}: deleted (signed out everywhere; erased after 30 days)")
    else:
        print(f"{args.email}: erased ({kept} payment record(s) kept for 7 years)")
