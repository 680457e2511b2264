"""`calcapp billing`: Stripe subscriptions, for operators."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from backend.billing import service as billing_service
from backend.billing.gateway import StripeGateway
from backend.cli.common import CommandError, Commands, in_transaction
from backend.settings import Settings


def add_commands(commands: Commands) -> None:
    billing = commands.add_parser("billing", help="Stripe subscriptions, for operators")
    billing_commands = billing.add_subparsers(
        dest="billing_command", required=True, metavar="BILLING_COMMAND"
    )
    reconcile = billing_commands.add_parser(
        "reconcile", help="fetch every subscription that is not final from Stripe again"
    )
    reconcile.set_defaults(handler=cmd_billing_reconcile)


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
