"""Hostile and broken push/pull requests: the documented status or per-op result, nothing
stored that should not be, never a 500, and the queue never wedged by one bad op."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from testkit.sync_client import Device, set_premium, statuses, stored

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


async def test_signed_out_and_free_users_are_refused(
    premium_user: Any, database_url: str, make_api: Any
) -> None:
    async with make_api() as anonymous:
        envelope = {"device_id": str(uuid.uuid4()), "ops": []}
        assert error(await anonymous.post("/sync/push", envelope)) == (401, "not_authenticated")
    async with premium_user() as api:
        await set_premium(database_url, premium_user.email, active=False)
        for path, body in [
            ("/sync/push", {"device_id": str(uuid.uuid4()), "ops": []}),
            ("/sync/pull", {"device_id": str(uuid.uuid4())}),
        ]:
            assert error(await api.post(path, body)) == (403, "premium_required")
        assert error(await api.get("/history")) == (403, "premium_required")
        # Which methods a path takes is no secret: OPTIONS answers whoever asks.
        for path in ("/history", "/sync/push", "/sync/events"):
            options = await api.request("OPTIONS", path)
            assert options.status_code == 204, (path, options.text)
            assert "GET" in options.headers["allow"] or "POST" in options.headers["allow"]


@pytest.mark.parametrize(
    "body",
    [
        {"device_id": "not-a-uuid", "ops": []},
        {"device_id": None, "ops": []},
        {"ops": []},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": {}},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [], "extra": 1},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [42]},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [{"kind": "create"}]},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [{"seq": -1}]},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [{"seq": 0}]},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [{"seq": 2**63}]},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [{"seq": 1.5}]},
        {"device_id": "00000000-0000-0000-0000-000000000001", "ops": [], "acked_through": -3},
        [],
        "push",
    ],
)
async def test_malformed_envelopes_are_422(premium_user: Any, body: Any, database_url: str) -> None:
    async with premium_user() as api:
        assert error(await api.post("/sync/push", body)) == (422, "validation_error")
    assert await stored(database_url, premium_user.email) == []


async def test_too_many_ops_or_bytes_is_413(premium_user: Any, database_url: str) -> None:
    async with premium_user() as api:
        device = Device(api)
        too_many = [device.create(f"{i}") for i in range(501)]
        assert error(await device.push(too_many)) == (413, "batch_too_large")
        device.next_seq = 1
        padded = [device.create("1" * 499) for _ in range(400)]  # about 300 KiB
        assert error(await device.push(padded)) == (413, "request_too_large")
        assert statuses(await device.push(too_many[:500])) == ["applied"] * 500
    assert len(await stored(database_url, premium_user.email)) == 500


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"data": None}, "carries `data`"),
        ({"kind": "delete"}, "carries `target`"),
        ({"kind": "rename"}, "kind"),
        ({"op_id": "nope"}, "op_id"),
        ({"created_at": "2000-01-01T10:00:00"}, "created_at"),  # no time zone
        ({"created_at": "yesterday"}, "created_at"),
        ({"data": {"expression": "", "result": "1"}}, "expression"),
        ({"data": {"expression": "1", "result": "9" * 101}}, "result"),
        ({"data": {"expression": "1", "result": "1", "metadata": {"x": "y" * 3000}}}, "metadata"),
        ({"data": {"expression": "1", "result": "1", "metadata": [1]}}, "metadata"),
        ({"data": {"expression": "1", "result": "1", "admin": True}}, "admin"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_ops_are_rejected_and_do_not_block_the_queue(
    premium_user: Any, change: dict[str, Any], reason: str, database_url: str
) -> None:
    async with premium_user() as api:
        device = Device(api)
        ops = [device.create("1+1"), device.create("2+2"), device.create("3+3")]
        ops[1].update(change)
        response = await device.push(ops)
        assert statuses(response) == ["applied", "rejected", "applied"]
        assert reason in response.json()["results"][1]["reason"]
        assert response.json()["ack_seq"] == 3
    assert [seq for _, seq, _ in await stored(database_url, premium_user.email)] == [1, 3]


@pytest.mark.parametrize("year", [1, 1999, 9999])
async def test_dates_far_from_now_halt_for_a_new_timestamp(premium_user: Any, year: int) -> None:
    async with premium_user() as api:
        device = Device(api)
        op = device.create("1")
        op["created_at"] = f"{year:04d}-06-01T00:00:00Z"
        body = (await device.push([op])).json()
        assert (body["halted"]["seq"], body["halted"]["reason"]) == (1, "clock_out_of_range")
        assert (body["ack_seq"], body["results"]) == (0, [])


async def test_duplicate_seqs_inside_one_batch(premium_user: Any, database_url: str) -> None:
    async with premium_user() as api:
        device = Device(api)
        first = device.create("1")
        same = dict(first)
        clash = {**first, "op_id": str(uuid.uuid4())}
        response = await device.push([first, same, clash])
        assert sorted(statuses(response)) == ["applied", "conflict", "duplicate"]
    assert len(await stored(database_url, premium_user.email)) == 1


async def test_a_lost_counter_is_a_conflict(premium_user: Any) -> None:
    async with premium_user() as api:
        device = Device(api)
        await device.push([device.create("before the reinstall")])
        device.next_seq = 1  # the device forgot its counter, kept its id
        assert statuses(await device.push([device.create("after")])) == ["conflict"]


async def test_another_users_device_id_is_409(
    premium_user: Any, make_api: Any, database_url: str
) -> None:
    async with premium_user() as api:
        mine = Device(api)
        await mine.push([mine.create("mine")])
    email = f"other-{uuid.uuid4().hex[:8]}@example.com"
    async with make_api() as other:
        await other.signup(email)
        await set_premium(database_url, email, active=True)
        await other.login(email)
        thief = Device(other)
        thief.id = mine.id
        assert error(await thief.push([thief.create("x")])) == (409, "device_user_mismatch")
        pull = await other.post("/sync/pull", {"device_id": mine.id})
        assert error(pull) == (409, "device_user_mismatch")
        assert (await other.post("/sync/pull", {"device_id": str(uuid.uuid4())})).json()[
            "items"
        ] == []
    assert len(await stored(database_url, email)) == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"cursor": "garbage!"}, (422, "validation_error")),
        ({"cursor": "W3siYSI6MX1d"}, (422, "validation_error")),
        ({"limit": 0}, (422, "validation_error")),
        ({"limit": 1001}, (422, "validation_error")),
        ({"cursor": "WzEwMDAwMDAsMV0"}, (409, "cursor_expired")),  # version 1000000, ahead
    ],
)
async def test_bad_pull_requests(
    premium_user: Any, body: dict[str, Any], expected: tuple[int, str]
) -> None:
    async with premium_user() as api:
        response = await api.post("/sync/pull", {"device_id": str(uuid.uuid4()), **body})
        assert error(response) == expected
