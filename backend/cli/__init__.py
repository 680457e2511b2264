"""The `calcapp` command: serve the app and manage its database, one module per command group
(serve, db, users, partitions, retention, billing), their shared helpers in common.py.

Every operator-facing failure (bad setting, port in use, database unreachable, an operator
command that cannot be done) ends as one line on stderr, `calcapp: error: ...`, and exit
status 2, never a traceback: caught here, once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backend.cli import billing, db, partitions, retention, serve, users
from backend.db.server import DatabaseError
from backend.ops.errors import OperatorError
from backend.settings import Settings, SettingsError
from backend.web.errors import AppError
from backend.web.logs import configure_logging


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings)
        args.handler(settings, args)
    except (OperatorError, SettingsError, DatabaseError) as exc:
        print(f"calcapp: error: {exc}", file=sys.stderr)
        return 2
    except AppError as exc:  # e.g. Stripe unreachable during `billing reconcile`
        print(f"calcapp: error: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calcapp", description="Calcapp server and operations commands."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (serve, db, users, retention, billing, partitions):
        group.add_commands(commands)
    return parser
