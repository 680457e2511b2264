"""`calcapp partitions`: the monthly partitions of the history, made ahead, listed, archived
and restored (backend/ops/partitions.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import Commands, months, on_connection
from backend.ops import partitions as history_partitions
from backend.ops import stats as db_stats
from backend.settings import Settings


def add_commands(commands: Commands) -> None:
    partitions = commands.add_parser(
        "partitions", help="monthly partitions of the calculation history"
    )
    partition_commands = partitions.add_subparsers(
        dest="partitions_command", required=True, metavar="PARTITIONS_COMMAND"
    )
    ensure = partition_commands.add_parser(
        "ensure", help="create the partitions from this month to N months ahead"
    )
    ensure.add_argument("--months-ahead", type=months, default=3, metavar="N")
    ensure.set_defaults(handler=cmd_partitions_ensure)
    listing = partition_commands.add_parser("list", help="every partition: range, rows, size")
    listing.set_defaults(handler=cmd_partitions_list)
    archive = partition_commands.add_parser(
        "archive", help="export, verify and drop the partitions older than N months"
    )
    archive.add_argument("--older-than-months", type=months, default=24, metavar="N")
    archive.add_argument("--to", type=Path, required=True, metavar="DIR")
    archive.set_defaults(handler=cmd_partitions_archive)
    restore_month = partition_commands.add_parser(
        "restore", help="load an archived month back (FILE: the .csv.gz or its .json manifest)"
    )
    restore_month.add_argument("file", type=Path, metavar="FILE")
    restore_month.set_defaults(handler=cmd_partitions_restore)


def cmd_partitions_ensure(settings: Settings, args: argparse.Namespace) -> None:
    report = on_connection(
        settings, lambda conn: history_partitions.ensure(conn, args.months_ahead)
    )
    for name in report.created:
        print(f"created {name}")
    print(
        f"partitions: {len(report.created)} created, {len(report.present)} already present "
        f"(this month and {args.months_ahead} ahead)"
    )


def cmd_partitions_list(settings: Settings, args: argparse.Namespace) -> None:
    print(history_partitions.render(on_connection(settings, history_partitions.list_partitions)))


def cmd_partitions_archive(settings: Settings, args: argparse.Namespace) -> None:
    def report(done: history_partitions.Archived) -> None:
        print(
            f"archived {done.partition} ({done.range_from:%Y-%m-%d} to {done.range_to:%Y-%m-%d}): "
            f"{done.rows} rows, sha256 {done.sha256[:16]}, {done.file} "
            f"({db_stats.human_bytes(done.file_bytes)}); partition dropped",
            flush=True,
        )

    archived = on_connection(
        settings,
        lambda conn: history_partitions.archive(
            conn, args.older_than_months, args.to, on_archived=report
        ),
    )
    cutoff = history_partitions.archive_cutoff(args.older_than_months)
    if archived:
        print(f"{len(archived)} partition(s) archived to {args.to}")
    else:
        print(f"nothing to archive: no partition ends on or before {cutoff:%Y-%m-%d}")


def cmd_partitions_restore(settings: Settings, args: argparse.Namespace) -> None:
    done = on_connection(settings, lambda conn: history_partitions.restore(conn, args.file))
    print(
        f"restored {done.partition}: {done.rows} rows from {done.file} (sha256 "
        f"{done.sha256[:16]} verified); partition {'created' if done.created else 'was empty'}"
    )
