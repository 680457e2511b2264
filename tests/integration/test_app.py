"""The app over a real database: health, OpenAPI, the PWA at /, security headers."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings

pytestmark = pytest.mark.db


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(Settings(database_url=database_url))) as client:
        yield client


async def test_health_reports_the_database(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert set(body["database"]) == {"status", "latency_ms"}  # no version for strangers
    assert response.headers["cache-control"] == "no-store"


async def test_a_fresh_health_answer_is_the_routed_one(
    client: AsyncTestClient[Litestar],
) -> None:
    """Within a second of a check, the edge layer answers from the probe: the same answer."""
    routed = await client.get("/api/v1/health")  # checks the database
    fresh = await client.get("/api/v1/health")  # answered before routing
    head = await client.head("/api/v1/health")
    assert routed.json() == fresh.json()
    assert head.status_code == 200 and head.content == b""

    def shown(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k not in {"x-request-id"}}

    assert shown(fresh) == shown(routed)
    assert fresh.headers["x-request-id"] != routed.headers["x-request-id"]


async def test_health_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is unreachable",
        "code": "database_unavailable",
    }
    assert response.headers["retry-after"] == "5"


async def test_openapi_documents_the_api(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/schema/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Calcapp API"
    assert {"/api/v1/health", "/api/v1/auth/signup", "/api/v1/me", "/api/v1/me/export"} <= set(
        spec["paths"]
    )
    signup = spec["paths"]["/api/v1/auth/signup"]["post"]
    assert signup["requestBody"]["required"] is True


async def test_pwa_is_served_at_the_root_with_security_headers(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Calcapp</title>" in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unknown_api_path_is_a_json_404(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "content-security-policy" in response.headers


async def test_static_folder_comes_from_settings(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<title>Other</title>")
    settings = Settings(database_url=database_url, static_dir=tmp_path)
    async with AsyncTestClient(create_app(settings)) as client:
        assert "<title>Other</title>" in (await client.get("/")).text


async def test_production_adds_hsts_and_secure_cookies(database_url: str) -> None:
    settings = Settings(
        env="production",
        database_url=database_url,
        secret_key="p" * 48,
        public_url="https://calc.example.com",
        smtp_host="127.0.0.1",
        metrics_token="m" * 32,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/api/v1/auth/csrf")
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert "Secure" in response.headers["set-cookie"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
