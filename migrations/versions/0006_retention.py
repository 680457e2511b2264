"""Retention: the history-deletion warnings sent, and payments kept after an account is erased.

`retention_notices` records each warning mailed before a canceled user's synced history is
deleted (data-architecture document 5.1: 90 days after premium ends), so that nothing is
deleted without one and no one is warned twice. `retained_payments` keeps the payment records
of hard-deleted accounts, without the email, for the 7 years tax law requires (GDPR art.
17(3)(b)); `payment_history` itself cascades away with the account.

Revision ID: 0006_retention
Revises: 0005_billing
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0006_retention"
down_revision: str | None = "0005_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    execute_all(
        [
            """
            CREATE TABLE retention_notices (
                user_id UUID NOT NULL,
                kind VARCHAR(50) NOT NULL,
                premium_ended_at TIMESTAMPTZ NOT NULL,
                sent_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                CONSTRAINT pk_retention_notices PRIMARY KEY (user_id, kind, premium_ended_at),
                CONSTRAINT fk_retention_notices_user_id_users
                    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
                CONSTRAINT ck_retention_notices_kind CHECK (kind IN ('history_deletion'))
            )
            """,
            """
            CREATE TABLE retained_payments (
                id UUID NOT NULL,
                stripe_customer_id VARCHAR(255) NOT NULL,
                stripe_payment_intent_id VARCHAR(255) NOT NULL,
                amount NUMERIC(10, 2) NOT NULL,
                currency VARCHAR(3) NOT NULL,
                status VARCHAR(50) NOT NULL,
                metadata JSONB,
                created_at TIMESTAMPTZ NOT NULL,
                account_erased_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                CONSTRAINT pk_retained_payments PRIMARY KEY (id),
                CONSTRAINT uq_retained_payments_stripe_payment_intent_id
                    UNIQUE (stripe_payment_intent_id)
            )
            """,
            "CREATE INDEX idx_retained_payments_created ON retained_payments (created_at)",
        ]
    )


def downgrade() -> None:
    execute_all(["DROP TABLE retained_payments", "DROP TABLE retention_notices"])
