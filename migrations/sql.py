"""Shared by the migration scripts: run a list of hand-written SQL statements in order."""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op


def execute_all(statements: Iterable[str]) -> None:
    for statement in statements:
        op.execute(statement)
