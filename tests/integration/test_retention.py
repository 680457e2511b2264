"""`calcapp retention run` and the operator's GDPR commands, on a database of their own.

Time passing is simulated by moving the rows' timestamps back (premium ended 100 days ago,
account deleted 31 days ago, the warning sent 8 days ago), never by waiting.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backend.db.server import connect
from testkit.mailbox import Mailbox
from testkit.support import (
    calcapp_env,
    free_port,
    migrated_database,
    run_async,
    run_calcapp,
)

pytestmark = pytest.mark.db

WARNING_SUBJECT = "Your synced Calcapp history will be deleted soon"


@pytest.fixture
def db_url(make_database: Callable[[], str]) -> str:
    """A database of this test's own: retention acts on every account in it."""
    return migrated_database(make_database)


async def _sql(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    conn = await connect(url)
    try:
        return list(await conn.fetch(statement, *args))
    finally:
        await conn.close()


def sql(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    return run_async(_sql(url, statement, *args))


def account(
    url: str,
    *,
    status: str | None = None,
    ended_days_ago: int = -30,
    deleted_days_ago: int | None = None,
    calculations: int = 2,
    payments_years_ago: tuple[float, ...] = (),
) -> str:
    """An account with (optionally) a subscription whose period ended `ended_days_ago` (negative:
    ends in the future), synced calculations and payments; returns its email."""
    email = f"keep-{uuid.uuid4().hex[:8]}@example.com"
    deleted = None if deleted_days_ago is None else f"now() - interval '{deleted_days_ago} days'"
    user_id = sql(
        url,
        f"INSERT INTO users (email, password_hash, deleted_at) VALUES ($1, $2, {deleted or 'NULL'})"
        " RETURNING id",
        email,
        "$2b$12$" + "x" * 53,
    )[0]["id"]
    if status is not None:
        subscription_id = sql(
            url,
            """INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id,
                   status, price_per_month, current_period_start, current_period_end)
               VALUES ($1, $2, $3, $4, 5.00, now() - make_interval(days => $5 + 30),
                       now() - make_interval(days => $5)) RETURNING id""",
            user_id,
            f"cus_{uuid.uuid4().hex}",
            f"sub_{uuid.uuid4().hex}",
            status,
            ended_days_ago,
        )[0]["id"]
        for years in payments_years_ago:
            sql(
                url,
                """INSERT INTO payment_history (subscription_id, stripe_payment_intent_id, amount,
                       status, created_at)
                   VALUES ($1, $2, 5.00, 'succeeded', now() - make_interval(days => $3))""",
                subscription_id,
                f"pi_{uuid.uuid4().hex}",
                int(years * 365.25),
            )
    for n in range(calculations):
        sql(
            url,
            "INSERT INTO calculation_history (user_id, expression, result) VALUES ($1, $2, '2')",
            user_id,
            f"1+{n}",
        )
    return email


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables retention may touch, to prove what it did and did not change."""
    tables = ["users", "subscriptions", "payment_history", "calculation_history", "user_sessions"]
    return {table: sorted(tuple(r) for r in sql(url, f"SELECT * FROM {table}")) for table in tables}


def calcapp(url: str, mail: dict[str, str], *args: str) -> str:
    done = run_calcapp(*args, env=calcapp_env(DATABASE_URL=url, **mail))
    assert done.returncode == 0, done.stderr
    return done.stdout


def history_of(url: str, email: str) -> int:
    count: int = sql(
        url,
        "SELECT count(*) FROM calculation_history h JOIN users u ON u.id = h.user_id"
        " WHERE u.email = $1",
        email,
    )[0]["count"]
    return count


def test_the_whole_policy_warns_then_deletes_and_touches_nothing_else(
    db_url: str, mail_env: dict[str, str], mailbox: Mailbox
) -> None:
    subscriber = account(db_url, status="active", payments_years_ago=(0.1, 6.5, 8))
    canceled_long_ago = account(db_url, status="canceled", ended_days_ago=100, calculations=3)
    canceled_85_days = account(db_url, status="canceled", ended_days_ago=85)
    canceled_recently = account(db_url, status="canceled", ended_days_ago=30)
    erased = account(
        db_url, status="canceled", ended_days_ago=40, deleted_days_ago=31, payments_years_ago=(1,)
    )
    deleted_recently = account(db_url, deleted_days_ago=5)
    before = snapshot(db_url)

    dry = calcapp(db_url, mail_env, "retention", "run", "--dry-run")
    assert "dry run: nothing was changed or sent" in dry
    assert "history deletion warnings: 2 to send" in dry
    assert "deleted accounts: 1 would be erased" in dry
    assert "payment records older than 7 years: 1 would be deleted" in dry
    assert snapshot(db_url) == before
    assert mailbox.messages(canceled_long_ago) == []

    first = calcapp(db_url, mail_env, "retention", "run")
    assert "history deletion warnings: 2 sent" in first
    # Warned today: nothing is deleted until the warning is 7 days old.
    assert "synced history: 0 calculation(s) of 0 canceled user(s) were deleted" in first
    for email in (canceled_long_ago, canceled_85_days):
        (warning,) = mailbox.messages(email)
        assert warning["Subject"] == WARNING_SUBJECT
        assert "/billing.html" in Mailbox.text(warning)
    assert mailbox.messages(canceled_recently) == []
    assert "deleted accounts: 1 were erased, their 1 payment record(s) kept" in first
    assert history_of(db_url, erased) == 0
    assert sql(db_url, "SELECT count(*) FROM users WHERE email = $1", erased)[0]["count"] == 0
    kept = sql(db_url, "SELECT * FROM retained_payments")
    assert len(kept) == 1 and erased not in json.dumps([dict(r) for r in kept], default=str)
    assert "payment records older than 7 years: 1 were deleted" in first
    assert len(sql(db_url, "SELECT 1 FROM payment_history")) == 2  # 0.1 and 6.5 years old
    assert history_of(db_url, deleted_recently) == 2

    sql(db_url, "UPDATE retention_notices SET sent_at = sent_at - interval '8 days'")
    second = calcapp(db_url, mail_env, "retention", "run")
    assert "history deletion warnings: 0 sent" in second
    assert "synced history: 3 calculation(s) of 1 canceled user(s) were deleted" in second
    assert history_of(db_url, canceled_long_ago) == 0
    assert history_of(db_url, canceled_85_days) == 2  # its 90 days are not over
    for email in (subscriber, canceled_recently, deleted_recently):
        assert history_of(db_url, email) == 2
    assert len(mailbox.messages(canceled_long_ago)) == 1  # warned once

    again = calcapp(db_url, mail_env, "retention", "run")
    assert "synced history: 0 calculation(s)" in again
    assert "deleted accounts: 0 were erased" in again
    assert "payment records older than 7 years: 0 were deleted" in again


def test_no_warning_sent_means_no_deletion(db_url: str, mail_env: dict[str, str]) -> None:
    email = account(db_url, status="canceled", ended_days_ago=200)
    dead_smtp = {**mail_env, "SMTP_PORT": str(free_port())}
    out = calcapp(db_url, dead_smtp, "retention", "run")
    assert "history deletion warnings: 0 sent, 1 failed (retried next run)" in out
    sql(db_url, "UPDATE retention_notices SET sent_at = sent_at - interval '30 days'")
    calcapp(db_url, dead_smtp, "retention", "run")
    assert history_of(db_url, email) == 2
    assert sql(db_url, "SELECT count(*) FROM retention_notices")[0]["count"] == 0


def test_users_export_and_delete(db_url: str, mail_env: dict[str, str], tmp_path: Path) -> None:
    email = account(db_url, status="active", payments_years_ago=(0.5,))
    document = json.loads(calcapp(db_url, mail_env, "users", "export", email))
    assert document["account"]["email"] == email
    assert len(document["calculations"]) == 2 and len(document["payments"]) == 1

    out = tmp_path / "export.json"
    assert "exported to" in calcapp(db_url, mail_env, "users", "export", email, "--out", str(out))
    assert json.loads(out.read_text())["account"]["email"] == email
    assert out.stat().st_mode & 0o777 == 0o600  # personal data: the owner's only
    again = run_calcapp(
        "users", "export", email, "--out", str(out), env=calcapp_env(DATABASE_URL=db_url)
    )
    assert again.returncode == 2 and "cannot write" in again.stderr  # never overwritten

    assert "erased after 30 days" in calcapp(db_url, mail_env, "users", "delete", email)
    assert sql(db_url, "SELECT deleted_at IS NOT NULL AS d FROM users WHERE email = $1", email)[0][
        "d"
    ]
    assert history_of(db_url, email) == 2  # kept until retention erases it
    missing = run_calcapp("users", "delete", email, env=calcapp_env(DATABASE_URL=db_url))
    assert missing.returncode == 2 and "no account" in missing.stderr.lower()

    other = account(db_url, status="active", payments_years_ago=(0.5,))
    out_now = calcapp(db_url, mail_env, "users", "delete", other, "--now")
    assert "erased (1 payment record(s) kept for 7 years)" in out_now
    assert sql(db_url, "SELECT count(*) FROM users WHERE email = $1", other)[0]["count"] == 0
    assert history_of(db_url, other) == 0
