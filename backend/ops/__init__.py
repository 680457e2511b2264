"""Operations: commands an operator runs from cron (partitions, retention, backups, stats).

Each takes an `AsyncConnection` with no transaction open and opens the transactions it needs
(`backend/cli/` runs them with `on_connection`), except `backup`'s two: pg_dump and
pg_restore are programs that connect by themselves, and a restore with `--force` renames
the database under any connection of ours, so they take the database URL. Failures the
operator can act on are `errors.OperatorError`, which the CLI reports in one place.
"""
