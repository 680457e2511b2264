"""`GET /api/v1/history`: newest first, keyset pages, case-insensitive search, no tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from testkit.sync_client import Device, set_premium, statuses

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]


async def test_pages_newest_first_without_repeats(premium_user: Any) -> None:
    async with premium_user() as api:
        device = Device(api)
        start = datetime.now(UTC) - timedelta(days=40)  # spans two monthly partitions
        ops = [device.create(f"{i}+{i}", at=start + timedelta(hours=i)) for i in range(120)]
        assert set(statuses(await device.push(ops))) == {"applied"}

        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 50, **({"before": cursor} if cursor else {})}
            page = (await api.get("/history", params=params)).json()
            seen += [item["expression"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"{i}+{i}" for i in reversed(range(120))]


async def test_search_is_case_insensitive_and_literal(premium_user: Any) -> None:
    async with premium_user() as api:
        device = Device(api)
        expressions = ["12+1", "5%+12", "1e5*2", "1E5/3", "3_000", "100%"]
        await device.push([device.create(e) for e in expressions])

        async def search(q: str) -> list[str]:
            response = await api.get("/history", params={"q": q})
            assert response.status_code == 200, response.text
            return sorted(item["expression"] for item in response.json()["items"])

        assert await search("12") == ["12+1", "5%+12"]
        assert await search("e5") == ["1E5/3", "1e5*2"]
        assert await search("%") == ["100%", "5%+12"]  # a literal percent, not a wildcard
        assert await search("_") == ["3_000"]
        for _ in range(8):  # past the point where a prepared statement may go generic
            assert await search("e5") == ["1E5/3", "1e5*2"]


async def test_a_search_pages_through_every_month_once(premium_user: Any) -> None:
    """Matches from minutes to twenty months old, over many monthly partitions, come back
    newest first and each once, on any page size; a short term (no trigram) as well."""
    async with premium_user() as api:
        device = Device(api)
        now = datetime.now(UTC)
        ages = [0, 1, 20, 30, 31, 32, 60, 91, 92, 93, 200, 365, 366, 367, 450, 600]
        matches = [
            device.create(f"7×{age}", at=now - timedelta(days=age, minutes=5)) for age in ages
        ]
        others = [device.create("8+8", at=now - timedelta(days=age)) for age in ages]
        assert set(statuses(await device.push(matches + others))) == {"applied"}
        newest_first = [f"7×{age}" for age in ages]

        async def search_all(q: str, limit: int) -> list[str]:
            seen: list[str] = []
            cursor = None
            while True:
                params = {"q": q, "limit": limit, **({"before": cursor} if cursor else {})}
                response = await api.get("/history", params=params)
                assert response.status_code == 200, response.text
                page = response.json()
                assert len(page["items"]) <= limit
                seen += [item["expression"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    return seen

        for limit in (1, 2, 3, 5, 16, 100):
            assert await search_all("7×", limit) == newest_first, limit
        assert await search_all("7", 10) == newest_first  # also walks every month
        unfiltered = (await api.get("/history", params={"limit": 100})).json()["items"]
        assert len(unfiltered) == 2 * len(ages)


async def test_deleted_entries_are_gone_and_others_history_is_invisible(
    premium_user: Any, make_api: Any, database_url: str
) -> None:
    async with premium_user() as api:
        device = Device(api)
        ops = [device.create("keep me"), device.create("delete me")]
        await device.push(ops)
        target = {"device_id": device.id, "seq": 2, "created_at": ops[1]["created_at"]}
        await device.push([device.delete(target)])
        items = (await api.get("/history")).json()["items"]
        assert [item["expression"] for item in items] == ["keep me"]

    async with make_api() as other:
        email = "stranger-" + device.id[:8] + "@example.com"
        await other.signup(email)
        await set_premium(database_url, email, active=True)
        await other.login(email)
        assert (await other.get("/history")).json() == {"items": [], "next_cursor": None}
        assert (await other.get("/history", params={"q": "keep"})).json()["items"] == []


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"before": "nope"}, {"q": ""}, {"q": "x" * 101}]
)
async def test_bad_history_queries_are_422(premium_user: Any, params: dict[str, Any]) -> None:
    async with premium_user() as api:
        response = await api.get("/history", params=params)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
