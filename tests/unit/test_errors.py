"""Every 4xx/5xx has the one JSON shape {"detail", "code"} (the handlers, on a tiny app)."""

from typing import Annotated

import pytest
from litestar import Litestar, get, post
from litestar.params import JSONBody, Parameter
from litestar.testing import TestClient

from backend.web.errors import EXCEPTION_HANDLERS, AppError, DatabaseUnavailableError


class EmailTakenError(AppError):
    status_code = 409
    code = "email_taken"


@get("/conflict")
async def conflict() -> None:
    raise EmailTakenError("That email is taken")


@get("/unavailable")
async def unavailable() -> None:
    raise DatabaseUnavailableError("The database is unreachable", headers={"Retry-After": "5"})


@get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals")


@get("/items")
async def items(limit: Annotated[int, Parameter(le=100)]) -> int:
    return limit


@post("/echo")
async def echo(data: JSONBody[dict[str, int]]) -> dict[str, int]:
    return data


@pytest.fixture
def client() -> TestClient[Litestar]:
    app = Litestar(
        [conflict, unavailable, boom, items, echo], exception_handlers=EXCEPTION_HANDLERS
    )
    return TestClient(app, raise_server_exceptions=False)


def test_domain_error_keeps_its_status_and_code(client: TestClient[Litestar]) -> None:
    response = client.get("/conflict")
    assert response.status_code == 409
    assert response.json() == {"detail": "That email is taken", "code": "email_taken"}


def test_service_unavailable_carries_retry_after(client: TestClient[Litestar]) -> None:
    response = client.get("/unavailable")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "database_unavailable"


def test_unexpected_error_is_a_500_without_internals(client: TestClient[Litestar]) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "code": "internal_error"}


def test_routing_errors_use_the_shape(client: TestClient[Litestar]) -> None:
    assert client.get("/missing").json() == {"detail": "Not Found", "code": "not_found"}
    response = client.delete("/conflict")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_validation_errors_are_422_with_the_field_named(client: TestClient[Litestar]) -> None:
    response = client.get("/items", params={"limit": "1000"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"].startswith("limit:")
    assert body["errors"][0]["key"] == "limit"


def test_malformed_json_is_a_clear_400(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
