"""Fixtures of the fuzz tests: a real `calcapp serve` process (the toolkit's `premium_user`
signs premium clients in on it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.fixtures import CalcappServer


@pytest.fixture(scope="session")
def server(calcapp_server: CalcappServer) -> Iterator[str]:
    """`calcapp serve` with billing through the emulator, like the integration tests' server,
    but registered for no webhook: the emulator's events go to that one only (the fuzzing
    never completes a payment), so neither server takes the other's events."""
    with calcapp_server() as base_url:
        yield base_url
