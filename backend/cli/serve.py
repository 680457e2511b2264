"""`calcapp serve`: the app under uvicorn, on a socket bound up front."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import socket

from backend.cli.common import CommandError, Commands
from backend.db import migrations as migrate
from backend.db.server import check_connection, database_url
from backend.settings import Settings

logger = logging.getLogger("calcapp")
SHUTDOWN_GRACE_SECONDS = 5


def add_commands(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="serve the app (HOST, PORT from the environment)")
    serve.add_argument(
        "--migrate", action="store_true", help="apply pending migrations before serving"
    )
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    """uvicorn (uvloop, httptools) with `CALCAPP_WORKERS` processes on one socket; each worker
    builds its app from the environment (`backend.asgi:app`), where the database's URL is put
    once it is known (the embedded server runs in this process, for all of them)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = bind_socket(settings.host, settings.port)
    with sock, database_url(settings) as url:
        version = asyncio.run(check_connection(url))
        if args.migrate:
            migrate.upgrade(url)
        os.environ["DATABASE_URL"] = url
        logger.info(
            "Calcapp on http://%s:%d (PostgreSQL %s, %d worker(s))",
            settings.host,
            settings.port,
            version,
            settings.workers,
        )
        config = uvicorn.Config(
            "backend.asgi:app",
            factory=True,
            workers=settings.workers,
            loop="uvloop",
            http="httptools",
            log_config=None,
            log_level=settings.log_level.lower(),
            # Ours (backend/web/edge.py) has the request id and leaves out the query string.
            access_log=False,
            # The client's address comes from CALCAPP_TRUSTED_PROXIES (backend/web/clients.py).
            proxy_headers=False,
            server_header=False,
            # Answers still open this long after a stop signal are cut (live sync streams end
            # at the signal already: backend/live/listener.py).
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        server = uvicorn.Server(config)
        # uvicorn re-raises Ctrl+C once its graceful shutdown is done: that is a clean stop.
        with contextlib.suppress(KeyboardInterrupt):
            if settings.workers > 1:
                Multiprocess(config, sockets=[sock]).run()
            else:
                server.run(sockets=[sock])
        logger.info("Calcapp stopped; the data stays for the next run")


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket up front, so a busy port is one clear line, not a traceback."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CommandError(f"HOST {host!r} cannot be resolved: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {port} on {host} is already in use: stop the other server "
                f"or choose another port (PORT={port + 1} make run)"
            ) from exc
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock
