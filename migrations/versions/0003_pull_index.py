"""Pull pages on (version, id): replace the (version, device_id, seq) index.

`id` is unique and present on every row, also on rows written outside sync (no device), so it
is the simpler tiebreak for the per-user version cursor.

Revision ID: 0003_pull_index
Revises: 0002_accounts
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0003_pull_index"
down_revision: str | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    execute_all(
        [
            "DROP INDEX idx_calc_history_user_version",
            "CREATE INDEX idx_calc_history_user_version ON calculation_history (user_id, version, id)",
        ]
    )


def downgrade() -> None:
    execute_all(
        [
            "DROP INDEX idx_calc_history_user_version",
            """CREATE INDEX idx_calc_history_user_version
                ON calculation_history (user_id, version, device_id, seq)""",
        ]
    )
