"""The baseline of the request benchmarks: a bare Litestar app with one JSON route, served by
the same server and worker count as the app (`bench.hello_app:app`, a factory)."""

from __future__ import annotations

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


def app() -> Litestar:
    return Litestar([hello])
