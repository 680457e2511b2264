"""Core table definitions the sync engine reads and writes.

The schema itself comes from the Alembic migrations; these definitions mirror it (a test
compares them). Foreign keys to `users` exist in the database but are not declared here, so
that `sync` stays independent of the backend's models.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

calculation_history = Table(
    "calculation_history",
    metadata,
    Column("id", BigInteger, autoincrement=True, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("expression", String(500), nullable=False),
    Column("result", String(100), nullable=False),
    Column("metadata", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("device_id", Uuid),
    Column("seq", BigInteger),
    Column("op_id", Uuid),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("id", "created_at", name="pk_calculation_history"),
    UniqueConstraint(
        "user_id", "device_id", "seq", "created_at", name="uq_calculation_history_user_id"
    ),
)

sync_device = Table(
    "sync_device",
    metadata,
    Column("device_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

sync_user = Table(
    "sync_user",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("epoch", BigInteger, nullable=False, server_default="0"),
    Column("push_window_start", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("pushes", Integer, nullable=False, server_default="0"),
)

sync_op_log = Table(
    "sync_op_log",
    metadata,
    Column("device_id", Uuid, primary_key=True),
    Column("block", BigInteger, primary_key=True),
    Column("op_ids", LargeBinary, nullable=False),
)

sync_entry = Table(
    "sync_entry",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("entry_id", Uuid, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

calculation_history_archive = Table(
    "calculation_history_archive",
    metadata,
    Column("month", DateTime(timezone=True), primary_key=True),
    Column("rows", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
