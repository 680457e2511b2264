"""Search within one user's history: a trigram index led by user_id.

The expression-only trigram index finds every user's matches for a term and then filters
them by user: at 10 million rows a 3-character search read thousands of heap pages. A GIN
index on (user_id, expression gin_trgm_ops) (user_id through btree_gin) reads only the
user's matches.

Revision ID: 0004_user_search_index
Revises: 0003_pull_index
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0004_user_search_index"
down_revision: str | None = "0003_pull_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    execute_all(
        [
            "CREATE EXTENSION IF NOT EXISTS btree_gin",
            "DROP INDEX idx_calc_history_expression_trgm",
            """CREATE INDEX idx_calc_history_user_expression_trgm
                ON calculation_history USING GIN (user_id, expression gin_trgm_ops)""",
        ]
    )


def downgrade() -> None:
    execute_all(
        [
            "DROP INDEX idx_calc_history_user_expression_trgm",
            """CREATE INDEX idx_calc_history_expression_trgm
                ON calculation_history USING GIN (expression gin_trgm_ops)""",
            "DROP EXTENSION IF EXISTS btree_gin",
        ]
    )
