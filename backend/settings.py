"""Settings: read from the environment once, validated, frozen.

Every problem is reported as one `SettingsError` line that names the variable, so that
`calcapp` can print it and exit without a traceback.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "calcapp-development-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message is one line for the operator."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    env: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    """None means: start the embedded PostgreSQL under `data_dir`."""
    data_dir: Path = PROJECT_ROOT / ".data"
    db_pool_size: int = 10
    secret_key: str = DEV_SECRET_KEY
    log_level: LogLevel = "INFO"
    static_dir: Path = PROJECT_ROOT / "pwa"

    def __post_init__(self) -> None:
        if not (self.static_dir / "index.html").is_file():
            raise SettingsError(f"CALCAPP_STATIC_DIR has no index.html: {self.static_dir}")
        if self.env == "production" and (
            self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < MIN_SECRET_LENGTH
        ):
            raise SettingsError(
                f"CALCAPP_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters when CALCAPP_ENV=production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        values: dict[str, object] = {}
        if (raw := get("CALCAPP_ENV")) is not None:
            values["env"] = _choice("CALCAPP_ENV", raw.lower(), get_args(Environment))
        if (raw := get("HOST")) is not None:
            values["host"] = raw
        if (raw := get("PORT")) is not None:
            values["port"] = _integer("PORT", raw, low=1, high=65535)
        if (raw := get("DATABASE_URL")) is not None:
            values["database_url"] = normalize_database_url(raw)
        if (raw := get("CALCAPP_DATA_DIR")) is not None:
            values["data_dir"] = Path(raw).expanduser().resolve()
        if (raw := get("CALCAPP_DB_POOL_SIZE")) is not None:
            values["db_pool_size"] = _integer("CALCAPP_DB_POOL_SIZE", raw, low=1, high=1000)
        if (raw := get("CALCAPP_SECRET_KEY")) is not None:
            values["secret_key"] = raw
        if (raw := get("CALCAPP_STATIC_DIR")) is not None:
            values["static_dir"] = Path(raw).expanduser().resolve()
        if (raw := get("CALCAPP_LOG_LEVEL")) is not None:
            values["log_level"] = _choice("CALCAPP_LOG_LEVEL", raw.upper(), get_args(LogLevel))
        return cls(**values)  # type: ignore[arg-type]


def normalize_database_url(raw: str) -> str:
    """Accept `postgresql://` or `postgres://` and return the asyncpg form SQLAlchemy needs."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError(
            "DATABASE_URL is not a valid URL: expected postgresql+asyncpg://user:password@host:port/db"
        ) from None
    if url.drivername in {"postgresql", "postgres", "postgresql+asyncpg"}:
        url = url.set(drivername="postgresql+asyncpg")
    else:
        raise SettingsError(
            f"DATABASE_URL must be a PostgreSQL URL (postgresql+asyncpg://...), "
            f"got scheme {url.drivername!r}"
        )
    if not url.database:
        raise SettingsError("DATABASE_URL names no database: add /dbname after the host")
    return url.render_as_string(hide_password=False)


def describe_database_url(raw: str) -> str:
    """The URL without its password, for messages and logs."""
    url: URL = make_url(raw)
    return url.render_as_string(hide_password=True)


def _integer(name: str, raw: str, *, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingsError(f"{name} must be an integer from {low} to {high}, got {raw!r}")
    return value


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw
