"""The account life cycle over HTTP, on a real PostgreSQL and a real SMTP server.

Over 400 lines: one test per step of the account life cycle (twenty-eight), each a few
requests.
"""

from __future__ import annotations

import json

import pytest

from testkit.api import PASSWORD, PUBLIC_URL, Api, ApiFactory, assert_error, verified_user
from testkit.mailbox import Mailbox
from testkit.support import db_rows

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("fresh_limits")]

NEW_PASSWORD = "Another-Secret-7"


# ---------------------------------------------------------------- sign-up and verification


async def test_signup_mails_a_link_that_confirms_the_address(
    api: Api, mailbox: Mailbox, email: str
) -> None:
    response = await api.signup(email, display_name="Ada")
    assert response.status_code == 202
    message = mailbox.wait_for(email, "Confirm your email")
    link = mailbox.link(message)
    assert link.startswith(f"{PUBLIC_URL}/account.html#verify=")

    confirmed = await api.post("/auth/verify-email", {"token": mailbox.token(message)})
    assert confirmed.status_code == 200
    assert confirmed.json()["email"] == email

    me = (await api.login(email)).json()
    assert (me["email"], me["display_name"], me["email_verified"]) == (email, "Ada", True)


async def test_signup_does_not_reveal_a_registered_email(
    api: Api, mailbox: Mailbox, email: str, database_url: str
) -> None:
    first = await api.signup(email)
    again = await api.signup(email.upper(), password="Different-Pass-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    notice = mailbox.wait_for(email.upper(), "already have a Calcapp account")
    assert "Sign in" in mailbox.text(notice)
    rows = await db_rows(database_url, "SELECT count(*) AS n FROM users WHERE email = $1", email)
    assert rows == [{"n": 1}]


async def test_any_characters_count_and_no_composition_is_required(api: Api, email: str) -> None:
    assert (await api.signup(email, password="éclair ünïcode 😀")).status_code == 202


async def test_the_session_answer_says_who_is_signed_in_without_a_401(api: Api, email: str) -> None:
    signed_out = await api.get("/auth/session")
    assert signed_out.status_code == 200 and signed_out.json() == {"account": None}
    assert (await api.signup(email)).status_code == 202
    assert (await api.login(email)).status_code == 200
    account = (await api.get("/auth/session")).json()["account"]
    assert account["email"] == email and account["premium"] is False
    assert (await api.post("/auth/logout")).status_code == 204
    assert (await api.get("/auth/session")).json() == {"account": None}


async def test_unverified_accounts_can_sign_in(api: Api, mailbox: Mailbox, email: str) -> None:
    await api.signup(email)
    me = (await api.login(email)).json()
    assert me["email_verified"] is False


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Short-Pass1", "Password must be 12 to 128 characters"),
        ("x" * 129, "Password must be 12 to 128 characters"),
        ("password1234", "breached or common passwords"),
        ("qwertyuiop123", "breached or common passwords"),
    ],
)
async def test_weak_passwords_are_refused_and_nothing_is_created(
    api: Api, email: str, password: str, message: str, database_url: str
) -> None:
    response = await api.signup(email, password=password)
    assert_error(response, 422, "validation_error")
    assert message in response.json()["detail"]
    assert response.json()["errors"][0]["key"] == "password"
    assert await db_rows(database_url, "SELECT 1 FROM users WHERE email = $1", email) == []


async def test_a_confirmation_link_works_once(api: Api, mailbox: Mailbox, email: str) -> None:
    await api.signup(email)
    token = mailbox.token(mailbox.wait_for(email, "Confirm your email"))
    assert (await api.post("/auth/verify-email", {"token": token})).status_code == 200
    assert_error(await api.post("/auth/verify-email", {"token": token}), 400, "invalid_token")


async def test_an_expired_link_is_refused(
    api: Api, mailbox: Mailbox, email: str, database_url: str
) -> None:
    await api.signup(email)
    token = mailbox.token(mailbox.wait_for(email, "Confirm your email"))
    await db_rows(
        database_url,
        "UPDATE email_tokens SET expires_at = now() - interval '1 second' "
        "WHERE user_id = (SELECT id FROM users WHERE email = $1)",
        email,
    )
    assert_error(await api.post("/auth/verify-email", {"token": token}), 400, "invalid_token")


@pytest.mark.parametrize(
    ("token", "status"), [("x" * 43, 400), ("short", 422), ("bad token!" * 3, 422)]
)
async def test_unknown_or_malformed_tokens(api: Api, token: str, status: int) -> None:
    response = await api.post("/auth/verify-email", {"token": token})
    assert response.status_code == status


async def test_resend_verification(api: Api, mailbox: Mailbox, email: str) -> None:
    assert_error(await api.post("/auth/resend-verification"), 401, "not_authenticated")
    await api.signup(email)
    await api.login(email)
    first = mailbox.token(mailbox.wait_for(email, "Confirm your email"))
    assert (await api.post("/auth/resend-verification")).status_code == 202
    second = mailbox.token(mailbox.wait_for(email, "Confirm your email", count=2))
    assert second != first
    assert_error(await api.post("/auth/verify-email", {"token": first}), 400, "invalid_token")
    assert (await api.post("/auth/verify-email", {"token": second})).status_code == 200
    assert_error(await api.post("/auth/resend-verification"), 409, "already_verified")


# ---------------------------------------------------------------- sign-in and sessions


async def test_wrong_password_and_unknown_email_look_the_same(
    api: Api, mailbox: Mailbox, email: str
) -> None:
    await api.signup(email)
    wrong = await api.login(email, "Wrong-Password-1")
    unknown = await api.login(f"nobody-{email}", "Wrong-Password-1")
    assert_error(wrong, 401, "invalid_credentials")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())


async def test_session_cookie_is_httponly_and_lax(api: Api, email: str) -> None:
    await api.signup(email)
    response = await api.login(email)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("calcapp_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development over http; production adds it


async def test_sessions_survive_an_app_restart_and_end_on_logout(
    api: Api, make_api: ApiFactory, email: str
) -> None:
    await api.signup(email)
    await api.login(email)
    cookie = api.client.cookies["calcapp_session"]
    async with make_api() as restarted:  # a new app instance: new engine, nothing in memory
        restarted.client.cookies.set("calcapp_session", cookie)
        assert (await restarted.get("/me")).json()["email"] == email
        assert (await api.post("/auth/logout")).status_code == 204
        assert_error(await restarted.get("/me"), 401, "not_authenticated")
    assert "calcapp_session" not in api.client.cookies


async def test_deleted_users_cannot_sign_in(
    api: Api, mailbox: Mailbox, email: str, database_url: str
) -> None:
    await verified_user(api, mailbox, email)
    assert_error(await api.delete("/me", {"password": "Wrong-Password-1"}), 403, "wrong_password")
    assert (await api.delete("/me", {"password": PASSWORD})).status_code == 204
    assert_error(await api.get("/me"), 401, "not_authenticated")
    assert_error(await api.login(email), 401, "invalid_credentials")
    rows = await db_rows(database_url, "SELECT deleted_at FROM users WHERE email = $1", email)
    assert len(rows) == 1 and rows[0]["deleted_at"] is not None
    # The address is free again for a new account.
    assert (await api.signup(email)).status_code == 202
    mailbox.wait_for(email, "Confirm your email")


async def test_deleting_an_account_ends_every_session(
    api: Api, make_api: ApiFactory, email: str
) -> None:
    await api.signup(email)
    await api.login(email)
    async with make_api() as other_device:
        await other_device.login(email)
        assert (await api.delete("/me", {"password": PASSWORD})).status_code == 204
        assert_error(await other_device.get("/me"), 401, "not_authenticated")


# ---------------------------------------------------------------- passwords


async def test_forgot_password_does_not_reveal_unknown_emails(
    api: Api, mailbox: Mailbox, email: str
) -> None:
    await api.signup(email)
    known = await api.post("/auth/forgot-password", {"email": email})
    unknown = await api.post("/auth/forgot-password", {"email": f"nobody-{email}"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    mailbox.wait_for(email, "Reset your Calcapp password")
    assert mailbox.messages(f"nobody-{email}") == []


async def test_reset_password_ends_sessions_and_works_once(
    api: Api, make_api: ApiFactory, mailbox: Mailbox, email: str
) -> None:
    await api.signup(email)
    await api.login(email)
    async with make_api() as stranger:
        await stranger.post("/auth/forgot-password", {"email": email})
        message = mailbox.wait_for(email, "Reset your Calcapp password")
        assert mailbox.link(message).startswith(f"{PUBLIC_URL}/account.html#reset=")
        token = mailbox.token(message)
        weak = await stranger.post("/auth/reset-password", {"token": token, "password": "weak"})
        assert_error(weak, 422, "validation_error")
        reset = await stranger.post(
            "/auth/reset-password", {"token": token, "password": NEW_PASSWORD}
        )
        assert reset.status_code == 204
        again = await stranger.post(
            "/auth/reset-password", {"token": token, "password": NEW_PASSWORD}
        )
        assert_error(again, 400, "invalid_token")

    assert_error(await api.get("/me"), 401, "not_authenticated")
    assert_error(await api.login(email), 401, "invalid_credentials")
    me = (await api.login(email, NEW_PASSWORD)).json()
    assert me["email_verified"] is True  # the reset link proved the address


async def test_change_password_keeps_this_session_and_ends_the_others(
    api: Api, make_api: ApiFactory, email: str
) -> None:
    await api.signup(email)
    await api.login(email)
    async with make_api() as other_device:
        await other_device.login(email)
        wrong = {"current_password": "Not-It-123", "new_password": NEW_PASSWORD}
        assert_error(await api.post("/me/password", wrong), 403, "wrong_password")
        weak = {"current_password": PASSWORD, "new_password": "weakweak"}
        assert_error(await api.post("/me/password", weak), 422, "validation_error")
        good = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert (await api.post("/me/password", good)).status_code == 204
        assert (await api.get("/me")).status_code == 200
        assert_error(await other_device.get("/me"), 401, "not_authenticated")
    assert_error(await api.login(email), 401, "invalid_credentials")
    assert (await api.login(email, NEW_PASSWORD)).status_code == 200


# ---------------------------------------------------------------- profile (rectification)


async def test_display_name_can_be_changed_and_cleared(api: Api, email: str) -> None:
    await api.signup(email)
    await api.login(email)
    assert (await api.patch("/me", {"display_name": "  Grace  "})).json()["display_name"] == "Grace"
    assert (await api.patch("/me", {"display_name": None})).json()["display_name"] is None
    assert_error(await api.patch("/me", {"display_name": "x" * 101}), 422, "validation_error")


async def test_email_change_waits_for_the_new_address_to_confirm(
    api: Api, mailbox: Mailbox, email: str
) -> None:
    await verified_user(api, mailbox, email)
    new_email = f"new-{email}"
    change = {"email": new_email, "current_password": PASSWORD}
    me = (await api.patch("/me", change)).json()
    assert (me["email"], me["pending_email"]) == (email, new_email)
    token = mailbox.token(mailbox.wait_for(new_email, "Confirm your email"))
    assert (await api.post("/auth/verify-email", {"token": token})).json()["email"] == new_email
    me = (await api.get("/me")).json()
    assert (me["email"], me["pending_email"], me["email_verified"]) == (new_email, None, True)
    assert_error(await api.login(email), 401, "invalid_credentials")
    assert (await api.login(new_email)).status_code == 200


async def test_email_change_to_a_taken_address_is_refused_at_confirmation(
    api: Api, make_api: ApiFactory, mailbox: Mailbox, email: str
) -> None:
    taken = f"taken-{email}"
    async with make_api() as other:
        await other.signup(taken)
    await verified_user(api, mailbox, email)
    await api.patch("/me", {"email": taken, "current_password": PASSWORD})
    token = mailbox.token(mailbox.wait_for(taken, "Confirm your email", count=2))
    assert_error(await api.post("/auth/verify-email", {"token": token}), 409, "email_taken")
    assert (await api.get("/me")).json()["email"] == email


# ---------------------------------------------------------------- export and isolation


async def add_calculation(database_url: str, email: str, expression: str) -> None:
    await db_rows(
        database_url,
        "INSERT INTO calculation_history (user_id, expression, result) "
        "SELECT id, $2, '1' FROM users WHERE email = $1 AND deleted_at IS NULL",
        email,
        expression,
    )


async def test_export_holds_everything_and_only_the_users_data(
    api: Api, make_api: ApiFactory, email: str, database_url: str
) -> None:
    other_email = f"other-{email}"
    await api.signup(email, display_name="Ada")
    await api.login(email)
    async with make_api() as other:
        await other.signup(other_email)
        await other.login(other_email)
        await add_calculation(database_url, email, "1+1")
        await add_calculation(database_url, other_email, "2+2")

        response = await api.get("/me/export")
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment")
        data = json.loads(response.content)
        assert set(data) == {"exported_at", "account", "subscription", "payments", "calculations"}
        assert (data["account"]["email"], data["account"]["display_name"]) == (email, "Ada")
        assert data["subscription"] is None and data["payments"] == []
        assert [c["expression"] for c in data["calculations"]] == ["1+1"]

        theirs = json.loads((await other.get("/me/export")).content)
        assert [c["expression"] for c in theirs["calculations"]] == ["2+2"]
        assert (await other.get("/me")).json()["email"] == other_email
        await other.patch("/me", {"display_name": "Mallory"})
    assert (await api.get("/me")).json()["display_name"] == "Ada"


async def test_signed_out_clients_get_nothing(api: Api) -> None:
    for method, path in [
        ("GET", "/me"),
        ("GET", "/me/export"),
        ("PATCH", "/me"),
        ("DELETE", "/me"),
    ]:
        body = {"PATCH": {}, "DELETE": {"password": PASSWORD}}.get(method)
        assert_error(await api.request(method, path, body), 401, "not_authenticated")


# ---------------------------------------------------------------- CSRF, bad input, limits


async def test_state_changes_need_the_csrf_header(api: Api, email: str, database_url: str) -> None:
    body = {"email": email, "password": PASSWORD}
    response = await api.client.post("/api/v1/auth/signup", json=body)
    assert_error(response, 403, "csrf_failed")
    forged = await api.post("/auth/signup", body, headers={"x-csrftoken": "forged"})
    assert_error(forged, 403, "csrf_failed")
    assert await db_rows(database_url, "SELECT 1 FROM users WHERE email = $1", email) == []


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "bad_request"),
        (b'{"email": 12, "password": "Abcdefg1"}', 422, "validation_error"),
        (
            b'{"email": "a@example.com", "password": "Abcdefg1", "admin": true}',
            422,
            "validation_error",
        ),
        (
            json.dumps({"email": "a" * 990 + "@example.com", "password": "Abcdefg1"}).encode(),
            422,
            "validation_error",
        ),
        (b"[]", 422, "validation_error"),
        (b"x" * (10 * 1024 * 1024), 413, "request_too_large"),
    ],
)
async def test_bad_bodies_get_a_4xx_and_change_nothing(
    api: Api, content: bytes, status: int, code: str, database_url: str
) -> None:
    before = await db_rows(database_url, "SELECT count(*) AS n FROM users")
    response = await api.post(
        "/auth/signup", content=content, headers={"content-type": "application/json"}
    )
    assert_error(response, status, code)
    assert await db_rows(database_url, "SELECT count(*) AS n FROM users") == before


async def test_login_is_rate_limited_per_account(api: Api, email: str) -> None:
    await api.signup(email)
    for _ in range(10):
        assert_error(await api.login(email, "Wrong-Password-1"), 401, "invalid_credentials")
    limited = await api.login(email)  # even the right password waits now
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 15 * 60


async def test_forgot_password_is_rate_limited_per_account(api: Api, email: str) -> None:
    for _ in range(5):
        assert (await api.post("/auth/forgot-password", {"email": email})).status_code == 202
    limited = await api.post("/auth/forgot-password", {"email": email})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0


async def test_login_is_rate_limited_per_client_address(api: Api, email: str) -> None:
    for attempt in range(100):
        await api.login(f"{attempt}-{email}", "Wrong-Password-1")
    assert_error(await api.login(email), 429, "rate_limited")
