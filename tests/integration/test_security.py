"""Hostile input and isolation (docs/security.md): SQL injection in every string field, other
users' identifiers, and secrets that must never reach the log."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.db.server import connect
from testkit.api import PASSWORD, Api
from testkit.mailbox import Mailbox
from testkit.stripe_support import SECRET_KEY, stripe_env
from testkit.support import calcapp_env, running_server
from testkit.sync_client import Device, set_premium, statuses, stored

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]

INJECTIONS = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "1' UNION SELECT password_hash FROM users --",
    "%' OR 1=1 --",
    "\\'; SELECT pg_sleep(5); --",
    "$1; DELETE FROM calculation_history",
    "_%\\",
]


async def _count(database_url: str, table: str) -> int:
    conn = await connect(database_url)
    try:
        count: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
        return count
    finally:
        await conn.close()


async def test_sql_injection_in_every_string_field_is_only_text(
    premium_user: Any, make_api: Any, database_url: str
) -> None:
    users_before = await _count(database_url, "users")
    made = 0
    async with make_api() as anonymous:
        for payload in INJECTIONS:
            email = f"x{uuid.uuid4().hex[:6]}@example.com"
            answers = [
                await anonymous.signup(f"{payload}@example.com"),
                signup := await anonymous.signup(email, payload),
                await anonymous.login(payload, payload),
                await anonymous.post("/auth/forgot-password", {"email": payload}),
                await anonymous.post("/auth/verify-email", {"token": payload}),
                await anonymous.post("/auth/reset-password", {"token": payload, "password": "Aa1"}),
            ]
            assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
            assert answers[0].status_code == 422  # not an email address
            if signup.status_code == 202:  # a valid password: stored (hashed) as typed
                made += 1
                assert (await anonymous.login(email, payload)).status_code == 200
                await anonymous.post("/auth/logout")
    assert await _count(database_url, "users") == users_before + made

    async with premium_user() as api:
        device = Device(api)
        ops = [device.create(payload) for payload in INJECTIONS]
        for op, payload in zip(ops, INJECTIONS, strict=True):
            op["data"]["result"] = payload
            op["data"]["metadata"] = {payload: payload}
        assert statuses(await device.push(ops)) == ["applied"] * len(INJECTIONS)
        for payload in INJECTIONS:
            assert (await api.patch("/me", {"display_name": payload})).status_code == 200
            assert (await api.get("/me")).json()["display_name"] == payload
            found = await api.get("/history", params={"q": payload})
            assert found.status_code == 200
            # Literal search: exactly the entries that contain the text, nothing more.
            expressions = {item["expression"] for item in found.json()["items"]}
            assert expressions == {p for p in INJECTIONS if payload.lower() in p.lower()}
            subscribe = await api.post("/billing/subscribe", {"payment_method": payload})
            assert subscribe.status_code in (422, 503), subscribe.text
    assert len(await stored(database_url, premium_user.email)) == len(INJECTIONS)
    assert await _count(database_url, "calculation_history") > 0


async def test_another_users_calculations_cannot_be_deleted(
    premium_user: Any, make_api: Any, database_url: str
) -> None:
    async with premium_user() as victim:
        mine = Device(victim)
        entry = mine.create("victim's")
        await mine.push([entry])
        target = {"device_id": mine.id, **entry}
    email = f"attacker-{uuid.uuid4().hex[:8]}@example.com"
    async with make_api() as attacker:
        await attacker.signup(email)
        await set_premium(database_url, email, active=True)
        await attacker.login(email)
        theirs = Device(attacker)
        answer = await theirs.push([theirs.delete(target)])
        assert answer.status_code == 200  # a delete of nothing they own: it changes nothing
    rows = await stored(database_url, premium_user.email)
    assert rows == [(mine.id, entry["seq"], False)]  # still there, not deleted


async def test_secrets_never_reach_the_log(
    database_url: str,
    mail_env: dict[str, str],
    mailbox: Mailbox,
    stripe_api_base: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "server.log"
    env = calcapp_env(
        DATABASE_URL=database_url,
        CALCAPP_LOG_LEVEL="DEBUG",
        **mail_env,
        **stripe_env(stripe_api_base),
    )
    email = f"secret-{uuid.uuid4().hex[:8]}@example.com"
    new_password = "Another-Secret-42"
    with running_server(env, log=log) as (base_url, _):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            api = Api(client)
            await api.signup(email)
            verify_token = mailbox.token(mailbox.wait_for(email, "Confirm"))
            await api.post("/auth/verify-email", {"token": verify_token})
            await api.login(email)
            first_session = client.cookies["calcapp_session"]
            await api.post("/auth/forgot-password", {"email": email})
            reset_token = mailbox.token(mailbox.wait_for(email, "Reset"))
            await api.post("/auth/reset-password", {"token": reset_token, "password": new_password})
            await api.login(email, new_password)
            assert (await api.post("/billing/setup-intent")).status_code == 200
            secrets = [
                PASSWORD,
                new_password,
                verify_token,
                reset_token,
                first_session,
                client.cookies["calcapp_session"],
                client.cookies["csrftoken"],
                SECRET_KEY,
            ]
    text = log.read_text()
    assert "/api/v1/auth/login" in text  # the log was written, at DEBUG
    for secret in secrets:
        assert secret not in text, secret
