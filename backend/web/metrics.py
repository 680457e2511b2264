"""Prometheus metrics: one registry per app, the HTTP middleware, and `GET /metrics`.

Litestar's own Prometheus plugin is not used: its middleware keeps its metrics in a class
attribute and registers them in prometheus_client's process-wide default registry (and its
controller always exports that registry), so two apps in one process (the tests make many)
would share, or clash over, the same counters. It also runs as a route middleware, which
never sees requests that match no route. Here each `create_app` makes its own
`CollectorRegistry`, and the middleware wraps the whole application.

Labels stay bounded: the route is Litestar's path template (`/api/v1/...`, `/{path}` for
the web app's files), never the raw path; a request that matches no route is `unmatched`.
"""

from __future__ import annotations

import collections
import hmac
from collections.abc import Callable, Iterable
from typing import Any

from litestar import Request, get
from litestar.datastructures import CacheControlHeader
from litestar.response import Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.pool import Pool, QueuePool

from backend.settings import Settings
from backend.web.deps import Provided
from backend.web.errors import NotAuthenticatedError
from sync.protocol import REJECT_CODES, OpResult

PATH = "/metrics"
MEDIA_TYPE = "text/plain; version=0.0.4"  # Prometheus' text format (Litestar adds the charset)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
SYNC_OUTCOMES = ("applied", "duplicate", "rejected", "conflict")
WEBHOOK_OUTCOMES = ("processed", "duplicate", "invalid_signature", "error")
UNKNOWN_EVENT = "unknown"
"""The event type of a webhook whose signature failed: its body is not to be trusted."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
OUTBOX_AGE_BUCKETS = (
    1.0,
    10.0,
    _MINUTE,
    5 * _MINUTE,
    15 * _MINUTE,
    _HOUR,
    6 * _HOUR,
    _DAY,
    7 * _DAY,
    30 * _DAY,
)


class PoolCollector(Collector):
    """The database pool's gauges, read from the engine's pool at scrape time."""

    def __init__(self, pool: Callable[[], Pool | None]) -> None:
        self._pool = pool

    def collect(self) -> Iterable[Metric]:
        pool = self._pool()
        if not isinstance(pool, QueuePool):  # not started yet (or stopped)
            return
        gauges = (
            ("calcapp_db_pool_size", "Connections the pool keeps open at most", pool.size()),
            ("calcapp_db_pool_checked_out", "Connections in use by requests", pool.checkedout()),
            ("calcapp_db_pool_checked_in", "Idle connections in the pool", pool.checkedin()),
        )
        for name, documentation, value in gauges:
            yield GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """The app's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The labelled children, found once per label set: this runs on every request.
        self._request_counters: dict[tuple[str, str, int], Any] = {}
        self._request_timers: dict[tuple[str, str], Any] = {}
        self.http_requests = Counter(
            "calcapp_http_requests_total",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "calcapp_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sync_ops = Counter(
            "calcapp_sync_ops_total",
            "Pushed sync ops, by the server's answer",
            ["outcome"],
            registry=self.registry,
        )
        self.sync_rejected = Counter(
            "calcapp_sync_rejected_ops_total",
            "Pushed sync ops the server rejected, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.outbox_age = Histogram(
            "calcapp_sync_outbox_oldest_age_seconds",
            "Age of the oldest op waiting in a device's outbox, as clients report it on push",
            buckets=OUTBOX_AGE_BUCKETS,
            registry=self.registry,
        )
        self.streams_open = Gauge(
            "calcapp_sync_streams_open",
            "Live sync event streams open in this process",
            registry=self.registry,
        )
        self.pokes_sent = Counter(
            "calcapp_sync_pokes_total",
            "Pokes (the account's new version) written to live sync streams",
            registry=self.registry,
        )
        self.poke_to_pull = Histogram(
            "calcapp_sync_poke_to_pull_seconds",
            "From a process hearing of a push to the pull it made a device do, as clients "
            "report it on that pull",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.webhook_events = Counter(
            "calcapp_stripe_webhook_events_total",
            "Stripe webhook deliveries, by event type and outcome",
            ["type", "outcome"],
            registry=self.registry,
        )
        for outcome in SYNC_OUTCOMES:
            self.sync_ops.labels(outcome)
        for reason in REJECT_CODES:
            self.sync_rejected.labels(reason)

    def watch_pool(self, pool: Callable[[], Pool | None]) -> None:
        self.registry.register(PoolCollector(pool))

    def record_push(self, results: Iterable[OpResult], oldest_age_ms: int | None) -> None:
        outcomes = collections.Counter(result.status for result in results)
        for outcome, count in outcomes.items():
            self.sync_ops.labels(outcome).inc(count)
        if outcomes["rejected"]:
            reasons = collections.Counter(r.code for r in results if r.code is not None)
            for reason, count in reasons.items():
                self.sync_rejected.labels(reason).inc(count)
        if oldest_age_ms is not None:
            self.outbox_age.observe(oldest_age_ms / 1000)

    def record_pull(self, poke_heard_at_ms: int | None, now_ms: int) -> None:
        """A pull; `poke_heard_at_ms`: the poke it answers, as the stream gave it (this
        server's clock; a value from the future or over an hour old is ignored)."""
        if poke_heard_at_ms is not None and 0 <= now_ms - poke_heard_at_ms <= _HOUR * 1000:
            self.poke_to_pull.observe((now_ms - poke_heard_at_ms) / 1000)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request (the edge layer calls it for every request)."""
        method = method if method in METHODS else "other"
        key = (method, route, status)
        counter = self._request_counters.get(key)
        if counter is None:
            counter = self._request_counters[key] = self.http_requests.labels(
                method, route, str(status)
            )
        counter.inc()
        timer = self._request_timers.get((method, route))
        if timer is None:
            timer = self._request_timers[(method, route)] = self.http_duration.labels(method, route)
        timer.observe(seconds)

    def record_webhook(self, event_type: str, outcome: str) -> None:
        self.webhook_events.labels(event_type[:100], outcome).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _authorized(request: Request[Any, Any, Any], token: str | None) -> bool:
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@get(
    PATH,
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(no_store=True),
    opt={"exclude_from_csrf": True},  # a scraper needs no CSRF cookie
)
def metrics_endpoint(
    request: Request[Any, Any, Any],
    metrics: Provided[Metrics],
    settings: Provided[Settings],
) -> Response[bytes]:
    """Prometheus' text format; behind `CALCAPP_METRICS_TOKEN` as a bearer token when set."""
    if not _authorized(request, settings.metrics_token):
        raise NotAuthenticatedError(
            "The metrics need the bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return Response(metrics.exposition(), media_type=MEDIA_TYPE)
