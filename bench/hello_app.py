"""The baseline of the request benchmarks: a bare Litestar app with one JSON route, served by
the same server, settings and worker count as the app (`bench.hello_app:app`, a factory).

    .venv/bin/python -m bench.hello_app --port 8001 [--workers 2] [--server granian]

`--server uvicorn` (the default) runs it as `calcapp serve` runs Calcapp (backend/cli/serve.py,
`cmd_serve`); `--server granian` with the command line bench/throughput.py serves Calcapp with
under granian (`granian_command`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


def app() -> Litestar:
    return Litestar([hello])


def granian_command(target: str, port: int, workers: int) -> list[str]:
    """granian serving the ASGI app factory `target` on loopback, set up like `calcapp serve`'s
    uvicorn: uvloop, log level WARNING, no access log."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        target,
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def serve_uvicorn(target: str, port: int, workers: int) -> None:
    """uvicorn with the configuration of `calcapp serve` (backend/cli/serve.py, `cmd_serve`)."""
    # Imported here: granian's workers import this module for `app`, and need no uvicorn.
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        target,
        factory=True,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    with sock, contextlib.suppress(KeyboardInterrupt):
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the hello app on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    args = parser.parse_args()
    if args.server == "granian":
        command = granian_command("bench.hello_app:app", args.port, args.workers)
        os.execv(command[0], command)  # noqa: S606 — a fixed command line
    serve_uvicorn("bench.hello_app:app", args.port, args.workers)


if __name__ == "__main__":
    main()
