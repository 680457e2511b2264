"""Operations: commands an operator runs from cron (partitions, retention, backups, stats)."""
