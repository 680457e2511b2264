"""`calcapp db stats`: the data-architecture document's monitoring queries, as text tables.

Three sections: the slowest statements (pg_stat_statements, when it is installed), the indexes
never scanned since the statistics were last reset (primary keys and unique indexes left out:
they enforce constraints even when no query reads them), and the size of every table, with
the partitions of a partitioned table listed under it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

TOP_STATEMENTS = 10

ENABLE_HINT = (
    "add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart "
    "PostgreSQL, then run CREATE EXTENSION pg_stat_statements; in this database"
)


@dataclass(frozen=True)
class Statement:
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float


@dataclass(frozen=True)
class UnusedIndex:
    table: str
    index: str
    partitions: int
    """How many partition indexes it stands for (0: the index of a plain table)."""
    bytes: int


@dataclass(frozen=True)
class TableSize:
    name: str
    partition_of: str | None
    rows_estimate: int
    """Live rows as the cumulative statistics count them (an estimate)."""
    bytes: int


@dataclass(frozen=True)
class Stats:
    statements: list[Statement] | None
    statements_note: str | None
    """Why there are no statements (the extension missing), and how to enable it."""
    unused_indexes: list[UnusedIndex]
    tables: list[TableSize]


async def collect(conn: AsyncConnection) -> Stats:
    """Read the three sections in one read-only transaction."""
    async with conn.begin():
        await conn.execute(text("SET TRANSACTION READ ONLY"))
        await conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
        statements, note = await _slowest_statements(conn)
        return Stats(statements, note, await _unused_indexes(conn), await _table_sizes(conn))


async def _slowest_statements(conn: AsyncConnection) -> tuple[list[Statement] | None, str | None]:
    installed = (
        await conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"))
    ).scalar() is not None
    if not installed:
        # pg_settings hides this setting (no error) from roles that may not read it.
        preload = (
            await conn.execute(
                text("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")
            )
        ).scalar()
        if preload is not None and "pg_stat_statements" in preload:
            return None, (
                "pg_stat_statements is loaded but not installed in this database: "
                "run CREATE EXTENSION pg_stat_statements;"
            )
        return None, f"pg_stat_statements is not installed: to enable it, {ENABLE_HINT}"
    try:
        async with conn.begin_nested():
            rows = (
                await conn.execute(
                    text(
                        """SELECT query, calls, total_exec_time, mean_exec_time, max_exec_time
                           FROM pg_stat_statements
                           WHERE dbid = (SELECT oid FROM pg_database
                                         WHERE datname = current_database())
                           ORDER BY mean_exec_time DESC
                           LIMIT :top"""
                    ),
                    {"top": TOP_STATEMENTS},
                )
            ).all()
    except DBAPIError as exc:
        if "shared_preload_libraries" not in str(exc.orig):
            raise
        return None, (
            "pg_stat_statements is installed but not loaded: add it to "
            "shared_preload_libraries in postgresql.conf and restart PostgreSQL"
        )
    return [
        Statement(" ".join(str(r[0]).split()), int(r[1]), float(r[2]), float(r[3]), float(r[4]))
        for r in rows
    ], None


# Partition indexes are grouped under the partitioned index they belong to: an index is
# unused when none of its partitions' indexes was ever scanned.
UNUSED_INDEXES = text(
    """
    WITH leaf AS (
        SELECT s.indexrelid, s.idx_scan, pg_relation_size(s.indexrelid) AS bytes,
               coalesce(pg_partition_root(s.indexrelid), s.indexrelid) AS root,
               pg_partition_root(s.indexrelid) IS NOT NULL AS is_partition
        FROM pg_stat_user_indexes s
        JOIN pg_index i ON i.indexrelid = s.indexrelid
        JOIN pg_class c ON c.oid = s.indexrelid
        WHERE c.relkind = 'i' AND NOT i.indisprimary AND NOT i.indisunique
    )
    SELECT t.relname AS table_name, ri.relname AS index_name,
           count(*) FILTER (WHERE leaf.is_partition) AS partitions,
           sum(leaf.bytes) AS bytes
    FROM leaf
    JOIN pg_class ri ON ri.oid = leaf.root
    JOIN pg_index ii ON ii.indexrelid = ri.oid
    JOIN pg_class t ON t.oid = ii.indrelid
    GROUP BY t.relname, ri.relname
    HAVING sum(leaf.idx_scan) = 0
    ORDER BY sum(leaf.bytes) DESC, t.relname, ri.relname
    """
)


async def _unused_indexes(conn: AsyncConnection) -> list[UnusedIndex]:
    rows = await conn.execute(UNUSED_INDEXES)
    return [UnusedIndex(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


# Every table outside the system schemas; a partitioned table counts what its partitions hold.
TABLE_SIZES = text(
    """
    SELECT c.relname,
           CASE WHEN c.relispartition THEN
               (SELECT p.relname FROM pg_inherits inh JOIN pg_class p ON p.oid = inh.inhparent
                WHERE inh.inhrelid = c.oid)
           END AS partition_of,
           coalesce(pg_get_expr(c.relpartbound, c.oid), '') AS bound,
           (SELECT coalesce(sum(s.n_live_tup), 0) FROM pg_stat_user_tables s
            WHERE s.relid = c.oid OR s.relid IN
                (SELECT t.relid FROM pg_partition_tree(c.oid) t WHERE t.isleaf)) AS live_rows,
           CASE WHEN c.relkind = 'p' THEN
               (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)
                FROM pg_partition_tree(c.oid) t WHERE t.isleaf)
           ELSE pg_total_relation_size(c.oid) END AS bytes
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'
    """
)


async def _table_sizes(conn: AsyncConnection) -> list[TableSize]:
    found = [
        (TableSize(r.relname, r.partition_of, int(r.live_rows), int(r.bytes)), str(r.bound))
        for r in await conn.execute(TABLE_SIZES)
    ]
    # Tables by size; partitions right after their table, in the order of their bounds (the
    # bounds' ISO timestamps, all in UTC here, sort as text in time order).
    tops = sorted((t for t, _ in found if t.partition_of is None), key=lambda t: (-t.bytes, t.name))
    children = [t for t, _ in sorted(found, key=lambda f: (f[1], f[0].name)) if t.partition_of]
    ordered: list[TableSize] = []

    def add(table: TableSize) -> None:
        ordered.append(table)
        for child in children:
            if child.partition_of == table.name:
                add(child)

    for top in tops:
        add(top)
    return ordered


def render(stats: Stats) -> str:
    """The three sections as aligned text tables."""
    sections = [_render_statements(stats), _render_unused(stats), _render_tables(stats)]
    return "\n\n".join(sections)


def _render_statements(stats: Stats) -> str:
    title = f"Slowest statements (pg_stat_statements, top {TOP_STATEMENTS} by mean time)"
    if stats.statements is None:
        return f"{title}\n  {stats.statements_note}"
    if not stats.statements:
        return f"{title}\n  no statements recorded yet"
    table = text_table(
        ["mean ms", "max ms", "total ms", "calls", "query"],
        [
            [f"{s.mean_ms:.2f}", f"{s.max_ms:.2f}", f"{s.total_ms:.0f}", s.calls, _cut(s.query)]
            for s in stats.statements
        ],
        right={0, 1, 2, 3},
    )
    return f"{title}\n{_indent(table)}"


def _render_unused(stats: Stats) -> str:
    title = (
        "Unused indexes (no scan since the statistics were last reset; "
        "primary keys and unique indexes left out)"
    )
    if not stats.unused_indexes:
        return f"{title}\n  none"
    table = text_table(
        ["table", "index", "partitions", "size"],
        [
            [u.table, u.index, u.partitions or "-", human_bytes(u.bytes)]
            for u in stats.unused_indexes
        ],
        right={2, 3},
    )
    return f"{title}\n{_indent(table)}"


def _render_tables(stats: Stats) -> str:
    title = "Table sizes (total: data, indexes and TOAST; partitions under their table)"
    depth: dict[str, int] = {}
    rows: list[list[object]] = []
    for t in stats.tables:
        depth[t.name] = 0 if t.partition_of is None else depth.get(t.partition_of, 0) + 1
        rows.append(
            [
                "  " * depth[t.name] + t.name,
                t.rows_estimate,
                human_bytes(t.bytes),
            ]
        )
    table = text_table(["table", "rows (est.)", "total size"], rows, right={1, 2})
    return f"{title}\n{_indent(table)}"


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Collection[int] = ()
) -> str:
    """Columns padded to their widest cell, two spaces apart; `right` columns right-aligned."""
    cells = [list(headers), *([str(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [
            value.rjust(width) if i in right else value.ljust(width)
            for i, (value, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def human_bytes(count: int) -> str:
    """Sizes as pg_size_pretty writes them (1024-based): 512 bytes, 48 kB, 1.5 MB."""
    if count < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def _cut(query: str, width: int = 80) -> str:
    return query if len(query) <= width else query[: width - 1] + "…"


def _indent(block: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in block.splitlines())
