"""Where a subscription comes from, said by a column: `source` is `stripe` (paid through
Stripe) or `complimentary` (granted by an operator, `calcapp users grant-premium`), instead of
the `comp_` prefix of the stand-in Stripe ids the code used to test. Existing complimentary
rows are recognised by that prefix once, here.

Revision ID: 0010_subscription_source
Revises: 0009_push_path
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0010_subscription_source"
down_revision: str | None = "0009_push_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """ALTER TABLE subscriptions ADD COLUMN source VARCHAR(20) NOT NULL DEFAULT 'stripe'
       CONSTRAINT ck_subscriptions_source CHECK (source IN ('stripe', 'complimentary'))""",
    "UPDATE subscriptions SET source = 'complimentary' WHERE stripe_subscription_id LIKE 'comp\\_%'",
]

DOWNGRADE = [
    "ALTER TABLE subscriptions DROP COLUMN source",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
