"""The push engine's promise as a property (hypothesis), checked against a model of the
protocol (design note sync-protocol.md) on a real PostgreSQL.

Each example is a fresh user with 1-3 devices and a random run of actions: devices mint
creates and deletes (of their own earlier creates, or of rows already on the server, as a
client that pulled them would), push batches of their outbox (any subset, in any order, with
duplicates, so gaps and retries happen), and resend earlier batches verbatim (a lost answer).
Every push is a transaction of its own, as the endpoint runs it (`sync.push.push` on the
ops as `parse_op` reads them from JSON). Checked:

- each answer is what the protocol says: per op `applied`, `duplicate`, or a `gap` halt, and
  `ack_seq` the highest seq settled;
- the stored rows are exactly the distinct (device, seq) creates acknowledged, each once,
  deleted exactly when an acknowledged delete targets them (deleting again changes nothing);
- versions strictly increase with every push that changes something, and never otherwise;
- a pull from cursor 0, page by page, returns every row once (live ones as live, deletes as
  tombstones), in version order, each with the version of the push that last changed it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sync import pull as sync_pull
from sync import push as sync_push
from sync.driver import driver
from sync.partitions import Partitions
from sync.protocol import PullPosition, decode_pull_cursor, parse_op
from testkit.sync_client import stamp

pytestmark = pytest.mark.db

Key = tuple[uuid.UUID, int]


@dataclass
class ModelDevice:
    """A device as the protocol sees it: its minted ops (seq = index + 1) and what the
    server has settled for it (`last_seq`), and the batches it sent (to resend them)."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    minted: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
    sent: list[list[dict[str, Any]]] = field(default_factory=list)


@dataclass
class Model:
    devices: list[ModelDevice]
    clock: datetime
    creates: dict[Key, dict[str, Any]] = field(default_factory=dict)
    """Every create minted, by (device, seq)."""
    stored: set[Key] = field(default_factory=set)
    deleted: set[Key] = field(default_factory=set)
    row_version: dict[Key, int] = field(default_factory=dict)
    version: int = 0

    def tick(self) -> str:
        """A distinct client timestamp (same-millisecond clashes are test 4's business)."""
        self.clock += timedelta(milliseconds=1)
        return stamp(self.clock)

    def mint_create(self, device: ModelDevice) -> None:
        seq = len(device.minted) + 1
        op = {
            "seq": seq,
            "op_id": str(uuid.uuid4()),
            "kind": "create",
            "created_at": self.tick(),
            "data": {"expression": f"{seq}+{len(self.creates)}", "result": "1"},
        }
        device.minted.append(op)
        self.creates[(device.id, seq)] = op

    def delete_targets(self, device: ModelDevice) -> list[Key]:
        """What a client may delete: rows it pulled (on the server), or its own earlier
        creates, which reach the server first since ops settle in seq order."""
        own = {(device.id, op["seq"]) for op in device.minted if op["kind"] == "create"}
        return sorted(self.stored | own, key=lambda key: (str(key[0]), key[1]))

    def mint_delete(self, device: ModelDevice, target: Key) -> None:
        created = self.creates[target]
        device.minted.append(
            {
                "seq": len(device.minted) + 1,
                "op_id": str(uuid.uuid4()),
                "kind": "delete",
                "created_at": self.tick(),
                "target": {
                    "device_id": str(target[0]),
                    "seq": target[1],
                    "created_at": created["created_at"],
                },
            }
        )

    def expect(
        self, device: ModelDevice, batch: list[dict[str, Any]]
    ) -> tuple[list[tuple[int, str]], dict[str, Any] | None, list[dict[str, Any]]]:
        """The protocol's answer to `batch`: results, halt, and the ops it applies."""
        last = device.last_seq
        results: list[tuple[int, str]] = []
        applied: list[dict[str, Any]] = []
        halted = None
        for op in sorted(batch, key=lambda op: int(op["seq"])):
            seq = int(op["seq"])
            if seq <= last:
                results.append((seq, "duplicate"))
            elif seq > last + 1:
                halted = {"seq": seq, "reason": "gap", "expected_seq": last + 1}
                break
            else:
                results.append((seq, "applied"))
                applied.append(op)
                last = seq
        return sorted(results), halted, applied

    def settle(self, device: ModelDevice, applied: list[dict[str, Any]], version: int) -> None:
        for op in applied:
            device.last_seq = int(op["seq"])
            if op["kind"] == "create":
                key = (device.id, int(op["seq"]))
                self.stored.add(key)
            else:
                target = op["target"]
                key = (uuid.UUID(target["device_id"]), int(target["seq"]))
                assert key in self.stored, "the model only deletes rows already stored"
                if key in self.deleted:
                    continue  # deleting a tombstone again changes nothing
                self.deleted.add(key)
            self.row_version[key] = version


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


async def new_user(db: AsyncEngine) -> uuid.UUID:
    async with db.begin() as conn:
        user_id = await conn.scalar(
            text("INSERT INTO users (email, password_hash) VALUES (:email, 'x') RETURNING id"),
            {"email": f"prop-{uuid.uuid4().hex[:12]}@example.com"},
        )
    assert isinstance(user_id, uuid.UUID)
    return user_id


PARTITIONS = Partitions()


async def push(
    db: AsyncEngine, user_id: uuid.UUID, device: ModelDevice, batch: list[dict[str, Any]]
) -> Any:
    """As the endpoint does it: the months' partitions first, then the push's transaction."""
    ops = [parse_op(op) for op in batch]
    await PARTITIONS.prepare(db, [p.op.created_at for p in ops if p.op and p.op.kind == "create"])
    async with db.begin() as conn, driver(conn) as raw:
        return await sync_push.push(raw, user_id, device.id, ops)


async def rows(db: AsyncEngine, user_id: uuid.UUID) -> list[tuple[Key, bool]]:
    async with db.connect() as conn:
        found = await conn.execute(
            text(
                """SELECT device_id, seq, deleted_at IS NOT NULL AS deleted
                   FROM calculation_history WHERE user_id = :user_id"""
            ),
            {"user_id": user_id},
        )
        return [((row.device_id, row.seq), row.deleted) for row in found]


async def pull_everything(
    db: AsyncEngine, user_id: uuid.UUID, device: ModelDevice, limit: int
) -> tuple[list[Any], int]:
    """Every page from cursor 0; the items and the `acked_through` of the last page."""
    items: list[Any] = []
    after: PullPosition | None = None
    while True:
        async with db.connect() as conn:
            page = await sync_pull.pull(conn, user_id, device.id, after, limit)
        items += page.items
        assert page.next_cursor is not None
        position = decode_pull_cursor(page.next_cursor)
        assert isinstance(position, PullPosition)
        after = position
        if not page.has_more:
            return items, page.acked_through


def halt_dict(halt: Any) -> dict[str, Any]:
    answer = {"seq": halt.seq, "reason": halt.reason}
    if halt.expected_seq is not None:
        answer["expected_seq"] = halt.expected_seq
    return answer


ACTIONS = st.sampled_from(["create", "create", "delete", "push", "push", "retry"])


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data(), device_count=st.integers(min_value=1, max_value=3))
async def test_pushes_store_each_acknowledged_create_once_and_pull_returns_them(
    db: AsyncEngine, data: st.DataObject, device_count: int
) -> None:
    user_id = await new_user(db)
    model = Model(
        devices=[ModelDevice() for _ in range(device_count)],
        clock=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1),
    )
    for action in data.draw(st.lists(ACTIONS, min_size=10, max_size=40), label="actions"):
        device = data.draw(st.sampled_from(model.devices), label="device")
        if action == "create":
            model.mint_create(device)
            continue
        if action == "delete":
            targets = model.delete_targets(device)
            if targets:
                model.mint_delete(device, data.draw(st.sampled_from(targets), label="target"))
            continue
        if action == "retry":
            if not device.sent:
                continue
            batch = data.draw(st.sampled_from(device.sent), label="resent batch")
        else:
            if not device.minted:
                continue
            picked = data.draw(
                st.lists(st.sampled_from(device.minted), min_size=1, max_size=8), label="batch"
            )
            batch = data.draw(st.permutations(picked), label="order")
        device.sent.append(batch)

        results, halted, applied = model.expect(device, batch)
        answer = await push(db, user_id, device, batch)
        assert sorted((r.seq, r.status) for r in answer.results) == results
        assert (None if answer.halted is None else halt_dict(answer.halted)) == halted
        if applied:
            assert answer.version > model.version, "a push that changes something bumps it"
        else:
            assert answer.version == model.version, "a push that changes nothing keeps it"
        model.version = answer.version
        model.settle(device, applied, answer.version)
        event(f"{action}: {'halted' if halted else 'settled'}")
        for op in applied:
            event(f"applied a {op['kind']}")
        assert answer.ack_seq == device.last_seq

    # The stored rows: exactly the acknowledged creates, once each.
    stored = await rows(db, user_id)
    counts = Counter(key for key, _ in stored)
    assert all(count == 1 for count in counts.values()), counts
    assert set(counts) == model.stored
    assert {key for key, deleted in stored if deleted} == model.deleted

    # A pull from cursor 0 returns every row once, in version order, with its version.
    reader = data.draw(st.sampled_from(model.devices), label="reader")
    limit = data.draw(st.integers(min_value=1, max_value=7), label="page size")
    items, acked_through = await pull_everything(db, user_id, reader, limit)
    keys = [(item.device_id, item.seq) for item in items]
    assert len(keys) == len(set(keys)) == len(model.stored)
    assert {key for key, item in zip(keys, items, strict=True) if not item.deleted} == (
        model.stored - model.deleted
    )
    assert [item.version for item in items] == sorted(item.version for item in items)
    assert {key: item.version for key, item in zip(keys, items, strict=True)} == (model.row_version)
    assert acked_through == reader.last_seq
