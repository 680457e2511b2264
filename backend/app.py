"""`create_app(settings)`: the one place where the application is wired together."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, MutableScopeHeaders
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from backend import health
from backend.accounts import routes as accounts
from backend.accounts.passwords import PasswordHasher
from backend.accounts.sessions import provide_viewer
from backend.db import database_lifespan, provide_engine, provide_session
from backend.errors import EXCEPTION_HANDLERS
from backend.history import routes as premium_history
from backend.mail import mailer_from_settings
from backend.pwa import Shell, shell_file, shell_index
from backend.settings import Settings

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """A hook adding the security headers to every response (pages, API, errors, static)."""
    headers = {
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-frame-options": "DENY",
    }
    if settings.is_production:
        headers["strict-transport-security"] = "max-age=63072000"

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableScopeHeaders.from_message(message)
            for name, value in headers.items():
                if name not in response_headers:
                    response_headers[name] = value

    return add_headers


def create_app(settings: Settings) -> Litestar:
    api = Router(
        path=API_PREFIX,
        route_handlers=[health.health, accounts.router(), premium_history.router()],
        # API answers carry user data or live state: never cache them.
        cache_control=CacheControlHeader(no_store=True),
    )
    shell = Shell(settings.static_dir, watch=not settings.is_production)
    hasher = PasswordHasher(settings.bcrypt_rounds)
    mailer = mailer_from_settings(settings)

    return Litestar(
        route_handlers=[api, shell_index, shell_file],
        dependencies={
            "engine": Provide(provide_engine),
            "db_session": Provide(provide_session),
            "viewer": Provide(provide_viewer),
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "shell": Provide(lambda: shell, sync_to_thread=False),
            "hasher": Provide(lambda: hasher, sync_to_thread=False),
            "mailer": Provide(lambda: mailer, sync_to_thread=False),
        },
        lifespan=[database_lifespan(settings)],
        on_shutdown=[hasher.close],
        exception_handlers=EXCEPTION_HANDLERS,
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="csrftoken",
            header_name="x-csrftoken",
            cookie_secure=settings.is_production,
            cookie_samesite="lax",
        ),
        request_max_body_size=MAX_BODY_BYTES,
        before_send=[security_headers(settings)],
        openapi_config=OpenAPIConfig(
            title="Calcapp API",
            version="1",
            path="/api/schema",
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        ),
        logging_config=None,
        debug=False,
    )
