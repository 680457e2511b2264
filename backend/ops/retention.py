"""The retention policy (data-architecture document 5.1), one run at a time, safe to re-run.

- Synced history of canceled premium users: deleted 90 days after premium ended, and only
  once the user was warned by email at least 7 days before (a warning that could not be sent
  is retried next run, and the deletion waits for it).
- Soft-deleted accounts: hard-deleted 30 days after the deletion, with everything that
  cascades; their payment records move to `retained_payments`, without the email.
- Payment records: kept 7 years, then deleted.
Nothing else is touched. Every step uses the database's clock (`now()`).
"""

# The statements below are assembled from this module's constants only, never from input.
# ruff: noqa: S608

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.accounts.emails import SIGNATURE
from backend.mail import Mail, Mailer

logger = logging.getLogger(__name__)

HISTORY_DAYS = 90
WARNING_DAYS = 7
ACCOUNT_DAYS = 30
PAYMENT_YEARS = 7
NOTICE = "history_deletion"

# Canceled premium users with synced history, premium ended at least 90 - 7 days ago, who were
# not yet warned about this ending (a new subscription that ends again warns again).
TO_WARN = text(
    f"""
    SELECT u.id, u.email, s.current_period_end AS ended,
           greatest(s.current_period_end + interval '{HISTORY_DAYS} days',
                    now() + interval '{WARNING_DAYS} days') AS deletion,
           (SELECT count(*) FROM calculation_history h
             WHERE h.user_id = u.id AND h.deleted_at IS NULL) AS calculations
      FROM subscriptions s JOIN users u ON u.id = s.user_id
     WHERE s.status = 'canceled' AND u.deleted_at IS NULL
       AND s.current_period_end <= now() - interval '{HISTORY_DAYS - WARNING_DAYS} days'
       AND EXISTS (SELECT 1 FROM calculation_history h WHERE h.user_id = u.id)
       AND NOT EXISTS (SELECT 1 FROM retention_notices n
                        WHERE n.user_id = u.id AND n.kind = '{NOTICE}'
                          AND n.premium_ended_at = s.current_period_end)
     ORDER BY s.current_period_end
    """
)
RECORD_NOTICE = text(
    "INSERT INTO retention_notices (user_id, kind, premium_ended_at) "
    f"VALUES (:user_id, '{NOTICE}', :ended) ON CONFLICT DO NOTHING"
)
# Users whose history is due: 90 days after premium ended, warned 7 days ago or more.
HISTORY_DUE = f"""
    SELECT s.user_id FROM subscriptions s
      JOIN retention_notices n ON n.user_id = s.user_id AND n.kind = '{NOTICE}'
                              AND n.premium_ended_at = s.current_period_end
     WHERE s.status = 'canceled'
       AND s.current_period_end <= now() - interval '{HISTORY_DAYS} days'
       AND n.sent_at <= now() - interval '{WARNING_DAYS} days'
"""
COUNT_HISTORY_DUE = text(
    f"SELECT count(DISTINCT user_id), count(*) FROM calculation_history "
    f"WHERE user_id IN ({HISTORY_DUE})"
)
# With the rows go the ids of the calculations they uploaded, and the accounts get a new sync
# epoch: their devices rebuild their synced history (now empty) from the start.
DELETE_HISTORY = text(
    f"""
    WITH gone AS (DELETE FROM calculation_history WHERE user_id IN ({HISTORY_DUE})
                  RETURNING user_id),
    owners AS (SELECT DISTINCT user_id FROM gone),
    entries AS (DELETE FROM sync_entry WHERE user_id IN (SELECT user_id FROM owners)),
    epochs AS (UPDATE sync_user SET epoch = sync_new_epoch()
               WHERE user_id IN (SELECT user_id FROM owners))
    SELECT count(DISTINCT user_id), count(*) FROM gone
    """
)
ACCOUNTS_DUE = f"SELECT id FROM users WHERE deleted_at <= now() - interval '{ACCOUNT_DAYS} days'"


def _payments_to_retain(users: str) -> str:
    """The payment records of `users` (a subquery) that are less than 7 years old."""
    return f"""
        FROM payment_history p JOIN subscriptions s ON s.id = p.subscription_id
       WHERE s.user_id IN ({users})
         AND p.created_at > now() - interval '{PAYMENT_YEARS} years'
    """


def _retain_payments(users: str) -> TextClause:
    return text(
        f"""
        INSERT INTO retained_payments (id, stripe_customer_id, stripe_payment_intent_id,
                                       amount, currency, status, metadata, created_at)
        SELECT p.id, s.stripe_customer_id, p.stripe_payment_intent_id, p.amount, p.currency,
               p.status, p.metadata, p.created_at {_payments_to_retain(users)}
        ON CONFLICT DO NOTHING
        """
    )


COUNT_ACCOUNTS_DUE = text(
    f"SELECT (SELECT count(*) FROM ({ACCOUNTS_DUE}) a),"
    f" (SELECT count(*) {_payments_to_retain(ACCOUNTS_DUE)})"
)
RETAIN_PAYMENTS = _retain_payments(ACCOUNTS_DUE)
RETAIN_ONE_USERS_PAYMENTS = _retain_payments("SELECT CAST(:user_id AS uuid)")
DELETE_ACCOUNTS = text(
    f"WITH gone AS (DELETE FROM users WHERE id IN ({ACCOUNTS_DUE}) RETURNING id) "
    "SELECT count(*) FROM gone"
)
PAYMENTS_EXPIRED = f"created_at < now() - interval '{PAYMENT_YEARS} years'"
COUNT_PAYMENTS_EXPIRED = text(
    f"SELECT (SELECT count(*) FROM payment_history WHERE {PAYMENTS_EXPIRED})"
    f" + (SELECT count(*) FROM retained_payments WHERE {PAYMENTS_EXPIRED})"
)
DELETE_PAYMENTS_EXPIRED = text(
    f"""
    WITH a AS (DELETE FROM payment_history WHERE {PAYMENTS_EXPIRED} RETURNING 1),
         b AS (DELETE FROM retained_payments WHERE {PAYMENTS_EXPIRED} RETURNING 1)
    SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)
    """
)


@dataclass(slots=True)
class RetentionReport:
    dry_run: bool
    warned: int = 0
    warnings_failed: int = 0
    histories_deleted: int = 0
    """Users whose synced history was deleted."""
    history_rows_deleted: int = 0
    accounts_erased: int = 0
    payments_retained: int = 0
    payments_expired: int = 0

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        failed = self.warnings_failed
        failed_text = f", {failed} failed (retried next run)" if failed else ""
        lines = [
            f"history deletion warnings: {self.warned} {'to send' if self.dry_run else 'sent'}"
            + failed_text,
            f"synced history: {self.history_rows_deleted} calculation(s) of "
            f"{self.histories_deleted} canceled user(s) {verb} deleted",
            f"deleted accounts: {self.accounts_erased} {verb} erased, their "
            f"{self.payments_retained} payment record(s) kept for {PAYMENT_YEARS} years",
            f"payment records older than {PAYMENT_YEARS} years: {self.payments_expired} "
            f"{verb} deleted",
        ]
        return ["dry run: nothing was changed or sent", *lines] if self.dry_run else lines


def warning_mail(to: str, base_url: str, ended: datetime, deletion: datetime, count: int) -> Mail:
    return Mail(
        to=to,
        subject="Your synced Calcapp history will be deleted soon",
        text=(
            f"Your Calcapp Premium ended on {ended:%d %B %Y}. The {count} calculation(s) synced "
            f"to our servers will be deleted on {deletion:%d %B %Y}.\n\n"
            f"To keep them, subscribe again: {base_url}/billing.html\n"
            f"Or download them (Export your data): {base_url}/account.html\n\n"
            "The history on your devices stays there either way." + SIGNATURE
        ),
    )


async def _warn(
    conn: AsyncConnection, mailer: Mailer, base_url: str, report: RetentionReport
) -> None:
    async with conn.begin():
        candidates = (await conn.execute(TO_WARN)).all()
    if report.dry_run:
        report.warned = len(candidates)
        return
    for user_id, email, ended, deletion, count in candidates:
        try:
            await mailer.send(warning_mail(email, base_url, ended, deletion, count))
        except (OSError, smtplib.SMTPException) as exc:  # retried next run
            logger.error("history deletion warning to user %s not sent: %s", user_id, exc)
            report.warnings_failed += 1
            continue
        async with conn.begin():  # each mail sent is recorded at once
            await conn.execute(RECORD_NOTICE, {"user_id": user_id, "ended": ended})
        report.warned += 1


async def _delete(conn: AsyncConnection, report: RetentionReport) -> None:
    if report.dry_run:
        report.histories_deleted, report.history_rows_deleted = (
            await conn.execute(COUNT_HISTORY_DUE)
        ).one()
        report.accounts_erased, report.payments_retained = (
            await conn.execute(COUNT_ACCOUNTS_DUE)
        ).one()
        report.payments_expired = (await conn.execute(COUNT_PAYMENTS_EXPIRED)).scalar_one()
        return
    report.histories_deleted, report.history_rows_deleted = (
        await conn.execute(DELETE_HISTORY)
    ).one()
    report.payments_retained = (await conn.execute(RETAIN_PAYMENTS)).rowcount
    report.accounts_erased = (await conn.execute(DELETE_ACCOUNTS)).scalar_one()
    report.payments_expired = (await conn.execute(DELETE_PAYMENTS_EXPIRED)).scalar_one()


async def run(
    conn: AsyncConnection, mailer: Mailer, base_url: str, *, dry_run: bool = False
) -> RetentionReport:
    """Apply the policy (or, with `dry_run`, only count what it would do), on `conn` with no
    transaction open: the warnings first (each recorded as it is sent), then the deletions
    in one transaction."""
    report = RetentionReport(dry_run=dry_run)
    await _warn(conn, mailer, base_url, report)
    async with conn.begin():
        await _delete(conn, report)
    return report


async def erase_account(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    """Hard-delete one account now (operator erasure), keeping its payment records; returns
    how many payment records were kept."""
    kept = await conn.execute(RETAIN_ONE_USERS_PAYMENTS, {"user_id": user_id})
    await conn.execute(text("DELETE FROM users WHERE id = :user_id"), {"user_id": user_id})
    return kept.rowcount
