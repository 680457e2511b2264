"""A push in one round trip: `sync_push(...)`, a function that locks the account and the
device, checks what the caller planned against what it finds, and applies the plan.

The caller (sync/push.py) plans the batch in Python from an assumption: that the device has
settled every seq before the batch's first (the common push), and that every op's
`created_at` is inside the live window. The function takes the locks (the account's row,
then the device's: the order every push keeps), counts the push against the account's
allowance, and:
- answers `limited` (over the allowance) or `foreign_device` (the device id is another
  account's), writing nothing more;
- answers `replan` with the device's true `last_seq`, the live window and the op-id log of
  the batch's seqs settled already, when the assumption does not hold (a retry, a gap, a
  clock out of range): the caller plans again and calls once more with `p_count` 0, or
  answers from the log alone when nothing is left to settle;
- otherwise claims the creates' entry ids (a create whose entry the account stored already is
  not inserted: its seq comes back in `stored`), inserts the creates, marks the deletes,
  settles the device's `last_seq` and the op-id log, and takes the account's next version
  (with its notification, delivered on commit) when anything changed: `applied`.

Called on its own, the function is the push's transaction: one statement, one round trip.
`sync_op_log` keeps 64 op ids a row (sync/oplog.py, `BLOCK`); `calcapp_sync` is the
channel of the live sync (backend/live).

Revision ID: 0011_push_function
Revises: 0010_subscription_source
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from migrations.sql import execute_all

revision: str = "0011_push_function"
down_revision: str | None = "0010_subscription_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE FUNCTION sync_push(
        p_user UUID,
        p_device UUID,
        p_count INTEGER,
        p_allowance INTEGER,
        p_minute INTERVAL,
        p_leeway INTERVAL,
        p_expected BIGINT,
        p_first BIGINT,
        p_last BIGINT,
        p_times TIMESTAMPTZ[],
        p_settle_to BIGINT,
        p_blocks BIGINT[],
        p_block_ids BYTEA[],
        c_seqs BIGINT[],
        c_op_ids UUID[],
        c_times TIMESTAMPTZ[],
        c_expressions TEXT[],
        c_results TEXT[],
        c_metadata TEXT[],
        c_entries UUID[],
        d_devices UUID[],
        d_seqs BIGINT[],
        d_times TIMESTAMPTZ[],
        d_deleted TIMESTAMPTZ[],
        OUT outcome TEXT,
        OUT version BIGINT,
        OUT server_now TIMESTAMPTZ,
        OUT earliest TIMESTAMPTZ,
        OUT last_seq BIGINT,
        OUT pushes INTEGER,
        OUT pushes_since TIMESTAMPTZ,
        OUT log_blocks BIGINT[],
        OUT log_ids BYTEA[],
        OUT stored BIGINT[]
    ) LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
        changed BOOLEAN;
    BEGIN
        server_now := now();
        -- The account's row first, counting the pushes of its current minute.
        INSERT INTO sync_user AS u (user_id, push_window_start, pushes)
        VALUES (p_user, now(), p_count)
        ON CONFLICT (user_id) DO UPDATE SET
            updated_at = now(),
            push_window_start = CASE WHEN u.push_window_start <= now() - p_minute
                                     THEN now() ELSE u.push_window_start END,
            pushes = CASE WHEN u.push_window_start <= now() - p_minute
                          THEN p_count ELSE u.pushes + p_count END
        RETURNING u.version, u.pushes, u.push_window_start INTO version, pushes, pushes_since;
        IF pushes > p_allowance THEN
            outcome := 'limited';
            RETURN;
        END IF;

        -- Then the device's row (locked, and left as it is, when another account has it).
        INSERT INTO sync_device AS d (device_id, user_id) VALUES (p_device, p_user)
        ON CONFLICT (device_id) DO UPDATE SET updated_at = now() WHERE d.user_id = p_user
        RETURNING d.last_seq INTO last_seq;
        IF NOT FOUND THEN
            outcome := 'foreign_device';
            RETURN;
        END IF;

        earliest := sync_window_start();
        IF last_seq >= p_first THEN  -- the op ids of the batch's seqs settled already
            SELECT array_agg(l.block), array_agg(l.op_ids) INTO log_blocks, log_ids
            FROM sync_op_log AS l
            WHERE l.device_id = p_device
              AND l.block BETWEEN (p_first - 1) / 64 AND (least(p_last, last_seq) - 1) / 64;
        END IF;
        IF last_seq IS DISTINCT FROM p_expected OR EXISTS (
            SELECT FROM unnest(p_times) AS t(moment)
            WHERE t.moment < earliest OR t.moment > server_now + p_leeway
        ) THEN
            outcome := 'replan';
            RETURN;
        END IF;
        outcome := 'applied';
        IF p_settle_to = last_seq THEN
            RETURN;
        END IF;

        IF EXISTS (SELECT FROM unnest(c_entries) AS e(id) WHERE e.id IS NOT NULL) THEN
            WITH claimed AS (
                INSERT INTO sync_entry (user_id, entry_id)
                SELECT p_user, e.id FROM unnest(c_entries) AS e(id) WHERE e.id IS NOT NULL
                ON CONFLICT DO NOTHING
                RETURNING entry_id
            )
            SELECT array_agg(c.seq) INTO stored
            FROM unnest(c_seqs, c_entries) AS c(seq, entry)
            WHERE c.entry IS NOT NULL AND c.entry NOT IN (SELECT entry_id FROM claimed);
        END IF;
        changed := cardinality(c_seqs) > coalesce(cardinality(stored), 0)
                   OR cardinality(d_seqs) > 0;
        IF changed THEN
            version := version + 1;
        END IF;

        IF cardinality(c_seqs) > coalesce(cardinality(stored), 0) THEN
            INSERT INTO calculation_history (user_id, device_id, seq, op_id, created_at,
                                             expression, result, metadata, version)
            SELECT p_user, p_device, c.seq, c.op_id, c.created_at, c.expression, c.result,
                   c.metadata::jsonb, sync_push.version
            FROM unnest(c_seqs, c_op_ids, c_times, c_expressions, c_results, c_metadata)
                 AS c(seq, op_id, created_at, expression, result, metadata)
            WHERE c.seq <> ALL (coalesce(stored, '{}'))
            ON CONFLICT DO NOTHING;
        END IF;
        -- After the creates: a delete may target a create of the same batch.
        IF cardinality(d_seqs) > 0 THEN
            UPDATE calculation_history AS h
            SET deleted_at = d.deleted_at, version = sync_push.version
            FROM unnest(d_devices, d_seqs, d_times, d_deleted)
                 AS d(device_id, seq, created_at, deleted_at)
            WHERE h.user_id = p_user AND h.device_id = d.device_id AND h.seq = d.seq
              AND h.created_at = d.created_at AND h.deleted_at IS NULL;
        END IF;

        UPDATE sync_device SET last_seq = p_settle_to WHERE device_id = p_device;
        INSERT INTO sync_op_log AS l (device_id, block, op_ids)
        SELECT p_device, b.block, b.op_ids FROM unnest(p_blocks, p_block_ids) AS b(block, op_ids)
        ON CONFLICT (device_id, block) DO UPDATE SET op_ids = l.op_ids || EXCLUDED.op_ids;
        IF changed THEN
            UPDATE sync_user SET version = sync_push.version WHERE user_id = p_user;
            PERFORM pg_notify('calcapp_sync', p_user::text || ' ' || sync_push.version::text);
        END IF;
    END
    $$
    """,
]

DOWNGRADE = [
    "DROP FUNCTION sync_push",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
