"""The sync promise at its edges (docs/sync-protocol.md), over HTTP on a real PostgreSQL:
seq reuse, entries uploaded from a device's own history, account switches, restores,
retention and partitions.

The tests that archive, restore or remove partitions work in a database of their own, with a
`calcapp serve` of their own on it.

Over 400 lines: one test per edge of the sync promise (thirteen), several with a server and
database of their own.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.db.server import connect
from backend.ops.partitions import add_months
from sync.partitions import month_start
from sync.protocol import Position, encode_cursor
from testkit.api import Api
from testkit.support import calcapp_env, migrated_database, run_calcapp, running_server
from testkit.sync_client import Device, set_premium, statuses, stored

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]


def months_ago(count: int, *, day: int = 10) -> datetime:
    """A moment in the UTC month `count` months before the current one."""
    return add_months(month_start(datetime.now(UTC)), -count) + timedelta(days=day - 1, hours=12)


async def sql(url: str, query: str, *args: Any) -> list[Any]:
    conn = await connect(url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def partition_months(url: str) -> set[datetime]:
    rows = await sql(
        url,
        r"""SELECT CAST(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']*)''\)')
                   AS timestamptz) AS month
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'calculation_history'::regclass""",
    )
    return {row["month"] for row in rows}


@dataclass
class Isolated:
    """A migrated database of the test's own, and `calcapp` run against it."""

    url: str
    env: dict[str, str]

    def calcapp(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = run_calcapp(*args, env=self.env)
        assert done.returncode == 0, done.stderr
        return done

    @contextmanager
    def server(self) -> Iterator[str]:
        with running_server(self.env) as (base_url, _):
            yield base_url

    async def account(self, base_url: str) -> str:
        email = f"edge-{uuid.uuid4().hex[:10]}@example.com"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            assert (await Api(client).signup(email)).status_code == 202
        await set_premium(self.url, email, active=True)
        return email


@pytest.fixture
def isolated(make_database: Callable[[], str]) -> Isolated:
    url = migrated_database(make_database)
    return Isolated(url, calcapp_env(DATABASE_URL=url, CALCAPP_BCRYPT_ROUNDS="4"))


@asynccontextmanager
async def signed_in(base_url: str, email: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        api = Api(client)
        assert (await api.login(email)).status_code == 200
        yield api


# ---------------------------------------------------------------- seq reuse


async def test_another_op_at_a_settled_seq_is_a_conflict_whatever_settled_it(
    premium_user: Any, database_url: str
) -> None:
    async with premium_user() as api:
        device = Device(api)
        create = device.create("1+1")
        delete = device.delete({**create, "device_id": device.id})
        too_long = device.create("9" * 501)  # rejected, its op id readable
        unreadable = {**device.create("2+2"), "op_id": "not-a-uuid"}  # rejected
        first = [create, delete, too_long, unreadable]
        answer = (await device.push(first)).json()
        assert [r["status"] for r in answer["results"]] == [
            "applied",
            "applied",
            "rejected",
            "rejected",
        ]

        # The same ops again (a lost answer): settled, and a rejected op says why again.
        again = (await device.push(first)).json()["results"]
        assert [r["status"] for r in again] == ["duplicate", "duplicate", "rejected", "rejected"]
        assert again[2]["code"] == "too_long" and "500" in again[2]["reason"]

        # Other ops at the same seqs (a device that lost its counter): conflicts, whichever
        # kind of op settled the seq, so the device re-sends them under a new id.
        device.next_seq = 1
        others = [device.create(f"{n}×3") for n in range(4)]
        assert statuses(await device.push(others)) == ["conflict"] * 4
        assert await stored(database_url, premium_user.email) == [(device.id, 1, True)]


async def test_another_op_at_a_seq_whose_row_was_archived_is_a_conflict(
    isolated: Isolated, tmp_path: Path
) -> None:
    old = months_ago(20)
    with isolated.server() as base_url:
        email = await isolated.account(base_url)
        async with signed_in(base_url, email) as api:
            device = Device(api)
            archived_op = device.create("archived", at=old)
            assert statuses(await device.push([archived_op, device.create("kept")])) == [
                "applied",
                "applied",
            ]
            isolated.calcapp(
                "partitions", "archive", "--older-than-months", "19", "--to", str(tmp_path)
            )
            assert month_start(old) not in await partition_months(isolated.url)

            assert statuses(await device.push([archived_op])) == ["duplicate"]
            device.next_seq = 1
            assert statuses(await device.push([device.create("reused seq")])) == ["conflict"]

            # The archived month is outside the live window now: refused, no partition made.
            later = Device(api)
            halted = (await later.push([later.create("into the archive", at=old)])).json()
            assert halted["halted"]["reason"] == "clock_out_of_range"
            assert halted["halted"]["earliest"].startswith(
                f"{add_months(month_start(old), 1):%Y-%m-%d}"
            )
            assert month_start(old) not in await partition_months(isolated.url)


# ---------------------------------------------------------------- entries of a device's own history


async def test_an_uploaded_entry_is_stored_once_whatever_device_sends_it(
    premium_user: Any, database_url: str
) -> None:
    entries = [str(uuid.uuid4()) for _ in range(4)]

    def upload(device: Device, entry: str, expression: str) -> dict[str, Any]:
        return {**device.create(expression), "entry_id": entry}

    async with premium_user() as api:
        first = Device(api)
        sent = [upload(first, entries[0], "a"), upload(first, entries[1], "b")]
        assert statuses(await first.push(sent)) == ["applied", "applied"]

        # The same local entries again, from a new device id (IndexedDB lost, say).
        second = Device(api)
        batch = [
            upload(second, entries[0], "a"),
            upload(second, entries[1], "b"),
            upload(second, entries[2], "c"),
            upload(second, entries[3], "d"),
            upload(second, entries[3], "d"),  # twice in one batch
        ]
        assert statuses(await second.push(batch)) == [
            "duplicate",
            "duplicate",
            "applied",
            "applied",
            "duplicate",
        ]
        assert statuses(await second.push(batch)) == ["duplicate"] * 5  # a lost answer

        reader = Device(api)
        await reader.pull_all()
        assert sorted(i["expression"] for i in reader.seen.values()) == ["a", "b", "c", "d"]
    assert len(await stored(database_url, premium_user.email)) == 4


# ---------------------------------------------------------------- one account's data


async def test_a_push_or_pull_naming_another_account_is_refused_and_changes_nothing(
    premium_user: Any, database_url: str
) -> None:
    async with premium_user() as owner_api:
        owner = uuid.UUID((await owner_api.get("/me")).json()["id"])
    other_email = f"other-{uuid.uuid4().hex[:10]}@example.com"
    async with premium_user() as api:  # a client of the first account, to sign up the second
        assert (await api.signup(other_email)).status_code == 202
    await set_premium(database_url, other_email, active=True)
    async with premium_user() as api:
        assert (await api.login(other_email)).status_code == 200
        device = Device(api)
        ops = [device.create("not mine")]

        pushed = await device.push(ops, account_id=str(owner))
        pulled = await api.post("/sync/pull", {"device_id": device.id, "account_id": str(owner)})
        for response in (pushed, pulled):
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "account_mismatch"
        assert await stored(database_url, other_email) == []
        assert await stored(database_url, premium_user.email) == []
        assert (
            await sql(
                database_url, "SELECT 1 FROM sync_device WHERE device_id = $1", uuid.UUID(device.id)
            )
            == []
        )

        me = (await api.get("/me")).json()["id"]
        assert statuses(await device.push(ops, account_id=me)) == ["applied"]
        assert statuses(await device.push([device.create("no account named")])) == ["applied"]
        assert (
            await api.post("/sync/pull", {"device_id": device.id, "account_id": me})
        ).status_code == 200
    assert len(await stored(database_url, other_email)) == 2


# ---------------------------------------------------------------- restores and retention


async def fresh_view(api: Api) -> dict[tuple[Any, Any], str]:
    """What a device syncing from scratch holds."""
    device = Device(api)
    await device.pull_all()
    return {key: item["expression"] for key, item in device.seen.items()}


async def expired_then_rebuilt(device: Device) -> None:
    """A device pulls with its old cursor, is told it expired, and rebuilds from the start."""
    response = await device.api.post(
        "/sync/pull", {"device_id": device.id, "cursor": device.cursor}
    )
    assert response.status_code == 409 and response.json()["code"] == "cursor_expired"
    device.cursor = None
    device.seen.clear()
    await device.pull_all()


async def test_a_partition_restore_brings_rows_back_to_every_device(
    isolated: Isolated, tmp_path: Path
) -> None:
    with isolated.server() as base_url:
        email = await isolated.account(base_url)
        async with signed_in(base_url, email) as api:
            writer, reader = Device(api), Device(api)
            await writer.push([writer.create("old", at=months_ago(20)), writer.create("new")])
            await reader.pull_all()
            isolated.calcapp(
                "partitions", "archive", "--older-than-months", "19", "--to", str(tmp_path)
            )
            assert await fresh_view(api) == {(writer.id, 2): "new"}
            before = (await writer.push([writer.create("newer")])).json()["version"]
            await reader.pull_all()

            archive = tmp_path / f"calculation_history_{months_ago(20):%Y_%m}.csv.gz"
            isolated.calcapp("partitions", "restore", str(archive))

            await expired_then_rebuilt(reader)
            expected = {(writer.id, 1): "old", (writer.id, 2): "new", (writer.id, 3): "newer"}
            assert {k: i["expression"] for k, i in reader.seen.items()} == expected
            assert reader.seen[(writer.id, 1)]["version"] > before  # a fresh version
            assert await fresh_view(api) == expected


async def test_after_a_backup_restore_devices_converge_and_resend_what_the_server_lost(
    isolated: Isolated, tmp_path: Path
) -> None:
    backup = tmp_path / "calcapp.dump"
    with isolated.server() as base_url:
        email = await isolated.account(base_url)
        async with signed_in(base_url, email) as api:
            maker, reader = Device(api), Device(api)
            kept = [maker.create(f"kept {n}") for n in range(3)]
            assert statuses(await maker.push(kept)) == ["applied"] * 3
            isolated.calcapp("db", "backup", str(backup))
            lost = [maker.create(f"lost {n}") for n in range(3)]
            assert statuses(await maker.push(lost)) == ["applied"] * 3
            await reader.pull_all()
            assert len(reader.seen) == 6

    isolated.calcapp("db", "restore", "--force", str(backup))  # the server is stopped for it

    with isolated.server() as base_url:
        async with signed_in(base_url, email) as api:
            maker.api = reader.api = api
            await expired_then_rebuilt(reader)
            assert sorted(i["expression"] for i in reader.seen.values()) == [
                f"kept {n}" for n in range(3)
            ]
            # The maker learns the server settled only up to seq 3: it sends what it made
            # after that again, each with its op id as the entry id, from the seq expected.
            page = (await api.post("/sync/pull", {"device_id": maker.id})).json()
            assert page["acked_through"] == 3
            maker.next_seq = 4
            resent = [
                {**maker.create(op["data"]["expression"]), "entry_id": op["op_id"]} for op in lost
            ]
            assert statuses(await maker.push(resent)) == ["applied"] * 3
            # Sent again after a crash, or by a device that took a new id: stored once.
            again = Device(api)
            copies = [
                {**again.create(op["data"]["expression"]), "entry_id": op["entry_id"]}
                for op in resent
            ]
            assert statuses(await again.push(copies)) == ["duplicate"] * 3

            await reader.pull_all()
            everything = sorted([f"kept {n}" for n in range(3)] + [f"lost {n}" for n in range(3)])
            assert sorted(i["expression"] for i in reader.seen.values()) == everything
            assert sorted((await fresh_view(api)).values()) == everything


async def test_after_retention_deletes_the_history_devices_converge_to_empty(
    isolated: Isolated, mail_env: dict[str, str]
) -> None:
    with isolated.server() as base_url:
        email = await isolated.account(base_url)
        async with signed_in(base_url, email) as api:
            maker, reader = Device(api), Device(api)
            assert statuses(await maker.push([maker.create("1"), maker.create("2")])) == [
                "applied",
                "applied",
            ]
            await reader.pull_all()
            # Premium ended 100 days ago, and the warning went out 8 days ago.
            await sql(
                isolated.url,
                """UPDATE subscriptions SET status = 'canceled',
                       current_period_end = now() - interval '100 days'""",
            )
            await sql(
                isolated.url,
                """INSERT INTO retention_notices (user_id, kind, premium_ended_at, sent_at)
                   SELECT user_id, 'history_deletion', current_period_end,
                          now() - interval '8 days' FROM subscriptions""",
            )
            run = run_calcapp("retention", "run", env={**isolated.env, **mail_env})
            assert (
                "synced history: 2 calculation(s) of 1 canceled user(s) were deleted" in run.stdout
            )
            await set_premium(isolated.url, email, active=True)  # back, with nothing synced

            await expired_then_rebuilt(reader)
            assert reader.seen == {}
            page = (await api.post("/sync/pull", {"device_id": maker.id})).json()
            assert (page["items"], page["acked_through"]) == ([], 2)  # nothing to send again


async def test_expiring_the_sync_cursors_makes_every_device_rebuild(
    premium_user: Any, database_url: str
) -> None:
    """After a restore by other means (a provider's point-in-time recovery)."""
    async with premium_user() as api:
        writer, reader = Device(api), Device(api)
        await writer.push([writer.create("1"), writer.create("2")])
        await reader.pull_all()
        done = run_calcapp("db", "expire-sync-cursors", env=calcapp_env(DATABASE_URL=database_url))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("sync cursors expired for ")
        await expired_then_rebuilt(reader)
        assert sorted(i["expression"] for i in reader.seen.values()) == ["1", "2"]


async def test_a_cursor_of_the_first_protocol_version_is_expired(premium_user: Any) -> None:
    async with premium_user() as api:
        device = Device(api)
        await device.push([device.create("1")])
        old = encode_cursor(Position(first=0, id=0))
        response = await api.post("/sync/pull", {"device_id": device.id, "cursor": old})
        assert response.status_code == 409 and response.json()["code"] == "cursor_expired"


# ---------------------------------------------------------------- partitions


async def test_two_users_pushing_into_months_without_partitions_at_once_never_fail(
    isolated: Isolated,
) -> None:
    with isolated.server() as base_url:
        emails = [await isolated.account(base_url) for _ in range(2)]
        async with signed_in(base_url, emails[0]) as one, signed_in(base_url, emails[1]) as two:
            devices = [Device(one), Device(two)]
            for round_ in range(1, 21):
                moment = months_ago(round_)
                assert month_start(moment) not in await partition_months(isolated.url)
                answers = await asyncio.gather(
                    *(d.push([d.create(f"round {round_}", at=moment)]) for d in devices)
                )
                assert [statuses(a) for a in answers] == [["applied"], ["applied"]]
    for email in emails:
        assert len(await stored(isolated.url, email)) == 20


async def test_a_push_into_a_new_month_does_not_wait_for_other_writers(
    isolated: Isolated,
) -> None:
    moment = months_ago(7)
    with isolated.server() as base_url:
        email = await isolated.account(base_url)
        writer = await connect(isolated.url)
        try:
            # Another transaction writing to the history stays open during the push.
            transaction = writer.transaction()
            await transaction.start()
            await writer.execute(
                """INSERT INTO calculation_history (user_id, expression, result)
                   SELECT id, '1', '1' FROM users LIMIT 1"""
            )
            async with signed_in(base_url, email) as api:
                device = Device(api)
                assert statuses(await device.push([device.create("new month", at=moment)])) == [
                    "applied"
                ]
            await transaction.rollback()
        finally:
            await writer.close()
    assert month_start(moment) in await partition_months(isolated.url)


async def test_dates_outside_the_window_make_no_partition(isolated: Isolated) -> None:
    with isolated.server() as base_url:
        email = await isolated.account(base_url)
        async with signed_in(base_url, email) as api:
            device = Device(api)
            # 25 months back, and 6 months ahead (the server makes 3 months ahead itself).
            for moment in (months_ago(25), months_ago(-6)):
                answer = (await device.push([device.create("far", at=moment)])).json()
                assert answer["halted"]["reason"] == "clock_out_of_range"
                device.next_seq -= 1
                assert month_start(moment) not in await partition_months(isolated.url)


async def test_the_server_makes_partitions_ahead_before_it_serves(isolated: Isolated) -> None:
    ahead = [add_months(month_start(datetime.now(UTC)), n) for n in (2, 3)]
    for month in ahead:
        await sql(isolated.url, f"DROP TABLE calculation_history_{month:%Y_%m}")
    assert not set(ahead) & await partition_months(isolated.url)
    with isolated.server():
        assert set(ahead) <= await partition_months(isolated.url)
