"""Billing: Stripe customers, the webhook event ledger, and the cancel-at-period-end flag.

`stripe_customers` holds a user's Stripe customer before any subscription exists (the
subscriptions table needs a subscription id). `stripe_events` is the ledger that makes each
webhook event count once (data-architecture document, 3.2: "use Stripe event ID to prevent
duplicate processing").

Revision ID: 0005_billing
Revises: 0004_user_search_index
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0005_billing"
down_revision: str | None = "0004_user_search_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    execute_all(
        [
            """
            CREATE TABLE stripe_customers (
                user_id UUID NOT NULL,
                stripe_customer_id VARCHAR(255) NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                CONSTRAINT pk_stripe_customers PRIMARY KEY (user_id),
                CONSTRAINT fk_stripe_customers_user_id_users
                    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
                CONSTRAINT uq_stripe_customers_stripe_customer_id UNIQUE (stripe_customer_id)
            )
            """,
            """
            CREATE TABLE stripe_events (
                event_id VARCHAR(255) NOT NULL,
                type VARCHAR(100) NOT NULL,
                received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                CONSTRAINT pk_stripe_events PRIMARY KEY (event_id)
            )
            """,
            """ALTER TABLE subscriptions
                ADD COLUMN cancel_at_period_end BOOLEAN NOT NULL DEFAULT false""",
        ]
    )


def downgrade() -> None:
    execute_all(
        [
            "ALTER TABLE subscriptions DROP COLUMN cancel_at_period_end",
            "DROP TABLE stripe_events",
            "DROP TABLE stripe_customers",
        ]
    )
