"""Accounts that cannot be taken over (docs/security.md): email changes, sessions, abuse
limits, bounded work, exposure and passwords, over HTTP on a real PostgreSQL and SMTP server.

Over 400 lines: one test per takeover path or abuse limit of docs/security.md (seventeen), each
a story of several requests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import bcrypt
import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings
from testkit.api import PASSWORD, Api, ApiFactory, assert_error, verified_user
from testkit.mailbox import Mailbox
from testkit.stripe_support import GOOD_CARD, payment_method, with_stripe
from testkit.stripe_support import api as stripe_call
from testkit.support import calcapp_env, db_rows, running_server
from testkit.sync_client import Device, set_premium

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]

NEW_PASSWORD = "Another-Secret-7"
TAKEOVER = "Attacker-Choice-42"


def assert_limited(response: httpx.Response) -> None:
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 0


# ---------------------------------------------------------------- email change


async def test_changing_the_email_needs_the_current_password(
    api: Api, mailbox: Mailbox, email: str
) -> None:
    await verified_user(api, mailbox, email)
    new = f"new-{email}"
    missing = await api.patch("/me", {"email": new})
    assert_error(missing, 422, "validation_error")
    assert missing.json()["errors"][0]["key"] == "current_password"
    for _ in range(5):
        wrong = await api.patch("/me", {"email": new, "current_password": "Not-The-Password-1"})
        assert_error(wrong, 403, "wrong_password")
    assert_limited(await api.patch("/me", {"email": new, "current_password": PASSWORD}))
    assert mailbox.messages(new) == []
    assert (await api.get("/me")).json()["pending_email"] is None
    # The display name needs no password, and counts nothing.
    assert (await api.patch("/me", {"display_name": "Ada"})).status_code == 200


async def test_a_confirmed_email_change_tells_the_old_address_and_ends_the_other_sessions(
    api: Api, make_api: ApiFactory, mailbox: Mailbox, email: str
) -> None:
    await verified_user(api, mailbox, email)
    new = f"new-{email}"
    async with make_api() as other_device:
        assert (await other_device.login(email)).status_code == 200
        await api.patch("/me", {"email": new, "current_password": PASSWORD})
        token = mailbox.token(mailbox.wait_for(new, "Confirm your email"))
        assert (await api.post("/auth/verify-email", {"token": token})).status_code == 200
        assert_error(await other_device.get("/me"), 401, "not_authenticated")
    assert (await api.get("/me")).json()["email"] == new  # the session that confirmed it stays
    notice = mailbox.wait_for(email, "email address of your Calcapp account was changed")
    assert new in Mailbox.text(notice)
    assert "#undo-email=" in mailbox.link(notice)


async def test_the_undo_link_puts_the_old_address_back_even_after_a_password_change(
    api: Api, make_api: ApiFactory, mailbox: Mailbox, email: str
) -> None:
    await verified_user(api, mailbox, email)
    attacker_address = f"attacker-{email}"
    # Someone with the password changes the email, then the password.
    async with make_api() as attacker:
        assert (await attacker.login(email)).status_code == 200
        await attacker.patch("/me", {"email": attacker_address, "current_password": PASSWORD})
        token = mailbox.token(mailbox.wait_for(attacker_address, "Confirm your email"))
        assert (await attacker.post("/auth/verify-email", {"token": token})).status_code == 200
        change = {"current_password": PASSWORD, "new_password": TAKEOVER}
        assert (await attacker.post("/me/password", change)).status_code == 204
        undo = mailbox.token(mailbox.wait_for(email, "was changed"))

        answer = await api.post("/auth/undo-email-change", {"token": undo})
        assert answer.status_code == 200, answer.text
        assert answer.json()["email"] == email
        assert_error(await attacker.get("/me"), 401, "not_authenticated")
    assert_error(await api.post("/auth/undo-email-change", {"token": undo}), 400, "invalid_token")
    assert (await api.login(attacker_address, TAKEOVER)).status_code == 401
    # The owner chooses a new password from the link mailed to the restored address.
    reset = mailbox.token(mailbox.wait_for(email, "Reset your Calcapp password"))
    body = {"token": reset, "password": NEW_PASSWORD}
    assert (await api.post("/auth/reset-password", body)).status_code == 204
    me = (await api.login(email, NEW_PASSWORD)).json()
    assert (me["email"], me["email_verified"]) == (email, True)


async def test_password_resets_and_changes_cancel_pending_email_changes_and_resets(
    api: Api, mailbox: Mailbox, email: str, database_url: str
) -> None:
    await verified_user(api, mailbox, email)
    first = f"first-{email}"
    await api.patch("/me", {"email": first, "current_password": PASSWORD})
    change_link = mailbox.token(mailbox.wait_for(first, "Confirm your email"))
    assert (await api.post("/auth/forgot-password", {"email": email})).status_code == 202
    used = mailbox.token(mailbox.wait_for(email, "Reset your Calcapp password"))
    assert (await api.post("/auth/forgot-password", {"email": email})).status_code == 202
    spare = mailbox.token(mailbox.wait_for(email, "Reset your Calcapp password", count=2))

    body = {"token": spare, "password": NEW_PASSWORD}
    assert (await api.post("/auth/reset-password", body)).status_code == 204
    assert_error(await api.post("/auth/verify-email", {"token": change_link}), 400, "invalid_token")
    assert_error(
        await api.post("/auth/reset-password", {"token": used, "password": TAKEOVER}),
        400,
        "invalid_token",
    )
    assert mailbox.wait_for(email, "password was changed")

    # A password change does the same.
    assert (await api.login(email, NEW_PASSWORD)).status_code == 200
    second = f"second-{email}"
    await api.patch("/me", {"email": second, "current_password": NEW_PASSWORD})
    later_link = mailbox.token(mailbox.wait_for(second, "Confirm your email"))
    assert (await api.post("/auth/forgot-password", {"email": email})).status_code == 202
    later_reset = mailbox.token(mailbox.wait_for(email, "Reset your Calcapp password", count=3))
    change = {"current_password": NEW_PASSWORD, "new_password": PASSWORD}
    assert (await api.post("/me/password", change)).status_code == 204
    assert_error(await api.post("/auth/verify-email", {"token": later_link}), 400, "invalid_token")
    assert_error(
        await api.post("/auth/reset-password", {"token": later_reset, "password": TAKEOVER}),
        400,
        "invalid_token",
    )
    assert mailbox.wait_for(email, "password was changed", count=2)
    rows = await db_rows(database_url, "SELECT email FROM users WHERE email = $1", email)
    assert len(rows) == 1


# ---------------------------------------------------------------- sessions


async def test_signing_in_ends_the_session_the_cookie_held(
    make_api: ApiFactory, mailbox: Mailbox, email: str
) -> None:
    other = f"other-{email}"
    async with make_api() as browser, make_api() as spy:
        await verified_user(browser, mailbox, email)
        async with make_api() as helper:
            assert (await helper.signup(other)).status_code == 202
        first_cookie = browser.client.cookies["calcapp_session"]
        assert (await browser.login(other)).status_code == 200  # B signs in over A
        assert browser.client.cookies["calcapp_session"] != first_cookie
        spy.client.cookies.set("calcapp_session", first_cookie)  # A's session is gone
        assert_error(await spy.get("/me"), 401, "not_authenticated")
        assert (await browser.get("/me")).json()["email"] == other


async def test_a_session_unused_for_seven_days_ends(
    api: Api, mailbox: Mailbox, email: str, database_url: str
) -> None:
    await verified_user(api, mailbox, email)
    owner = "(SELECT id FROM users WHERE email = $1)"
    await db_rows(
        database_url,
        f"UPDATE user_sessions SET last_used_at = now() - interval '6 days' "
        f"WHERE user_id = {owner}",
        email,
    )
    assert (await api.get("/me")).status_code == 200  # used within 7 days: and now again
    [touched] = await db_rows(
        database_url,
        f"SELECT now() - last_used_at < interval '1 minute' AS fresh FROM user_sessions "
        f"WHERE user_id = {owner}",
        email,
    )
    assert touched["fresh"]
    await db_rows(
        database_url,
        f"UPDATE user_sessions SET last_used_at = now() - interval '7 days 1 minute' "
        f"WHERE user_id = {owner}",
        email,
    )
    assert_error(await api.get("/me"), 401, "not_authenticated")


async def test_the_session_list_names_the_devices_and_signs_them_out(
    make_api: ApiFactory, mailbox: Mailbox, email: str
) -> None:
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
    phone = (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36"
    )
    async with make_api() as laptop, make_api() as mobile, make_api() as tablet:
        laptop.client.headers["user-agent"] = firefox
        mobile.client.headers["user-agent"] = phone
        await verified_user(laptop, mailbox, email)
        assert (await mobile.login(email)).status_code == 200
        assert (await tablet.login(email)).status_code == 200

        listed = (await laptop.get("/me/sessions")).json()["items"]
        assert [s["device"] for s in listed if s["current"]] == ["Firefox on Windows"]
        assert sorted(s["device"] for s in listed) == sorted(
            ["Firefox on Windows", "Chrome on Android", "Unknown device"]
        )
        assert all(
            set(s) == {"id", "device", "created_at", "last_used_at", "current"} for s in listed
        )
        on_phone = next(s["id"] for s in listed if s["device"] == "Chrome on Android")
        mine = next(s["id"] for s in listed if s["current"])

        assert (await laptop.delete(f"/me/sessions/{on_phone}")).status_code == 204
        assert_error(await mobile.get("/me"), 401, "not_authenticated")
        assert_error(await laptop.delete(f"/me/sessions/{on_phone}"), 404, "not_found")
        assert_error(await laptop.delete(f"/me/sessions/{mine}"), 409, "current_session")
        assert_error(await tablet.delete(f"/me/sessions/{uuid.uuid4()}"), 404, "not_found")

        assert (await laptop.post("/me/sessions/sign-out-others")).status_code == 204
        assert_error(await tablet.get("/me"), 401, "not_authenticated")
        assert (await laptop.get("/me")).status_code == 200
        assert [s["current"] for s in (await laptop.get("/me/sessions")).json()["items"]] == [True]


def production_settings(settings: Settings) -> Settings:
    return Settings(
        env="production",
        database_url=settings.database_url,
        secret_key="p" * 48,
        public_url="https://calc.example.com",
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_security="none",
        smtp_allow_plaintext=True,
        metrics_token="m" * 32,
    )


async def test_production_cookies_are_host_prefixed_and_secure(
    settings: Settings, email: str
) -> None:
    async with AsyncTestClient(create_app(production_settings(settings))) as client:
        csrf = await client.get("/api/v1/auth/csrf")
        assert "__Host-csrftoken=" in csrf.headers["set-cookie"]
        assert "secure" in csrf.headers["set-cookie"].lower()
        token = csrf.cookies["__Host-csrftoken"]
        headers = {"x-csrftoken": token, "cookie": f"__Host-csrftoken={token}"}
        body = {"email": email, "password": PASSWORD}
        signup = await client.post("/api/v1/auth/signup", json=body, headers=headers)
        assert signup.status_code == 202
        login = await client.post("/api/v1/auth/login", json=body, headers=headers)
        assert login.status_code == 200, login.text
        session = login.headers["set-cookie"]
        assert session.startswith("__Host-calcapp_session=")
        assert "; Secure" in session and "; Path=/" in session and "HttpOnly" in session
        assert "domain" not in session.lower()
        hsts = login.headers["strict-transport-security"]
        assert "includeSubDomains" in hsts and "max-age=63072000" in hsts


# ---------------------------------------------------------------- abuse limits


async def test_sign_in_counts_failures_only_and_never_locks_out_a_client_that_has_not_failed(
    mail_env: dict[str, str], database_url: str
) -> None:
    env = calcapp_env(DATABASE_URL=database_url, CALCAPP_TRUSTED_PROXIES="127.0.0.1", **mail_env)
    email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    with running_server(env) as (base_url, _):

        @asynccontextmanager
        async def client(address: str) -> AsyncIterator[Api]:
            headers = {"x-forwarded-for": address}
            async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
                yield Api(http)

        async with client("198.51.100.1") as owner:
            assert (await owner.signup(email)).status_code == 202
            for _ in range(12):  # successes count for nothing
                assert (await owner.login(email)).status_code == 200
        # An attacker fails from many addresses: each address is stopped after 10 failures,
        # and once the account has 20, any address that has failed once is refused.
        for n in range(3):
            async with client(f"203.0.113.{n}") as attacker:
                answers = [
                    (await attacker.login(email, "Wrong-Guess-123")).status_code for _ in range(11)
                ]
                # The third address's first try is allowed: it had not failed yet.
                expected = [401] * 10 + [429] if n < 2 else [401] + [429] * 10
                assert answers == expected, (n, answers)
        async with client("203.0.113.99") as fresh_attacker:  # has not failed yet: one try
            assert (await fresh_attacker.login(email, "Wrong-Guess-123")).status_code == 401
            assert_limited(await fresh_attacker.login(email, PASSWORD))
        async with client("198.51.100.1") as owner:  # the owner, who has not failed
            assert (await owner.login(email)).status_code == 200


@pytest.mark.parametrize("trusted", [False, True], ids=["direct", "behind-a-trusted-proxy"])
async def test_the_client_address_comes_from_a_trusted_proxy_only(
    mail_env: dict[str, str], database_url: str, trusted: bool
) -> None:
    proxies = {"CALCAPP_TRUSTED_PROXIES": "127.0.0.1"} if trusted else {}
    env = calcapp_env(DATABASE_URL=database_url, **mail_env, **proxies)
    with running_server(env) as (base_url, _):
        statuses = []
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            api = Api(http)
            for n in range(21):  # 20 sign-ups an hour from one address
                headers = {"x-forwarded-for": f"192.0.2.{n}"}
                email = f"proxy-{uuid.uuid4().hex[:8]}@example.com"
                response = await api.post(
                    "/auth/signup", {"email": email, "password": PASSWORD}, headers=headers
                )
                statuses.append(response.status_code)
    # Direct: the header is anyone's to set, so all 21 come from 127.0.0.1 and the last is
    # refused. Behind the proxy: 21 clients.
    assert statuses == [202] * 21 if trusted else [202] * 20 + [429]


async def test_sensitive_actions_are_rate_limited(api: Api, mailbox: Mailbox, email: str) -> None:
    assert (await api.signup(email)).status_code == 202
    assert (await api.login(email)).status_code == 200
    for _ in range(5):
        assert (await api.post("/auth/resend-verification")).status_code == 202
    assert_limited(await api.post("/auth/resend-verification"))

    wrong = {"current_password": "Not-The-Password-1", "new_password": NEW_PASSWORD}
    for _ in range(5):
        assert_error(await api.post("/me/password", wrong), 403, "wrong_password")
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert_limited(await api.post("/me/password", right))

    for _ in range(5):
        assert_error(
            await api.delete("/me", {"password": "Not-The-Password-1"}), 403, "wrong_password"
        )
    assert_limited(await api.delete("/me", {"password": PASSWORD}))
    assert (await api.get("/me")).status_code == 200  # nothing was changed or deleted


async def test_card_testing_is_rate_limited(
    settings: Settings, stripe_api_base: str, mailbox: Mailbox, email: str
) -> None:
    async with AsyncTestClient(create_app(with_stripe(settings, stripe_api_base))) as client:
        api = Api(client)
        assert (await api.signup(email)).status_code == 202
        assert (await api.login(email)).status_code == 200
        for _ in range(10):
            assert (await api.post("/billing/setup-intent")).status_code == 200
        assert_limited(await api.post("/billing/setup-intent"))
        for _ in range(10):
            refused = await api.post("/billing/subscribe", {"payment_method": "pm_unknown"})
            assert refused.status_code in {400, 402}, refused.text
        assert_limited(await api.post("/billing/subscribe", {"payment_method": "pm_unknown"}))


async def test_pushes_are_rate_limited_per_account(api: Api, email: str, database_url: str) -> None:
    assert (await api.signup(email)).status_code == 202
    await set_premium(database_url, email, active=True)
    assert (await api.login(email)).status_code == 200
    device = Device(api)
    for _ in range(300):
        assert (await device.push([])).status_code == 200
    assert_limited(await device.push([]))
    assert_limited(await Device(api).push([]))  # per account, whatever the device


async def test_two_concurrent_subscribes_with_different_cards_make_one_subscription(
    server: str, stripe_api_base: str, database_url: str
) -> None:
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    async with (
        httpx.AsyncClient(base_url=server, timeout=60) as one,
        httpx.AsyncClient(base_url=server, timeout=60) as two,
    ):
        first, second = Api(one), Api(two)
        assert (await first.signup(email)).status_code == 202
        for api in (first, second):
            assert (await api.login(email)).status_code == 200
        assert (await first.post("/billing/setup-intent")).status_code == 200
        cards = [await payment_method(stripe_api_base, GOOD_CARD) for _ in range(2)]
        answers = await asyncio.gather(
            first.post("/billing/subscribe", {"payment_method": cards[0]}),
            second.post("/billing/subscribe", {"payment_method": cards[1]}),
        )
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert refused.json()["code"] == "already_subscribed"
    [row] = await db_rows(
        database_url,
        "SELECT c.stripe_customer_id FROM stripe_customers c JOIN users u ON u.id = c.user_id "
        "WHERE u.email = $1",
        email,
    )
    customer = row["stripe_customer_id"]
    found = await stripe_call(stripe_api_base, "GET", f"/v1/subscriptions?customer={customer}")
    assert len(found["data"]) == 1


# ---------------------------------------------------------------- every API answer: no-store


async def test_every_api_answer_is_no_store_errors_included(api: Api, settings: Settings) -> None:
    assert_error(await api.get("/me"), 401, "not_authenticated")
    assert_error(
        await api.post("/auth/login", {"email": "a@b.co"}, headers={"x-csrftoken": "x"}),
        403,
        "csrf_failed",
    )
    assert_error(await api.get("/nothing-here"), 404, "not_found")
    assert_error(await api.request("PUT", "/me/password"), 405, "method_not_allowed")
    assert_error(await api.post("/auth/login", {"email": 1}), 422, "validation_error")
    down = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    async with AsyncTestClient(create_app(down)) as client:
        unavailable = await client.get("/api/v1/health")
    assert_error(unavailable, 503, "database_unavailable")


# ---------------------------------------------------------------- passwords


async def test_a_weak_password_is_to_be_replaced_at_the_next_sign_in(
    api: Api, email: str, database_url: str
) -> None:
    assert (await api.signup(email)).status_code == 202
    weak = "password1234"  # what the old rules let through
    old_hash = bcrypt.hashpw(weak.encode(), bcrypt.gensalt(4)).decode()  # the first scheme
    await db_rows(
        database_url, "UPDATE users SET password_hash = $2 WHERE email = $1", email, old_hash
    )

    me = (await api.login(email, weak)).json()
    assert me["password_change_required"] is True
    [row] = await db_rows(database_url, "SELECT password_hash FROM users WHERE email = $1", email)
    assert row["password_hash"].startswith("$sha256$")  # made again in the current scheme
    assert (await api.login(email, weak)).status_code == 200  # and it still verifies

    change = {"current_password": weak, "new_password": NEW_PASSWORD}
    assert (await api.post("/me/password", change)).status_code == 204
    assert (await api.get("/me")).json()["password_change_required"] is False


async def test_every_character_of_a_long_password_counts(api: Api, email: str) -> None:
    long = "ü" * 60 + "-tail-A"  # 127 bytes beyond bcrypt's 72
    assert (await api.signup(email, password=long)).status_code == 202
    assert (await api.login(email, long)).status_code == 200
    assert (await api.login(email, "ü" * 60 + "-tail-B")).status_code == 401
