"""Regression tests for what fuzzing the API found (tests/fuzz/test_api_schema.py, and probes
of what its schema cannot describe): hostile input must get a documented 4xx, or a `rejected`
op, never a 500.

PostgreSQL text and jsonb cannot hold a NUL character (U+0000); cursors decode to integers
that PostgreSQL (bigint) or Python (datetime) cannot hold; JSON can nest deeper than the
decoder recurses and write numbers no float holds. And OPTIONS must name every method of a
path.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import httpx
import pytest

from testkit.api import Api
from testkit.sync_client import Device, statuses, stored

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]

NUL = "\x00"


def error(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.status_code, response.json()["code"]


def cursor(raw: bytes) -> str:
    """A cursor in the server's encoding (URL-safe base64 of a JSON array, unpadded)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_a_nul_in_a_display_name_is_a_422(premium_user: Any, server: str) -> None:
    async with premium_user() as api:
        answer = await api.patch("/me", {"display_name": f"Ada{NUL}"})
        assert error(answer) == (422, "validation_error")
        assert (await api.get("/me")).json()["display_name"] is None
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        email = f"nul-{uuid.uuid4().hex[:10]}@example.com"
        answer = await Api(client).signup(email, display_name=f"Ada{NUL}Lovelace")
        assert error(answer) == (422, "validation_error")


async def test_a_nul_in_a_history_search_is_a_422(premium_user: Any) -> None:
    async with premium_user() as api:
        assert error(await api.get("/history", params={"q": f"2{NUL}"})) == (
            422,
            "validation_error",
        )
        assert (await api.get("/history", params={"q": "2"})).status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"expression": f"1+{NUL}1", "result": "2"},
        {"expression": "1+1", "result": f"2{NUL}"},
        {"expression": "1+1", "result": "2", "metadata": {"note": f"a{NUL}b"}},
        {"expression": "1+1", "result": "2", "metadata": {f"k{NUL}": 1}},
        {"expression": "1+1", "result": "2", "metadata": {"deep": [{"x": [NUL]}]}},
    ],
    ids=["expression", "result", "metadata-value", "metadata-key", "metadata-nested"],
)
async def test_an_op_with_a_nul_is_rejected_and_the_queue_moves_on(
    premium_user: Any, database_url: str, data: dict[str, Any]
) -> None:
    async with premium_user() as api:
        device = Device(api)
        bad = device.create("ignored")
        bad["data"] = data
        good = device.create("3×3")
        answer = await device.push([bad, good])
        assert statuses(answer) == ["rejected", "applied"]
        assert answer.json()["ack_seq"] == good["seq"]
        assert "NUL" in answer.json()["results"][0]["reason"]
    assert await stored(database_url, premium_user.email) == [(device.id, good["seq"], False)]


@pytest.mark.parametrize(
    "raw",
    [
        b"[1,99999999999999999999999]",  # past bigint
        b"[1,-99999999999999999999999]",
        b"[-99999999999999999999999,1]",
        b"[9223372036854775808,1]",
    ],
)
async def test_a_pull_cursor_out_of_range_is_a_422(premium_user: Any, raw: bytes) -> None:
    async with premium_user() as api:
        body = {"device_id": str(uuid.uuid4()), "cursor": cursor(raw)}
        assert error(await api.post("/sync/pull", body)) == (422, "validation_error")


async def test_a_history_cursor_past_any_date_pages_from_the_end_or_start_of_time(
    premium_user: Any,
) -> None:
    """A bigint of microseconds that no datetime holds (~292,000 years from 1970): the
    page before the end of time is the first page, before the start of time it is empty."""
    async with premium_user() as api:
        device = Device(api)
        assert statuses(await device.push([device.create("1+1"), device.create("2+2")])) == [
            "applied",
            "applied",
        ]
        first_page = (await api.get("/history")).json()
        assert len(first_page["items"]) == 2
        end = await api.get("/history", params={"before": cursor(b"[9223372036854775807,1]")})
        assert end.status_code == 200, end.text
        assert end.json() == first_page
        start = await api.get("/history", params={"before": cursor(b"[-9223372036854775808,1]")})
        assert start.status_code == 200, start.text
        assert start.json() == {"items": [], "next_cursor": None}
        past_bigint = cursor(b"[1,99999999999999999999999]")
        answer = await api.get("/history", params={"before": past_bigint})
        assert error(answer) == (422, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        b'{"device_id": "00000000-0000-0000-0000-000000000001", "ops": '
        + b"[" * 20_000
        + b"]" * 20_000
        + b"}",
        b'{"device_id": "00000000-0000-0000-0000-000000000001", "ops": [{"seq": 1e400}]}',
    ],
    ids=["nested-too-deep", "number-out-of-range"],
)
async def test_json_no_decoder_can_hold_is_a_4xx(
    premium_user: Any, database_url: str, body: bytes
) -> None:
    async with premium_user() as api:
        answer = await api.post(
            "/sync/push", content=body, headers={"content-type": "application/json"}
        )
        assert error(answer) in {(400, "bad_request"), (422, "validation_error")}
        assert (await api.get("/me")).status_code == 200
    assert await stored(database_url, premium_user.email) == []


async def test_metadata_nested_as_deep_as_its_size_allows_is_stored_and_pulled_back(
    premium_user: Any,
) -> None:
    """900 levels of lists fit the 2 KiB `metadata` limit: PostgreSQL's jsonb takes them."""
    deep: Any = []
    for _ in range(900):
        deep = [deep]
    async with premium_user() as api:
        device = Device(api)
        op = device.create("1+1")
        op["data"]["metadata"] = {"deep": deep}
        assert statuses(await device.push([op])) == ["applied"]
        items = await device.pull_all()
        assert [item["metadata"] for item in items] == [{"deep": deep}]


async def test_options_lists_every_method_of_the_path(server: str) -> None:
    """`Allow` names what the document declares on each path (Litestar's own OPTIONS answer
    named only the first handler registered on a path: `GET, OPTIONS` for /me)."""
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        document = (await client.get("/api/schema/openapi.json")).json()
        for path, operations in document["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)  # path parameters: ids
            answer = await client.options(concrete)
            assert answer.status_code == 204, (path, answer.text)
            allowed = {method.strip() for method in answer.headers["allow"].split(",")}
            assert allowed == {method.upper() for method in operations} | {"OPTIONS"}, path
