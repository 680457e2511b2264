"""Accounts: server-side sessions, single-use mail tokens, rate-limit counters.

Revision ID: 0002_accounts
Revises: 0001_initial_schema
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0002_accounts"
down_revision: str | None = "0001_initial_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    # The cookie carries a random token; only its SHA-256 is stored.
    """
    CREATE TABLE user_sessions (
        token_hash BYTEA NOT NULL,
        user_id UUID NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at TIMESTAMPTZ NOT NULL,
        user_agent VARCHAR(255),
        CONSTRAINT pk_user_sessions PRIMARY KEY (token_hash),
        CONSTRAINT fk_user_sessions_user_id_users
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX idx_user_sessions_user_id ON user_sessions (user_id)",
    "CREATE INDEX idx_user_sessions_expires_at ON user_sessions (expires_at)",
    # Verification (of `email`, which may be a new address) and password-reset links.
    """
    CREATE TABLE email_tokens (
        token_hash BYTEA NOT NULL,
        user_id UUID NOT NULL,
        purpose VARCHAR(20) NOT NULL,
        email CITEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ,
        CONSTRAINT pk_email_tokens PRIMARY KEY (token_hash),
        CONSTRAINT fk_email_tokens_user_id_users
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT ck_email_tokens_purpose CHECK (purpose IN ('verify_email', 'reset_password'))
    )
    """,
    "CREATE INDEX idx_email_tokens_user_id ON email_tokens (user_id, purpose)",
    # Fixed-window counters shared by every server process; losing them in a crash is fine.
    """
    CREATE UNLOGGED TABLE rate_limits (
        bucket VARCHAR(320) NOT NULL,
        window_start TIMESTAMPTZ NOT NULL,
        hits INTEGER NOT NULL,
        CONSTRAINT pk_rate_limits PRIMARY KEY (bucket)
    )
    """,
]

DOWNGRADE = [
    "DROP TABLE rate_limits",
    "DROP TABLE email_tokens",
    "DROP TABLE user_sessions",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
