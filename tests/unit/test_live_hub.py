"""The hub of one process's live sync streams (backend/live/hub.py): limits, coalescing, ends."""

from __future__ import annotations

import uuid

import pytest

from backend.live.hub import Hub, HubClosedError, TooManyStreamsError
from backend.live.listener import parse
from backend.web.metrics import Metrics


def hub(per_account: int = 5, per_process: int = 100) -> Hub:
    return Hub(per_account=per_account, per_process=per_process, metrics=Metrics())


def test_an_account_keeps_its_newest_streams() -> None:
    streams = hub(per_account=2)
    user = uuid.uuid4()
    first, second, third = (streams.open(user, uuid.uuid4()) for _ in range(3))
    assert first.closed and not second.closed and not third.closed
    assert len(streams) == 2


def test_a_full_process_refuses_until_a_stream_ends() -> None:
    streams = hub(per_process=2)
    first = streams.open(uuid.uuid4(), uuid.uuid4())
    streams.open(uuid.uuid4(), uuid.uuid4())
    with pytest.raises(TooManyStreamsError):
        streams.open(uuid.uuid4(), uuid.uuid4())
    streams.remove(first)
    streams.open(uuid.uuid4(), uuid.uuid4())
    assert len(streams) == 2


def test_a_burst_of_pushes_is_one_poke_of_the_newest_version() -> None:
    streams = hub()
    user = uuid.uuid4()
    mine, other = streams.open(user, uuid.uuid4()), streams.open(uuid.uuid4(), uuid.uuid4())
    for version in (3, 5, 4):
        streams.poke(user, version)
    assert mine.pending and mine.version == 5
    mine.sent = mine.version
    streams.poke(user, 5)  # heard again (a catch-up after a reconnection): nothing new
    assert not mine.pending
    assert not other.pending and other.version == -1


def test_streams_of_ended_sessions_close_and_a_stopping_hub_takes_no_more() -> None:
    streams = hub()
    user, kept, ended = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stays, goes = streams.open(user, kept), streams.open(user, ended)
    assert streams.end_sessions([ended, uuid.uuid4()]) == 1
    assert goes.closed and not stays.closed and len(streams) == 1
    streams.close_all()
    assert stays.closed and len(streams) == 0
    with pytest.raises(HubClosedError):
        streams.open(user, kept)


SOMEONE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest.mark.parametrize("payload", ["", "x 1", SOMEONE, f"{SOMEONE} v"])
def test_a_notification_that_is_not_ours_is_ignored(payload: str) -> None:
    assert parse(payload) is None


def test_a_notification_names_the_account_and_its_version() -> None:
    user = uuid.uuid4()
    assert parse(f"{user} 42") == (user, 42)
