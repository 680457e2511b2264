"""The app of one worker process: what an ASGI server imports (`backend.asgi:app`, a factory).

`calcapp serve` resolves the database (starting the embedded server if needed), puts its URL in
the environment, and starts the workers; each builds its app here from the environment, once.
"""

from __future__ import annotations

from litestar import Litestar

from backend.app import create_app
from backend.settings import Settings
from backend.web.logs import configure_logging


def app() -> Litestar:
    settings = Settings.from_env()
    configure_logging(settings)
    return create_app(settings)
