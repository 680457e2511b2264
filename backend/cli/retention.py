"""`calcapp retention`: the data retention policy (backend/ops/retention.py)."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.cli.common import Commands, on_connection
from backend.mail import mailer_from_settings
from backend.ops import retention
from backend.settings import Settings


def add_commands(commands: Commands) -> None:
    group = commands.add_parser("retention", help="the data retention policy")
    retention_commands = group.add_subparsers(
        dest="retention_command", required=True, metavar="RETENTION_COMMAND"
    )
    retention_run = retention_commands.add_parser(
        "run", help="warn, delete and erase what the retention policy says (safe to re-run)"
    )
    retention_run.add_argument(
        "--dry-run", action="store_true", help="only report what would be done"
    )
    retention_run.set_defaults(handler=cmd_retention_run)


def cmd_retention_run(settings: Settings, args: argparse.Namespace) -> None:
    mailer = mailer_from_settings(settings)

    async def work(conn: AsyncConnection) -> retention.RetentionReport:
        return await retention.run(conn, mailer, settings.base_url, dry_run=args.dry_run)

    print("\n".join(on_connection(settings, work).lines()))
