"""Account security: sessions with ids and an idle timeout, the email-change undo link, and
passwords to be replaced at the next sign-in.

- `user_sessions.id`: a public id for the session list (the token hash stays private);
  `last_used_at`: a session unused for 7 days ends (besides the 30-day absolute lifetime).
- `email_tokens.purpose` adds `undo_email_change`: mailed to the old address when the email
  changes, valid 7 days.
- `users.password_change_required`: set at sign-in when the password fails the current rules
  (12 characters, not a known breached or common one); the account page asks for a new one.

Revision ID: 0008_account_security
Revises: 0007_sync_edges
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0008_account_security"
down_revision: str | None = "0007_sync_edges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "ALTER TABLE user_sessions ADD COLUMN id UUID NOT NULL DEFAULT gen_random_uuid()",
    "ALTER TABLE user_sessions ADD CONSTRAINT uq_user_sessions_id UNIQUE (id)",
    "ALTER TABLE user_sessions ADD COLUMN last_used_at TIMESTAMPTZ NOT NULL DEFAULT now()",
    "ALTER TABLE email_tokens DROP CONSTRAINT ck_email_tokens_purpose",
    """ALTER TABLE email_tokens ADD CONSTRAINT ck_email_tokens_purpose
        CHECK (purpose IN ('verify_email', 'reset_password', 'undo_email_change'))""",
    "ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT false",
]

DOWNGRADE = [
    "ALTER TABLE users DROP COLUMN password_change_required",
    "DELETE FROM email_tokens WHERE purpose = 'undo_email_change'",
    "ALTER TABLE email_tokens DROP CONSTRAINT ck_email_tokens_purpose",
    """ALTER TABLE email_tokens ADD CONSTRAINT ck_email_tokens_purpose
        CHECK (purpose IN ('verify_email', 'reset_password'))""",
    "ALTER TABLE user_sessions DROP COLUMN last_used_at",
    "ALTER TABLE user_sessions DROP CONSTRAINT uq_user_sessions_id",
    "ALTER TABLE user_sessions DROP COLUMN id",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
