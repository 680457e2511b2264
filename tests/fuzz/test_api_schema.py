"""Fuzz every operation of the API against its own OpenAPI document (schemathesis).

The schema is the one the server publishes (`/api/schema/openapi.json`; built from the app
when pytest collects the tests, and checked identical to what the server serves), and the
requests go over HTTP to a real `calcapp serve` process (billing through the Stripe
emulator), so the whole middleware stack answers: CSRF, body-size limits, sessions, error
handlers.

Every case is sent as a signed-in PREMIUM account, the way the PWA sends it: the session
cookie, and the CSRF cookie echoed in the `x-csrftoken` header. Schemathesis generates valid
and invalid data (its coverage phase, then random fuzzing) and checks each answer:

- never a 5xx (`not_a_server_error`);
- it is what the document says: a documented status code, content type, headers and body
  schema (`status_code_conformance`, `content_type_conformance`, `response_headers_conformance`,
  `response_schema_conformance`);
- invalid input is refused with a 4xx (`negative_data_rejection`), a missing required header
  too (`missing_required_header`);
- a method the path does not have is a 405 with `Allow`, and OPTIONS lists exactly the
  documented methods (`unsupported_method`, `allow_header_conformance`);
- every 4xx is JSON `{"detail": str, "code": str}` (`error_shape`, below), and its `code` is
  one the operation documents for that status (`documented_code`).

Left out: `positive_data_acceptance`, since data valid by the schema is often refused on its
merits, as documented (a well-formed but unknown token is `400 invalid_token`, a wrong
password `403 wrong_password`); the stateful checks (`use_after_free`,
`ensure_resource_availability`), with the stateful phase off; and `ignored_auth`, since the
document declares no security scheme (the session is a cookie): signed-out answers are
covered by the integration tests.

No operation is excluded. Two of them end the session they are sent with, so each of their
cases gets a session of its own: `POST /auth/logout`, and `DELETE /me` (it needs the password,
which the fuzzer does not know, but even so it runs on a fresh sign-in). `GET /sync/events`
is sent signed out: its 200 is a live stream that never ends (tests/integration/
test_live_sync.py checks it). The Stripe webhook
is fuzzed too: without a valid signature it must answer `400 invalid_signature`, never a 5xx.
The account's premium is complimentary (`calcapp users grant-premium`), as an operator grants
it: no billing operation can take it away mid-run, so the sync operations are fuzzed as a
premium user throughout, and the billing ones answer as they do for such an account (no paid
subscription to refresh, cancel or resume; Stripe refuses a made-up payment method).

`make test` runs a bounded, deterministic pass (fixed seed, derandomized); the `slow` marker
runs 300 examples per operation (`make test-slow`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from backend.app import create_app
from backend.db.server import connect
from backend.settings import Settings
from testkit.api import PASSWORD
from testkit.support import calcapp_env, run_async, run_calcapp

pytestmark = pytest.mark.db

API = "/api/v1"
SEED = 8_2026
FAST_EXAMPLES = 25
SLOW_EXAMPLES = 300
# Operations that end the session they are sent with: each case gets a fresh one.
SESSION_ENDING = {("POST", f"{API}/auth/logout"), ("DELETE", f"{API}/me")}
# Its 200 is a stream that never ends (live sync): sent signed out, for its refusals.
ENDLESS = {("GET", f"{API}/sync/events")}


def error_shape(ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
    """Every 4xx is JSON `{"detail": str, "code": str}` (docs/api.md, "Errors")."""
    if not 400 <= response.status_code < 500:
        return
    media_type = response.headers.get("content-type", [""])[0]
    assert media_type.startswith("application/json"), f"a {response.status_code} that is not JSON"
    body = response.json()
    assert isinstance(body, dict), f"a {response.status_code} body that is not an object: {body!r}"
    assert isinstance(body.get("detail"), str), f"no string 'detail' in {body!r}"
    assert isinstance(body.get("code"), str) and body["code"], f"no string 'code' in {body!r}"


def documented_code(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> None:
    """A failure's `code` is one the document names for that status of the operation (the
    descriptions come from the error classes: `backend.web.openapi.failures`)."""
    operation = DOCUMENT["paths"][case.operation.path][case.operation.method.lower()]
    described = operation["responses"].get(str(response.status_code))
    if response.status_code < 400 or described is None:  # status_code_conformance's part
        return
    code = response.json()["code"]
    assert f"`{code}`" in described["description"], (
        f"{case.operation.label} answered {response.status_code} `{code}`, which its "
        f"documentation does not name: {described['description']}"
    )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    error_shape,
    documented_code,
]


async def _forget_sign_ins(database_url: str) -> None:
    """The fuzzing signs in far more often than the sign-in limits allow a person to."""
    conn = await connect(database_url)
    try:
        await conn.execute("DELETE FROM rate_limits WHERE bucket LIKE 'login:%'")
    finally:
        await conn.close()


class PremiumAccount:
    """A premium account, and signed-in sessions of it as the PWA holds them."""

    def __init__(self, base_url: str, database_url: str) -> None:
        self.base_url = base_url
        self.database_url = database_url
        self.email = f"fuzz-{uuid.uuid4().hex[:10]}@example.com"
        self.session = self.sign_in(create=True)

    def _csrf(self, session: requests.Session) -> str:
        if "csrftoken" not in session.cookies:
            session.get(f"{self.base_url}{API}/auth/csrf", timeout=30)
        return str(session.cookies["csrftoken"])

    def sign_in(self, *, create: bool = False) -> requests.Session:
        session = requests.Session()
        csrf = {"x-csrftoken": self._csrf(session)}
        credentials = {"email": self.email, "password": PASSWORD}
        if create:
            answer = session.post(
                f"{self.base_url}{API}/auth/signup", json=credentials, headers=csrf, timeout=30
            )
            assert answer.status_code == 202, answer.text
            env = calcapp_env(DATABASE_URL=self.database_url)
            granted = run_calcapp("users", "grant-premium", self.email, env=env)
            assert granted.returncode == 0, granted.stderr
        run_async(_forget_sign_ins(self.database_url))
        answer = session.post(
            f"{self.base_url}{API}/auth/login", json=credentials, headers=csrf, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["premium"] is True
        return session

    def send(self, case: schemathesis.Case[Any]) -> None:
        """Send `case` as this account, and check the answer."""
        key = (case.operation.method.upper(), case.operation.path)
        if key in ENDLESS:
            session = requests.Session()
        elif key in SESSION_ENDING:
            session = self.sign_in()
        else:
            session = self.session
        case.call_and_validate(
            base_url=self.base_url,
            session=session,
            headers={"x-csrftoken": self._csrf(session)},
            checks=CHECKS,
            timeout=30,
        )


def fuzz_config(max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
        }
    )


def openapi_document() -> dict[str, Any]:
    """The document `/api/schema/openapi.json` serves, as the app builds it.

    The tests are generated when pytest collects them, before any server runs; that the
    server serves exactly this document is checked by `test_the_fuzzed_document_is_served`.
    """
    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1:9/unused"))
    document: dict[str, Any] = msgspec.json.decode(
        msgspec.json.encode(app.openapi_schema.to_schema())
    )
    return document


DOCUMENT = openapi_document()
fast = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(FAST_EXAMPLES))
slow = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(SLOW_EXAMPLES))
# The server answers over HTTP, some answers hash a password: no deadline, and no health
# check on the time generation takes.
SETTINGS: Callable[[Any], Any] = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def account(server: str, database_url: str) -> PremiumAccount:
    return PremiumAccount(server, database_url)


def test_the_fuzzed_document_is_served(server: str) -> None:
    served = requests.get(f"{server}/api/schema/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@fast.parametrize()
@SETTINGS
def test_api_answers_as_documented(case: schemathesis.Case[Any], account: PremiumAccount) -> None:
    account.send(case)


@pytest.mark.slow
@slow.parametrize()
@SETTINGS
def test_api_answers_as_documented_at_length(
    case: schemathesis.Case[Any], account: PremiumAccount
) -> None:
    account.send(case)
