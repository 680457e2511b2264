"""Sync at the edges: the op-id log, upload identities, cursor epochs, archived months.

- `sync_op_log`: the `op_id` of every settled seq of every device, whatever settled it (a
  create, a delete, a rejected op), 16 bytes a seq in blocks of 64 seqs, so that a different
  op at a settled seq is a `conflict` even once its row is deleted, archived or was never
  stored. Existing devices are backfilled from their stored rows; a seq with no row (a delete
  or a rejected op before this migration) is recorded as unknown (zeros), which a different
  op at that seq meets as a `conflict`.
- `sync_entry`: the stable ids of calculations uploaded from a device's own history (the free
  tier's, or rows a device sends again after a restore): each is stored once per account.
- `sync_user.epoch`: a number in every pull cursor; a backup restore, a partition restore or
  a retention deletion draws a new random one, which expires the account's cursors.
- `calculation_history_archive`: the months `calcapp partitions archive` exported and
  dropped; pushes are refused in them.
- Partitions are created standalone and then attached, which locks the parent table in a mode
  that does not wait for (nor block) running inserts.

Revision ID: 0007_sync_edges
Revises: 0006_retention
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0007_sync_edges"
down_revision: str | None = "0006_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OP_LOG_BLOCK = 64  # sync.oplog.BLOCK
UNKNOWN_OP = r"'\x00000000000000000000000000000000'::bytea"

CREATE_AND_ATTACH = """
CREATE OR REPLACE FUNCTION ensure_calculation_history_partition(ts TIMESTAMPTZ) RETURNS TEXT
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
        -- Made on its own, then attached: ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on
        -- the parent, which running inserts (ROW EXCLUSIVE) neither wait for nor block,
        -- where CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE. The lock serialises
        -- creators but does not refresh this backend's catalog cache: a partition created
        -- meanwhile by another transaction shows up here as duplicate_table (work done).
        BEGIN
            EXECUTE format(
                'CREATE TABLE %s (LIKE calculation_history INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                qualified);
            EXECUTE format(
                'ALTER TABLE calculation_history ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
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
"""

CREATE_PARTITION_OF = """
CREATE OR REPLACE FUNCTION ensure_calculation_history_partition(ts TIMESTAMPTZ) RETURNS TEXT
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
"""

UPGRADE = [
    # A random epoch in [1, 2^52): exact in a JavaScript number, never 0 (0 is "no row").
    """
    CREATE FUNCTION sync_new_epoch() RETURNS BIGINT LANGUAGE sql VOLATILE AS $$
        SELECT CAST(floor(random() * 4503599627370495) AS BIGINT) + 1
    $$
    """,
    # 0 until the account's history is rewritten (and for accounts with no row); existing
    # rows get a random one now, so a backup from before this column, restored and upgraded
    # again, still expires the cursors handed out meanwhile.
    "ALTER TABLE sync_user ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0",
    "UPDATE sync_user SET epoch = sync_new_epoch()",
    """
    CREATE TABLE sync_op_log (
        device_id UUID NOT NULL,
        block BIGINT NOT NULL,
        op_ids BYTEA NOT NULL,
        CONSTRAINT pk_sync_op_log PRIMARY KEY (device_id, block),
        CONSTRAINT fk_sync_op_log_device_id_sync_device
            FOREIGN KEY (device_id) REFERENCES sync_device (device_id) ON DELETE CASCADE,
        CONSTRAINT ck_sync_op_log_block CHECK (block >= 0),
        CONSTRAINT ck_sync_op_log_op_ids
            CHECK (length(op_ids) % 16 = 0 AND length(op_ids) <= 16 * 64)
    )
    """,
    # Blocks are appended to in place: leave room for HOT updates.
    "ALTER TABLE sync_op_log SET (fillfactor = 70)",
    f"""
    INSERT INTO sync_op_log (device_id, block, op_ids)
    SELECT d.device_id, (s.seq - 1) / {OP_LOG_BLOCK},
           string_agg(coalesce(
               (SELECT uuid_send(h.op_id) FROM calculation_history h
                 WHERE h.user_id = d.user_id AND h.device_id = d.device_id AND h.seq = s.seq
                 LIMIT 1),
               {UNKNOWN_OP}), ''::bytea ORDER BY s.seq)
    FROM sync_device d CROSS JOIN LATERAL generate_series(1, d.last_seq) AS s(seq)
    GROUP BY d.device_id, (s.seq - 1) / {OP_LOG_BLOCK}
    """,  # noqa: S608 (constants of this module)
    """
    CREATE TABLE sync_entry (
        user_id UUID NOT NULL,
        entry_id UUID NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT pk_sync_entry PRIMARY KEY (user_id, entry_id),
        CONSTRAINT fk_sync_entry_user_id_users
            FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE calculation_history_archive (
        month TIMESTAMPTZ NOT NULL,
        rows BIGINT NOT NULL,
        sha256 VARCHAR(64) NOT NULL,
        archived_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT pk_calculation_history_archive PRIMARY KEY (month),
        CONSTRAINT ck_calculation_history_archive_rows CHECK (rows >= 0)
    )
    """,
    # The live window of pushed `created_at`: from the oldest month that is not archived, at
    # most 24 months back (UTC month starts), to 24 hours ahead.
    """
    CREATE FUNCTION sync_window_start() RETURNS TIMESTAMPTZ LANGUAGE sql STABLE AS $$
        SELECT greatest(
            (date_trunc('month', now() AT TIME ZONE 'UTC') - INTERVAL '24 months')
                AT TIME ZONE 'UTC',
            (SELECT max(month) + INTERVAL '1 month' FROM calculation_history_archive))
    $$
    """,
    CREATE_AND_ATTACH,
]

DOWNGRADE = [
    CREATE_PARTITION_OF,
    "DROP FUNCTION sync_window_start()",
    "DROP TABLE calculation_history_archive",
    "DROP TABLE sync_entry",
    "DROP TABLE sync_op_log",
    "ALTER TABLE sync_user DROP COLUMN epoch",
    "DROP FUNCTION sync_new_epoch()",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
