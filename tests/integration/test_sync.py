"""The sync promise (docs/sync-protocol.md), over HTTP on a real PostgreSQL: every op reaches
the server exactly once and every device converges.

Invariant checked throughout: the server's set of (device_id, seq) equals the set of ops
created, without duplicates, and a pull from any device returns the same history. The
device's storage quota is a browser matter, tested in e2e/test_sync.py; the protocol's edges
(seq reuse, account switches, restores, partitions) are in test_sync_edges.py.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from sync import push as sync_push
from sync.driver import driver
from sync.partitions import month_start
from sync.protocol import parse_op
from testkit.sync_client import Device, keys, set_premium, stamp_z, statuses, stored

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]


async def test_a_lost_answer_is_healed_by_the_retry(premium_user: Any, database_url: str) -> None:
    async with premium_user() as api:
        device = Device(api)
        ops = [device.create(f"{i}+1") for i in range(5)]
        first = await device.push(ops)
        assert statuses(first) == ["applied"] * 5
        assert first.json()["ack_seq"] == 5
        retry = await device.push(ops)  # the first answer never reached the device
        assert statuses(retry) == ["duplicate"] * 5
        assert retry.json()["ack_seq"] == 5
        assert await stored(database_url, premium_user.email) == keys(ops, device)
        # A pull also tells the device what was settled.
        pulled = await api.post("/sync/pull", {"device_id": device.id})
        assert pulled.json()["acked_through"] == 5


async def test_the_same_batch_twice_in_parallel_is_stored_once(
    premium_user: Any, database_url: str
) -> None:
    async with premium_user() as first, premium_user() as second:
        device = Device(first)
        ops = [device.create(f"{i}*2") for i in range(50)]
        twin = Device(second)
        twin.id = device.id
        a, b = await asyncio.gather(device.push(ops), twin.push(ops))
        outcomes = sorted([statuses(a), statuses(b)])
        assert outcomes == [["applied"] * 50, ["duplicate"] * 50]
        assert await stored(database_url, premium_user.email) == keys(ops, device)


async def test_overlapping_batches_apply_once_and_a_gap_halts(
    premium_user: Any, database_url: str
) -> None:
    async with premium_user() as api:
        device = Device(api)
        ops = [device.create(f"{i}-1") for i in range(15)]
        assert statuses(await device.push(ops[:10])) == ["applied"] * 10
        overlap = await device.push(ops[4:15])
        assert statuses(overlap) == ["duplicate"] * 6 + ["applied"] * 5
        assert overlap.json()["ack_seq"] == 15

        later = [device.create(f"{i}/1") for i in range(5)]  # seqs 16..20
        gap = await device.push(later[1:])  # 16 is missing
        assert gap.json()["halted"] == {"seq": 17, "reason": "gap", "expected_seq": 16}
        assert gap.json()["results"] == [] and gap.json()["ack_seq"] == 15
        assert await stored(database_url, premium_user.email) == keys(ops, device)


async def test_same_millisecond_and_frozen_clocks_keep_every_op(
    premium_user: Any, database_url: str
) -> None:
    moment = datetime.now(UTC).replace(microsecond=123000)
    async with premium_user() as one, premium_user() as two:
        a, b = Device(one), Device(two)
        assert statuses(await a.push([a.create("1+1", at=moment)])) == ["applied"]
        assert statuses(await b.push([b.create("1+1", at=moment)])) == ["applied"]
        frozen = [a.create(f"{i}+{i}", at=moment) for i in range(5)]
        assert statuses(await a.push(frozen)) == ["applied"] * 5
        assert len(await stored(database_url, premium_user.email)) == 7


async def test_skewed_clocks_inside_the_window_sync_and_outside_it_are_re_minted(
    premium_user: Any, database_url: str
) -> None:
    async with (
        premium_user() as ahead_api,
        premium_user() as behind_api,
        premium_user() as other_api,
    ):
        ahead = Device(ahead_api, clock_offset=timedelta(days=3))
        behind = Device(behind_api, clock_offset=-timedelta(days=690))  # 23 months: inside
        ancient = Device(other_api)

        op = ahead.create("3 days ahead")
        halted = (await ahead.push([op])).json()
        now = datetime.fromisoformat(halted["server_time"])
        earliest = month_start(now).replace(year=now.year - 2)  # 24 months back, a UTC month
        assert halted["halted"] == {
            "seq": 1,
            "reason": "clock_out_of_range",
            "earliest": stamp_z(earliest),
            "latest": stamp_z(now + timedelta(hours=24)),
        }
        assert halted["ack_seq"] == 0
        op["created_at"] = halted["server_time"]  # re-minted from the server's clock
        assert statuses(await ahead.push([op])) == ["applied"]

        assert statuses(await behind.push([behind.create("23 months behind")])) == ["applied"]

        for moment in (datetime(1970, 1, 1, tzinfo=UTC), earliest - timedelta(microseconds=1)):
            old = ancient.create("too old", at=moment)
            refused = await ancient.push([old])
            assert refused.json()["halted"]["reason"] == "clock_out_of_range"
            old["created_at"] = refused.json()["server_time"]
            assert statuses(await ancient.push([old])) == ["applied"]
            assert statuses(await ancient.push([old])) == ["duplicate"]

        reader = Device(other_api)
        await reader.pull_all()
        assert sorted(item["expression"] for item in reader.seen.values()) == [
            "23 months behind",
            "3 days ahead",
            "too old",
            "too old",
        ]
        assert len(await stored(database_url, premium_user.email)) == 4


async def test_ten_days_offline_with_2000_calculations_reach_another_device(
    premium_user: Any,
) -> None:
    async with premium_user() as traveller_api, premium_user() as home_api:
        traveller, home = Device(traveller_api), Device(home_api)
        start = datetime.now(UTC) - timedelta(days=10)
        ops = [traveller.create(f"{i}+0", at=start + timedelta(minutes=7 * i)) for i in range(2000)]
        for offset in range(0, 2000, 500):
            assert statuses(await traveller.push(ops[offset : offset + 500])) == ["applied"] * 500
            await home.pull_all(limit=300)  # the other device keeps pulling meanwhile
        await home.pull_all()
        assert sorted(seq or 0 for _, seq in home.seen) == list(range(1, 2001))


async def test_a_crash_before_commit_applies_nothing(premium_user: Any, database_url: str) -> None:
    """The server dies mid-push, after the writes and before COMMIT: nothing is visible."""
    async with premium_user() as api:
        device = Device(api)
        ops = [device.create(f"{i}") for i in range(20)]
        user_id = uuid.UUID((await api.get("/me")).json()["id"])
        parsed = [parse_op(op) for op in ops]
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                transaction = await conn.begin()
                async with driver(conn) as raw:
                    answer = await sync_push.push(raw, user_id, uuid.UUID(device.id), parsed)
                assert answer.ack_seq == 20  # everything written...
                await transaction.rollback()  # ...and the process dies before COMMIT
        finally:
            await engine.dispose()
        assert await stored(database_url, premium_user.email) == []
        assert statuses(await device.push(ops)) == ["applied"] * 20
        assert await stored(database_url, premium_user.email) == keys(ops, device)


async def test_pulls_during_concurrent_pushes_skip_nothing_and_repeat_nothing(
    premium_user: Any,
) -> None:
    rng = random.Random(8)
    async with premium_user() as a_api, premium_user() as b_api, premium_user() as reader_api:
        writers = [Device(a_api), Device(a_api), Device(b_api)]
        reader = Device(reader_api)
        created: set[tuple[str, int]] = set()
        received: list[tuple[str | None, int | None]] = []

        async def write(device: Device) -> None:
            for _ in range(8):
                ops = [device.create(f"{rng.random()}") for _ in range(rng.randint(1, 40))]
                assert set(statuses(await device.push(ops))) == {"applied"}
                created.update((device.id, op["seq"]) for op in ops)
                await asyncio.sleep(0)

        async def read(stop: asyncio.Event) -> None:
            while not stop.is_set():
                received.extend((i["device_id"], i["seq"]) for i in await reader.pull_all(limit=7))

        stop = asyncio.Event()
        reading = asyncio.create_task(read(stop))
        try:
            await asyncio.gather(*(write(w) for w in writers))
        finally:
            stop.set()
            await reading
        received.extend((i["device_id"], i["seq"]) for i in await reader.pull_all(limit=7))
        assert len(received) == len(set(received)), "an item came twice"
        assert set(received) == created, "an item was skipped"


async def test_a_poison_op_is_rejected_with_its_reason_and_the_queue_moves_on(
    premium_user: Any, database_url: str
) -> None:
    async with premium_user() as api:
        device = Device(api)
        ops = [device.create(f"{i}") for i in range(5)]
        ops[2]["data"]["expression"] = "9" * 501
        response = await device.push(ops)
        results = response.json()["results"]
        assert [r["status"] for r in results] == [
            "applied",
            "applied",
            "rejected",
            "applied",
            "applied",
        ]
        assert "500" in results[2]["reason"] and results[2]["code"] == "too_long"
        assert response.json()["ack_seq"] == 5
        stored_seqs = [seq for _, seq, _ in await stored(database_url, premium_user.email)]
        assert stored_seqs == [1, 2, 4, 5]


async def test_premium_lapsing_refuses_the_queue_and_keeps_it(
    premium_user: Any, database_url: str
) -> None:
    async with premium_user() as api:
        device = Device(api)
        ops = [device.create(f"{i}") for i in range(3)]
        await set_premium(database_url, premium_user.email, active=False)
        refused = await device.push(ops)
        assert (refused.status_code, refused.json()["code"]) == (403, "premium_required")
        assert await stored(database_url, premium_user.email) == []
        await set_premium(database_url, premium_user.email, active=True)
        assert statuses(await device.push(ops)) == ["applied"] * 3


async def test_a_delete_reaches_a_device_that_was_offline(premium_user: Any) -> None:
    async with premium_user() as a_api, premium_user() as b_api:
        a, b = Device(a_api), Device(b_api)
        ops = [a.create("keep"), a.create("drop")]
        await a.push(ops)
        await b.pull_all()
        assert {i["expression"] for i in b.seen.values()} == {"keep", "drop"}
        # b goes offline; a deletes "drop" (it knows the row from its own op)
        target = {"device_id": a.id, "seq": ops[1]["seq"], "created_at": ops[1]["created_at"]}
        assert statuses(await a.push([a.delete(target)])) == ["applied"]
        changed = await b.pull_all()  # b is back
        assert [(i["expression"], i["deleted"]) for i in changed] == [("drop", True)]
        assert {i["expression"] for i in b.seen.values()} == {"keep"}


async def test_a_create_and_its_delete_in_one_push_leave_the_row_deleted(
    premium_user: Any,
) -> None:
    """A device offline calculates, then deletes the calculation: its queue carries both."""
    async with premium_user() as a_api, premium_user() as b_api:
        a, b = Device(a_api), Device(b_api)
        keep, drop = a.create("keep"), a.create("drop")
        target = {"device_id": a.id, "seq": drop["seq"], "created_at": drop["created_at"]}
        gone = a.delete(target)
        assert statuses(await a.push([keep, drop, gone])) == ["applied"] * 3
        await b.pull_all()
        assert {i["expression"] for i in b.seen.values()} == {"keep"}
