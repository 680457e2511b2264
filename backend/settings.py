"""Settings: read from the environment once, validated, frozen.

Every problem is reported as one `SettingsError` line that names the variable, so that
`calcapp` can print it and exit without a traceback.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
SmtpSecurity = Literal["starttls", "tls", "none"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "calcapp-development-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32
MIN_TOKEN_LENGTH = 16
PRODUCTION_BCRYPT_ROUNDS = 12


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
    workers: int = dataclasses.field(default_factory=lambda: len(os.sched_getaffinity(0)))
    """Server processes (`calcapp serve`); the default is one per CPU this process may use."""
    secret_key: str = DEV_SECRET_KEY
    log_level: LogLevel = "INFO"
    static_dir: Path = PROJECT_ROOT / "pwa"
    public_url: str | None = None
    """Where users reach the app (links in mail); None means http://HOST:PORT."""
    bcrypt_rounds: int = PRODUCTION_BCRYPT_ROUNDS
    smtp_host: str | None = None
    """None means: mail is written to the log instead of sent (development only)."""
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: SmtpSecurity = "starttls"
    mail_from: str = "Calcapp <no-reply@calcapp.invalid>"
    stripe_secret_key: str | None = None
    """None means: billing is not configured (the upgrade page says so)."""
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_plan_id: str = "premium-monthly"
    stripe_api_base: str | None = None
    """An emulator (localstripe) instead of Stripe, e.g. http://127.0.0.1:8420."""
    metrics_token: str | None = None
    """None means: `GET /metrics` is open (development and tests only)."""
    trusted_proxies: tuple[Network, ...] = ()
    """Proxies whose `X-Forwarded-For` names the client; empty: the peer is the client."""
    smtp_allow_plaintext: bool = False
    """Production: allow `SMTP_SECURITY=none` (a relay on the same host or network)."""
    streams_per_account: int = 5
    """Live sync streams an account may hold open in one process (a new one closes the oldest)."""
    streams_per_process: int = 5000
    """Live sync streams one process holds at most (beyond: 503 `too_many_streams`)."""

    def __post_init__(self) -> None:
        if not (self.static_dir / "index.html").is_file():
            raise SettingsError(f"CALCAPP_STATIC_DIR has no index.html: {self.static_dir}")
        if self.stripe_secret_key and not (
            self.stripe_publishable_key and self.stripe_webhook_secret
        ):
            raise SettingsError(
                "STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET must be set "
                "with STRIPE_SECRET_KEY"
            )
        if not self.is_production:
            return
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"CALCAPP_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters when CALCAPP_ENV=production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.bcrypt_rounds < PRODUCTION_BCRYPT_ROUNDS:
            raise SettingsError(
                f"CALCAPP_BCRYPT_ROUNDS must be at least {PRODUCTION_BCRYPT_ROUNDS} "
                "when CALCAPP_ENV=production"
            )
        if self.public_url is None:
            raise SettingsError(
                "CALCAPP_PUBLIC_URL must be set when CALCAPP_ENV=production "
                "(the address users open, used in the links we mail)"
            )
        if self.smtp_host is None:
            raise SettingsError("SMTP_HOST must be set when CALCAPP_ENV=production")
        if self.smtp_security == "none" and not self.smtp_allow_plaintext:
            raise SettingsError(
                "SMTP_SECURITY=none sends mail (with sign-in links) unencrypted: in production "
                "set SMTP_ALLOW_PLAINTEXT=1 only when the relay is on this host or network"
            )
        if self.metrics_token is None:
            raise SettingsError(
                "CALCAPP_METRICS_TOKEN must be set when CALCAPP_ENV=production "
                "(the bearer token GET /metrics requires)"
            )
        if self.stripe_api_base and urlsplit(self.stripe_api_base).scheme != "https":
            raise SettingsError("STRIPE_API_BASE must be an https URL when CALCAPP_ENV=production")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def billing_configured(self) -> bool:
        return self.stripe_secret_key is not None

    @property
    def stripe_js_url(self) -> str:
        """Where the page loads Stripe.js from: Stripe, or the emulator's copy."""
        if self.stripe_api_base:
            return f"{self.stripe_api_base.rstrip('/')}/js.stripe.com/v3/"
        return "https://js.stripe.com/v3/"

    @property
    def base_url(self) -> str:
        """The public address of the app, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, field, parse in _FROM_ENV:
            raw = env.get(name, "").strip()
            if raw:
                values[field] = parse(name, raw)
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


Parser = Callable[[str, str], object]


def _text(name: str, raw: str) -> str:
    return raw


def _path(name: str, raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def _database_url(name: str, raw: str) -> str:
    return normalize_database_url(raw)


def _http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL such as https://calc.example.com")
    return raw


def _token(name: str, raw: str) -> str:
    if len(raw) < MIN_TOKEN_LENGTH or not raw.isascii() or not raw.isprintable() or " " in raw:
        raise SettingsError(
            f"{name} must be at least {MIN_TOKEN_LENGTH} printable ASCII characters, no spaces"
        )
    return raw


def _networks(name: str, raw: str) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SettingsError(
            f"{name} must be IP addresses or networks separated by commas "
            f"(such as 10.0.0.0/8, 127.0.0.1), got {raw!r}"
        ) from None


def _flag(name: str, raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes"}:
        return True
    if raw.lower() in {"0", "false", "no"}:
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


def _integer(low: int, high: int) -> Parser:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise SettingsError(f"{name} must be an integer from {low} to {high}, got {raw!r}")
        return value

    return parse


def _choice(allowed: tuple[str, ...], normalize: Callable[[str], str]) -> Parser:
    def parse(name: str, raw: str) -> str:
        value = normalize(raw)
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


_FROM_ENV: tuple[tuple[str, str, Parser], ...] = (
    ("CALCAPP_ENV", "env", _choice(get_args(Environment), str.lower)),
    ("HOST", "host", _text),
    ("PORT", "port", _integer(1, 65535)),
    ("DATABASE_URL", "database_url", _database_url),
    ("CALCAPP_DATA_DIR", "data_dir", _path),
    ("CALCAPP_DB_POOL_SIZE", "db_pool_size", _integer(1, 1000)),
    ("CALCAPP_WORKERS", "workers", _integer(1, 64)),
    ("CALCAPP_SECRET_KEY", "secret_key", _text),
    ("CALCAPP_LOG_LEVEL", "log_level", _choice(get_args(LogLevel), str.upper)),
    ("CALCAPP_STATIC_DIR", "static_dir", _path),
    ("CALCAPP_PUBLIC_URL", "public_url", _http_url),
    ("CALCAPP_BCRYPT_ROUNDS", "bcrypt_rounds", _integer(4, 16)),
    ("SMTP_HOST", "smtp_host", _text),
    ("SMTP_PORT", "smtp_port", _integer(1, 65535)),
    ("SMTP_USERNAME", "smtp_username", _text),
    ("SMTP_PASSWORD", "smtp_password", _text),
    ("SMTP_SECURITY", "smtp_security", _choice(get_args(SmtpSecurity), str.lower)),
    ("MAIL_FROM", "mail_from", _text),
    ("STRIPE_SECRET_KEY", "stripe_secret_key", _text),
    ("STRIPE_PUBLISHABLE_KEY", "stripe_publishable_key", _text),
    ("STRIPE_WEBHOOK_SECRET", "stripe_webhook_secret", _text),
    ("STRIPE_PLAN_ID", "stripe_plan_id", _text),
    ("STRIPE_API_BASE", "stripe_api_base", _http_url),
    ("CALCAPP_METRICS_TOKEN", "metrics_token", _token),
    ("CALCAPP_TRUSTED_PROXIES", "trusted_proxies", _networks),
    ("SMTP_ALLOW_PLAINTEXT", "smtp_allow_plaintext", _flag),
    ("CALCAPP_STREAMS_PER_ACCOUNT", "streams_per_account", _integer(1, 100)),
    ("CALCAPP_STREAMS_PER_PROCESS", "streams_per_process", _integer(1, 1_000_000)),
)
