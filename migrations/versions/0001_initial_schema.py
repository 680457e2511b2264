"""Initial schema: the data-architecture seed plus the sync columns and tables.

Hand-written DDL because the history table is range-partitioned by month, which autogenerate
cannot express. Differences from the seed are listed in docs/data-model.md.

Revision ID: 0001_initial_schema
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0001_initial_schema"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"

UPGRADE = [
    # citext: case-insensitive email equality and uniqueness (seed 2.1); pg_trgm: seed Query 5.
    "CREATE EXTENSION IF NOT EXISTS citext",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"""
    CREATE TABLE users (
        id UUID NOT NULL DEFAULT gen_random_uuid(),
        email CITEXT NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        display_name VARCHAR(100),
        email_verified BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        deleted_at TIMESTAMPTZ,
        CONSTRAINT pk_users PRIMARY KEY (id),
        CONSTRAINT ck_users_email_format CHECK (email ~* '{EMAIL_PATTERN}'),
        CONSTRAINT ck_users_email_length CHECK (length(email) <= 255)
    )
    """,
    # Unique among live accounts (case-insensitive through citext); also serves seed Query 1.
    "CREATE UNIQUE INDEX idx_users_email ON users (email) WHERE deleted_at IS NULL",
    "CREATE INDEX idx_users_created_at ON users (created_at)",
    """
    CREATE TABLE subscriptions (
        id UUID NOT NULL DEFAULT gen_random_uuid(),
        user_id UUID NOT NULL,
        stripe_customer_id VARCHAR(255) NOT NULL,
        stripe_subscription_id VARCHAR(255) NOT NULL,
        status VARCHAR(50) NOT NULL DEFAULT 'active',
        price_per_month NUMERIC(10, 2) NOT NULL,
        current_period_start TIMESTAMPTZ NOT NULL,
        current_period_end TIMESTAMPTZ NOT NULL,
        canceled_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT pk_subscriptions PRIMARY KEY (id),
        CONSTRAINT fk_subscriptions_user_id_users
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT uq_subscriptions_stripe_customer_id UNIQUE (stripe_customer_id),
        CONSTRAINT uq_subscriptions_stripe_subscription_id UNIQUE (stripe_subscription_id),
        CONSTRAINT ck_subscriptions_status
            CHECK (status IN ('active', 'canceled', 'past_due', 'incomplete', 'trialing'))
    )
    """,
    "CREATE UNIQUE INDEX idx_subscriptions_user_id ON subscriptions (user_id)",
    "CREATE INDEX idx_subscriptions_status ON subscriptions (status)",
    "CREATE INDEX idx_subscriptions_stripe_customer_id ON subscriptions (stripe_customer_id)",
    """
    CREATE TABLE calculation_history (
        id BIGSERIAL NOT NULL,
        user_id UUID NOT NULL,
        expression VARCHAR(500) NOT NULL,
        result VARCHAR(100) NOT NULL,
        metadata JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        device_id UUID,
        seq BIGINT,
        op_id UUID,
        version BIGINT NOT NULL DEFAULT 0,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        deleted_at TIMESTAMPTZ,
        CONSTRAINT pk_calculation_history PRIMARY KEY (id, created_at),
        CONSTRAINT uq_calculation_history_user_id
            UNIQUE (user_id, device_id, seq, created_at),
        CONSTRAINT fk_calculation_history_user_id_users
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT ck_calculation_history_expression_length CHECK (length(expression) <= 500),
        CONSTRAINT ck_calculation_history_sync_identity CHECK (
            (device_id IS NULL) = (seq IS NULL)
            AND (device_id IS NULL) = (op_id IS NULL)
            AND (seq IS NULL OR seq > 0)
        ),
        CONSTRAINT ck_calculation_history_version CHECK (version >= 0)
    ) PARTITION BY RANGE (created_at)
    """,
    "CREATE INDEX idx_calc_history_user_created ON calculation_history (user_id, created_at DESC)",
    "CREATE INDEX idx_calc_history_created ON calculation_history (created_at DESC)",
    "CREATE INDEX idx_calc_history_metadata ON calculation_history USING GIN (metadata)",
    """CREATE INDEX idx_calc_history_expression_trgm
        ON calculation_history USING GIN (expression gin_trgm_ops)""",
    # Pull pages by the per-user version with (device_id, seq) as tiebreak.
    """CREATE INDEX idx_calc_history_user_version
        ON calculation_history (user_id, version, device_id, seq)""",
    """
    CREATE TABLE payment_history (
        id UUID NOT NULL DEFAULT gen_random_uuid(),
        subscription_id UUID NOT NULL,
        stripe_payment_intent_id VARCHAR(255) NOT NULL,
        amount NUMERIC(10, 2) NOT NULL,
        currency VARCHAR(3) NOT NULL DEFAULT 'usd',
        status VARCHAR(50) NOT NULL,
        metadata JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT pk_payment_history PRIMARY KEY (id),
        CONSTRAINT fk_payment_history_subscription_id_subscriptions
            FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE,
        CONSTRAINT uq_payment_history_stripe_payment_intent_id UNIQUE (stripe_payment_intent_id),
        CONSTRAINT ck_payment_history_status
            CHECK (status IN ('succeeded', 'failed', 'pending', 'canceled', 'requires_action'))
    )
    """,
    "CREATE INDEX idx_payment_history_subscription_id ON payment_history (subscription_id)",
    "CREATE INDEX idx_payment_history_status ON payment_history (status)",
    "CREATE INDEX idx_payment_history_created ON payment_history (created_at DESC)",
    # Sync: the authoritative per-device counter and the per-user pull version.
    """
    CREATE TABLE sync_device (
        device_id UUID NOT NULL,
        user_id UUID NOT NULL,
        last_seq BIGINT NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT pk_sync_device PRIMARY KEY (device_id),
        CONSTRAINT fk_sync_device_user_id_users
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT ck_sync_device_last_seq CHECK (last_seq >= 0)
    )
    """,
    "CREATE INDEX idx_sync_device_user_id ON sync_device (user_id)",
    """
    CREATE TABLE sync_user (
        user_id UUID NOT NULL,
        version BIGINT NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT pk_sync_user PRIMARY KEY (user_id),
        CONSTRAINT fk_sync_user_user_id_users
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT ck_sync_user_version CHECK (version >= 0)
    )
    """,
    # Monthly partitions, named calculation_history_YYYY_MM, bounded by UTC month starts.
    # Safe to call concurrently: creation is serialised by a transaction-scoped advisory lock.
    """
    CREATE FUNCTION ensure_calculation_history_partition(ts TIMESTAMPTZ) RETURNS TEXT
    LANGUAGE plpgsql AS $$
    DECLARE
        month_start TIMESTAMP := date_trunc('month', ts AT TIME ZONE 'UTC');
        parent_schema TEXT := (
            SELECT nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = 'calculation_history'::regclass);
        partition_name TEXT := 'calculation_history_' || to_char(month_start, 'YYYY_MM');
        qualified TEXT := format('%I.%I', parent_schema, partition_name);
    BEGIN
        IF to_regclass(qualified) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('calculation_history partitions'));
            -- The lock serialises creators, but it does not refresh this backend's catalog
            -- cache: a partition created meanwhile by another transaction shows up here as
            -- duplicate_table, which means the work is done.
            BEGIN
                EXECUTE format(
                    'CREATE TABLE %s PARTITION OF calculation_history FOR VALUES FROM (%L) TO (%L)',
                    qualified,
                    month_start AT TIME ZONE 'UTC',
                    (month_start + INTERVAL '1 month') AT TIME ZONE 'UTC');
            EXCEPTION WHEN duplicate_table THEN
                NULL;
            END;
        END IF;
        RETURN partition_name;
    END
    $$
    """,
    """
    CREATE FUNCTION ensure_calculation_history_partitions(months_ahead INTEGER DEFAULT 3)
    RETURNS SETOF TEXT LANGUAGE sql AS $$
        SELECT ensure_calculation_history_partition(
            (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => m))
            AT TIME ZONE 'UTC')
        FROM generate_series(0, months_ahead) AS m
    $$
    """,
    "SELECT ensure_calculation_history_partitions(3)",
]

DOWNGRADE = [
    "DROP FUNCTION ensure_calculation_history_partitions(INTEGER)",
    "DROP FUNCTION ensure_calculation_history_partition(TIMESTAMPTZ)",
    "DROP TABLE sync_user",
    "DROP TABLE sync_device",
    "DROP TABLE payment_history",
    "DROP TABLE calculation_history",
    "DROP TABLE subscriptions",
    "DROP TABLE users",
    "DROP EXTENSION IF EXISTS pg_trgm",
    "DROP EXTENSION IF EXISTS citext",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
