"""Operations: `/metrics` (Prometheus), `/api/v1/ready`, request ids and production JSON logs,
all as a scraper, a load balancer or an operator reading the log observes them."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.app import create_app
from backend.db import migrations as migrate
from backend.settings import Settings, SettingsError
from testkit.api import Api
from testkit.mailbox import Mailbox
from testkit.stripe_support import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, signed_event
from testkit.support import calcapp_env, free_port, in_thread, migrated_database, running_server
from testkit.sync_client import Device, set_premium, statuses

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(exposition: str) -> Samples:
    """Every sample of a scrape, as Prometheus' own parser reads it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return parse(response.text)


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


# ---------------------------------------------------------------- /metrics


async def test_requests_are_counted_and_timed_by_route_template(settings: Settings) -> None:
    async with app_client(settings) as client:
        for _ in range(2):
            assert (await client.get("/api/v1/health")).status_code == 200
        assert (await client.get("/js/app.js")).status_code == 200
        assert (await client.get(f"/no-such-{uuid.uuid4().hex}.js")).status_code == 404
        assert (await client.post(f"/api/v1/no-such-{uuid.uuid4().hex}")).status_code == 404

        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert response.headers["cache-control"] == "no-store"
        assert "set-cookie" not in response.headers
        samples = parse(response.text)

    health = {"method": "GET", "route": "/api/v1/health"}
    assert value(samples, "calcapp_http_requests_total", **health, status="200") == 2
    assert value(samples, "calcapp_http_request_duration_seconds_count", **health) == 2
    assert value(samples, "calcapp_http_request_duration_seconds_bucket", **health, le="+Inf") == 2
    buckets = [
        dict(labels)["le"]
        for name, labels in samples
        if name == "calcapp_http_request_duration_seconds_bucket"
        and dict(labels)["route"] == "/api/v1/health"
    ]
    assert {"0.005", "0.1", "1.0", "10.0", "+Inf"} <= set(buckets)
    # The web app's files share one template; a path that is no file is unmatched; no raw
    # path becomes a label.
    files = {"method": "GET", "route": "/{path}"}
    assert value(samples, "calcapp_http_requests_total", **files, status="200") == 1
    missing = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(samples, "calcapp_http_requests_total", **missing) == 1
    unmatched = {"method": "POST", "route": "unmatched", "status": "404"}
    assert value(samples, "calcapp_http_requests_total", **unmatched) == 1
    routes = {dict(labels).get("route", "") for _, labels in samples}
    assert not any("no-such" in route or "app.js" in route for route in routes)


async def test_metrics_are_outside_the_api_and_its_schema(settings: Settings) -> None:
    async with app_client(settings) as client:
        spec = (await client.get("/api/schema/openapi.json")).json()
        assert (await client.get("/api/v1/metrics")).status_code == 404
    assert not any("metrics" in path for path in spec["paths"])
    assert "/api/v1/ready" in spec["paths"]


async def test_a_metrics_token_is_required_once_configured(settings: Settings) -> None:
    token = "scrape-" + uuid.uuid4().hex
    async with app_client(dataclasses.replace(settings, metrics_token=token)) as client:
        for headers in ({}, {"authorization": "Bearer wrong-token-0123456789"}):
            response = await client.get("/metrics", headers=headers)
            assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
            assert response.headers["www-authenticate"] == "Bearer"
        response = await client.get("/metrics", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert "calcapp_http_requests_total" in response.text


def test_the_metrics_token_setting_is_checked() -> None:
    token = "a" * 16
    assert Settings.from_env({"CALCAPP_METRICS_TOKEN": token}).metrics_token == token
    assert Settings.from_env({}).metrics_token is None
    for bad in ("short", "has a space in it!!", "ünïcode-token-value"):
        with pytest.raises(SettingsError, match="CALCAPP_METRICS_TOKEN"):
            Settings.from_env({"CALCAPP_METRICS_TOKEN": bad})


async def test_sync_ops_are_counted_by_outcome_with_the_outbox_age(
    settings: Settings, database_url: str, email: str
) -> None:
    async with app_client(settings) as client:
        api = Api(client)
        assert (await api.signup(email)).status_code == 202
        await set_premium(database_url, email, active=True)
        assert (await api.login(email)).status_code == 200
        device = Device(api)
        first = [device.create("1+1"), device.create("2+2")]
        assert statuses(await device.push(first, outbox_oldest_age_ms=90_000)) == ["applied"] * 2
        bad = {**device.create("3+3"), "kind": "rename"}
        clash = {**first[1], "op_id": str(uuid.uuid4())}
        long = device.create("4" * 501)
        # a lost answer's retry, a reused seq, two poison ops
        retry = [first[0], clash, bad, long]
        assert statuses(await device.push(retry, outbox_oldest_age_ms=3_600_000 * 48)) == [
            "duplicate",
            "conflict",
            "rejected",
            "rejected",
        ]
        refused = await device.push([], outbox_oldest_age_ms=-1)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
        samples = await scrape(client)

    for outcome, count in {"applied": 2, "duplicate": 1, "conflict": 1, "rejected": 2}.items():
        assert value(samples, "calcapp_sync_ops_total", outcome=outcome) == count, outcome
    for reason, count in {"invalid": 1, "too_long": 1, "nul_character": 0}.items():
        assert value(samples, "calcapp_sync_rejected_ops_total", reason=reason) == count, reason
    age = "calcapp_sync_outbox_oldest_age_seconds"
    assert value(samples, f"{age}_count") == 2
    assert value(samples, f"{age}_sum") == 90 + 48 * 3600
    assert value(samples, f"{age}_bucket", le="60.0") == 0
    assert value(samples, f"{age}_bucket", le="300.0") == 1
    assert value(samples, f"{age}_bucket", le="86400.0") == 1
    assert value(samples, f"{age}_bucket", le="604800.0") == 2


async def test_the_pool_gauges_show_connections_in_use(settings: Settings) -> None:
    async with app_client(settings) as client:
        assert (await client.get("/api/v1/health")).status_code == 200
        idle = await scrape(client)
        # Two connections held on the app's own event loop (the test client runs it in a thread).
        engine: AsyncEngine = client.app.state.engine

        async def check_out_two() -> list[AsyncConnection]:
            return [await engine.connect().start(), await engine.connect().start()]

        async def give_back(held: list[AsyncConnection]) -> None:
            for conn in held:
                await conn.close()

        held = client.blocking_portal.call(check_out_two)
        busy = await scrape(client)
        client.blocking_portal.call(give_back, held)
        after = await scrape(client)

    assert value(idle, "calcapp_db_pool_size") == settings.db_pool_size
    assert value(idle, "calcapp_db_pool_checked_out") == 0
    assert value(idle, "calcapp_db_pool_checked_in") == 1
    assert value(busy, "calcapp_db_pool_checked_out") == 2
    assert value(after, "calcapp_db_pool_checked_out") == 0
    assert value(after, "calcapp_db_pool_checked_in") == 2


async def test_webhook_deliveries_are_counted_by_type_and_outcome(settings: Settings) -> None:
    # Verifying and recording these events needs no call to Stripe: an address where nothing
    # listens is enough (the plan check at start-up fails and is logged).
    billing = dataclasses.replace(
        settings,
        stripe_secret_key=SECRET_KEY,
        stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=f"http://127.0.0.1:{free_port()}",
    )
    # A type the app records and otherwise ignores.
    body, signature = signed_event(
        "charge.succeeded", {"id": "ch_monitoring"}, event_id=f"evt_{uuid.uuid4().hex}"
    )

    async with app_client(billing) as client:

        async def deliver(signature: str) -> httpx.Response:
            return await client.post(
                "/api/v1/billing/webhook",
                content=body,
                headers={"stripe-signature": signature, "content-type": "application/json"},
            )

        forged = await deliver("t=1,v1=00ff")
        assert (forged.status_code, forged.json()["code"]) == (400, "invalid_signature")
        assert (await deliver(signature)).json() == {"received": True, "duplicate": False}
        assert (await deliver(signature)).json() == {"received": True, "duplicate": True}
        samples = await scrape(client)

    events = "calcapp_stripe_webhook_events_total"
    assert value(samples, events, type="unknown", outcome="invalid_signature") == 1
    assert value(samples, events, type="charge.succeeded", outcome="processed") == 1
    assert value(samples, events, type="charge.succeeded", outcome="duplicate") == 1


# ---------------------------------------------------------------- /ready


async def test_ready_on_a_database_at_the_head_revision(settings: Settings) -> None:
    async with app_client(settings) as client:
        response = await client.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": migrate.head_revision()}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("revision", ["0004_user_search_index", None])
async def test_not_ready_until_the_migrations_are_applied(
    settings: Settings, make_database: Callable[[], str], revision: str | None
) -> None:
    url = migrated_database(make_database, revision) if revision else make_database()
    async with app_client(dataclasses.replace(settings, database_url=url)) as client:
        response = await client.get("/api/v1/ready")
        assert response.status_code == 503
        assert response.json()["code"] == "migrations_pending"
        assert (revision or "none") in response.json()["detail"]
        assert migrate.head_revision() in response.json()["detail"]
        # Liveness is another question: the process and its database are fine.
        assert (await client.get("/api/v1/health")).status_code == 200

        in_thread(migrate.upgrade, url)
        assert (await client.get("/api/v1/ready")).status_code == 200


async def test_not_ready_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    async with app_client(dataclasses.replace(settings, database_url=unreachable)) as client:
        response = await client.get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is unreachable",
        "code": "database_unavailable",
    }


# ---------------------------------------------------------------- request ids

HEX_ID = re.compile(r"[0-9a-f]{32}")


async def test_a_valid_request_id_is_echoed_and_others_replaced(settings: Settings) -> None:
    async with app_client(settings) as client:

        async def answered_id(path: str, sent: str | None = None) -> str:
            headers = {} if sent is None else {"x-request-id": sent}
            return (await client.get(path, headers=headers)).headers["x-request-id"]

        for good in ("abc", "Trace.ID_42-x", "a" * 64):
            assert await answered_id("/api/v1/health", good) == good
        for bad in ("a" * 65, "has space", "semi;colon", "new\\nline", ""):
            replaced = await answered_id("/api/v1/health", bad)
            assert HEX_ID.fullmatch(replaced), (bad, replaced)
        first, second = await answered_id("/"), await answered_id("/")
        assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second


async def test_errors_carry_a_request_id_too(settings: Settings) -> None:
    async with app_client(settings) as client:
        api = Api(client)
        invalid = await api.post("/auth/signup", {"email": "x"}, headers={"x-request-id": "r-422"})
        missing = await client.post("/api/v1/nothing-here", headers={"x-request-id": "r-404"})
        unknown_file = await client.get("/nothing-here.css", headers={"x-request-id": "r-f404"})
    assert (invalid.status_code, invalid.headers["x-request-id"]) == (422, "r-422")
    assert (missing.status_code, missing.headers["x-request-id"]) == (404, "r-404")
    assert (unknown_file.status_code, unknown_file.headers["x-request-id"]) == (404, "r-f404")


# ---------------------------------------------------------------- production logs


def test_a_production_server_logs_json_lines_with_request_ids(
    database_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    env = calcapp_env(
        DATABASE_URL=database_url,
        CALCAPP_ENV="production",
        CALCAPP_SECRET_KEY="monitoring-" + "x" * 40,
        CALCAPP_PUBLIC_URL="https://calc.example.com",
        SMTP_HOST=mailbox.host,
        SMTP_PORT=str(mailbox.port),
        SMTP_SECURITY="none",
        SMTP_ALLOW_PLAINTEXT="1",
        CALCAPP_METRICS_TOKEN="m" * 32,
    )
    log = tmp_path / "calcapp.log"
    with running_server(env, log=log) as (base_url, _):
        traced = httpx.get(
            f"{base_url}/api/v1/health?token=never-logged-secret",
            headers={"x-request-id": "trace-me-123"},
        )
        untraced = httpx.get(f"{base_url}/api/v1/missing")
    assert traced.status_code == 200 and untraced.status_code == 404
    text = log.read_text()
    assert "never-logged-secret" not in text

    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line), line
    access = {line["request_id"]: line for line in lines if line["logger"] == "calcapp.access"}
    assert access["trace-me-123"]["http_path"] == "/api/v1/health"
    assert access["trace-me-123"]["http_status"] == 200
    generated = access[untraced.headers["x-request-id"]]
    assert (generated["http_path"], generated["http_status"]) == ("/api/v1/missing", 404)
    assert any("Calcapp on http://" in line["message"] for line in lines)
