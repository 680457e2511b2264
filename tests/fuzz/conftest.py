"""Fixtures of the fuzz tests: a real `calcapp serve` process, and signed-in premium clients
of it (`premium_user`, shared with the integration tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import premium_user
from tests.stripe_support import stripe_env
from tests.support import calcapp_env, running_server

__all__ = ["premium_user", "server"]


@pytest.fixture(scope="session")
def server(database_url: str, mail_env: dict[str, str], stripe_api_base: str) -> Iterator[str]:
    """`calcapp serve` with billing through the emulator, like the integration tests' server,
    but registered for no webhook: the emulator's events go to that one only (the fuzzing
    never completes a payment), so neither server takes the other's events."""
    env = calcapp_env(DATABASE_URL=database_url, **mail_env, **stripe_env(stripe_api_base))
    with running_server(env) as (base_url, _):
        yield base_url
