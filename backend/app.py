"""`create_app(settings)`: the one place where the application is wired together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin

from backend.accounts import routes as accounts
from backend.accounts.auth import authentication, provide_account
from backend.accounts.passwords import PasswordHasher
from backend.billing import routes as billing
from backend.billing.gateway import StripeGateway
from backend.db import migrations as migrate
from backend.db.engine import database_lifespan, provide_engine, provide_session
from backend.live import routes as live
from backend.live.hub import Hub
from backend.live.listener import live_lifespan
from backend.mail import mailer_from_settings
from backend.privacy import routes as privacy
from backend.settings import Settings
from backend.sync_api import routes as premium_history
from backend.sync_api.upkeep import partition_upkeep_lifespan
from backend.web import health
from backend.web.edge import Edge
from backend.web.errors import EXCEPTION_HANDLERS, AppError
from backend.web.metrics import PATH as PATH_METRICS
from backend.web.metrics import Metrics, metrics_endpoint
from backend.web.security import security_headers
from backend.web.static import Shell
from sync.partitions import Partitions

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024
logger = logging.getLogger(__name__)


def billing_lifespan(
    gateway: StripeGateway | None,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Make sure Stripe has our plan when the app starts; a failure is logged, not fatal
    (payments are retried on first use, the rest of the app does not depend on Stripe)."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if gateway is not None:
            try:
                await gateway.ensure_plan()
            except AppError as exc:
                logger.warning("Stripe plan not checked at start-up: %s", exc.detail)
        try:
            yield
        finally:
            if gateway is not None:
                await gateway.close()

    return lifespan


def create_app(settings: Settings) -> Litestar:
    api = Router(
        path=API_PREFIX,
        route_handlers=[
            health.health,
            health.ready,
            accounts.router(),
            privacy.router(),
            premium_history.router(),
            live.events,
            billing.router(),
        ],
        # API answers carry user data or live state: never cache them.
        cache_control=CacheControlHeader(no_store=True),
    )
    shell = Shell(settings.static_dir, watch=not settings.is_production)
    hasher = PasswordHasher(settings.bcrypt_rounds)
    mailer = mailer_from_settings(settings)
    gateway = StripeGateway(settings) if settings.billing_configured else None
    metrics = Metrics()
    probe = health.DatabaseProbe()
    partitions = Partitions()
    hub = Hub(
        per_account=settings.streams_per_account,
        per_process=settings.streams_per_process,
        metrics=metrics,
    )
    migration_head = migrate.head_revision()
    # The app's state from the start (Litestar keeps a non-empty one it is given).
    state = State({"settings": settings, "hub": hub, "gateway": gateway})
    sync_parts = premium_history.SyncParts(state, partitions, metrics)

    app = Litestar(
        route_handlers=[api, metrics_endpoint],
        state=state,
        dependencies={
            "engine": Provide(provide_engine, sync_to_thread=False),
            "probe": Provide(lambda: probe, sync_to_thread=False),
            "db_session": Provide(provide_session),
            "account": Provide(provide_account, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "hasher": Provide(lambda: hasher, sync_to_thread=False),
            "mailer": Provide(lambda: mailer, sync_to_thread=False),
            "gateway": Provide(lambda: gateway, sync_to_thread=False),
            "metrics": Provide(lambda: metrics, sync_to_thread=False),
            "partitions": Provide(lambda: partitions, sync_to_thread=False),
            "hub": Provide(lambda: hub, sync_to_thread=False),
            "sync": Provide(lambda: sync_parts, sync_to_thread=False),
            "migration_head": Provide(lambda: migration_head, sync_to_thread=False),
        },
        lifespan=[
            database_lifespan(settings),
            partition_upkeep_lifespan(),
            live_lifespan(hub, settings),
            billing_lifespan(gateway),
        ],
        on_shutdown=[hasher.close],
        exception_handlers=EXCEPTION_HANDLERS,
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            # __Host-: only this origin sets it (no subdomain can plant one), Secure, Path=/.
            cookie_name="__Host-csrftoken" if settings.is_production else "csrftoken",
            header_name="x-csrftoken",
            cookie_secure=settings.is_production,
            cookie_samesite="lax",
            exclude=[
                API_PREFIX + billing.WEBHOOK_PATH,  # Stripe signs its events instead
                # Read-only answers for probes and scrapers: no cookie to make for them.
                API_PREFIX + "/health",
                API_PREFIX + "/ready",
                PATH_METRICS,
            ],
        ),
        # `request.user`: the session's account (or None), for the routes' guards and handlers.
        middleware=[authentication],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Calcapp API",
            version="1",
            path="/api/schema",
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        ),
        logging_config=None,
        debug=False,
    )
    assert app.state is state
    metrics.watch_pool(lambda: app.state.engine.pool if "engine" in app.state else None)
    # Around the whole app, not as route middleware: requests matching no route count too, and
    # the PWA's files are answered before routing.
    app.asgi_handler = Edge(
        app.asgi_handler,
        metrics=metrics,
        shell=shell,
        security_headers=security_headers(settings),
        answers={API_PREFIX + "/health": probe.fresh_answer},
    )
    return app
