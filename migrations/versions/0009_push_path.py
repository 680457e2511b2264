"""The hot paths: the push's allowance counted in the account's sync row, and the seed's
global `created_at` index dropped.

- `sync_user.push_window_start`, `pushes`: the pushes of the current minute, counted in the
  statement that locks the account for a push (no round trip of its own).
- `idx_calc_history_created` (`created_at DESC`, "global history analytics" in the seed): no
  query of the app uses it, and it misleads the generic plans the app's reads run (see
  docs/data-model.md).

Revision ID: 0009_push_path
Revises: 0008_account_security
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0009_push_path"
down_revision: str | None = "0008_account_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "ALTER TABLE sync_user ADD COLUMN push_window_start TIMESTAMPTZ NOT NULL DEFAULT now()",
    "ALTER TABLE sync_user ADD COLUMN pushes INTEGER NOT NULL DEFAULT 0",
    "DROP INDEX idx_calc_history_created",
]

DOWNGRADE = [
    "CREATE INDEX idx_calc_history_created ON calculation_history (created_at DESC)",
    "ALTER TABLE sync_user DROP COLUMN pushes",
    "ALTER TABLE sync_user DROP COLUMN push_window_start",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
