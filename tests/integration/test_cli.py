"""The `calcapp` command as an operator meets it: one clear line per problem, never a traceback."""

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from backend.accounts.passwords import PasswordHasher
from backend.db.server import connect
from testkit.support import calcapp_env, free_port, run_async, run_calcapp, running_server

pytestmark = pytest.mark.db


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2
    assert result.stderr.startswith(f"calcapp: error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_bad_setting_is_one_line() -> None:
    result = run_calcapp("serve", env=calcapp_env(PORT="http"))
    assert_one_line_error(result, "PORT must be an integer from 1 to 65535, got 'http'")


def test_invalid_database_url_is_one_line() -> None:
    result = run_calcapp("db", "upgrade", env=calcapp_env(DATABASE_URL="mysql://root@localhost/db"))
    assert_one_line_error(result, "DATABASE_URL must be a PostgreSQL URL")


def test_unreachable_database_is_one_line() -> None:
    url = f"postgresql://calcapp:secret@127.0.0.1:{free_port()}/calcapp"
    result = run_calcapp("db", "upgrade", env=calcapp_env(DATABASE_URL=url))
    assert_one_line_error(
        result, "cannot connect to the database at postgresql+asyncpg://calcapp:***@127.0.0.1:"
    )
    assert "secret" not in result.stderr


def test_production_without_a_secret_refuses_to_start() -> None:
    result = run_calcapp("serve", env=calcapp_env(CALCAPP_ENV="production"))
    assert_one_line_error(result, "CALCAPP_SECRET_KEY must be set")


def test_port_in_use_is_one_line(database_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_calcapp("serve", env=calcapp_env(DATABASE_URL=database_url, PORT=str(port)))
    assert_one_line_error(result, f"port {port} on 127.0.0.1 is already in use")


def test_db_commands_upgrade_seed_idempotently_and_downgrade(
    make_database: Callable[[], str],
) -> None:
    env = calcapp_env(DATABASE_URL=make_database())
    assert run_calcapp("db", "upgrade", env=env).returncode == 0
    first = run_calcapp("db", "seed", env=env)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = run_calcapp("db", "seed", env=env)
    assert "already present" in second.stdout and "0 calculation(s) added" in second.stdout

    async def snapshot() -> tuple[object, ...]:
        conn = await connect(env["DATABASE_URL"])
        try:
            user = await conn.fetchrow("SELECT * FROM users")
            subscription = await conn.fetchrow("SELECT * FROM subscriptions")
            calculations = await conn.fetch(
                "SELECT expression, result FROM calculation_history ORDER BY expression"
            )
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM subscriptions)"
            )
            return user, subscription, [tuple(c) for c in calculations], tuple(counts)
        finally:
            await conn.close()

    user, subscription, calculations, counts = run_async(snapshot())
    assert counts == (1, 1)
    assert user["email"] == "test@example.com" and user["email_verified"] is True  # type: ignore[index]
    password_hash = user["password_hash"]  # type: ignore[index]
    assert password_hash.startswith("$sha256$$2b$12$")
    assert run_async(PasswordHasher(4, threads=1).verify("password123", password_hash))
    assert subscription["status"] == "active"  # type: ignore[index]
    assert str(subscription["price_per_month"]) == "5.00"  # type: ignore[index]
    assert calculations == [("15 * 2", "30"), ("7 + 3", "10")]

    assert run_calcapp("db", "downgrade", "base", env=env).returncode == 0
    assert not run_async(_table_exists(env["DATABASE_URL"]))


async def _table_exists(url: str) -> bool:
    conn = await connect(url)
    try:
        return bool(await conn.fetchval("SELECT to_regclass('users') IS NOT NULL"))
    finally:
        await conn.close()


def test_seed_refuses_production() -> None:
    env = calcapp_env(
        CALCAPP_ENV="production",
        CALCAPP_SECRET_KEY="s" * 48,
        CALCAPP_PUBLIC_URL="https://calc.example.com",
        SMTP_HOST="smtp.example.com",
        CALCAPP_METRICS_TOKEN="m" * 32,
    )
    assert_one_line_error(run_calcapp("db", "seed", env=env), "refusing to seed")


def test_serve_with_embedded_postgres_keeps_data_across_restarts(tmp_path: Path) -> None:
    """What `make run` does: embedded PostgreSQL under the data folder, migrations, then serve."""
    env = calcapp_env(CALCAPP_DATA_DIR=str(tmp_path))
    with running_server(env, "--migrate") as (base_url, process):
        assert httpx.get(f"{base_url}/api/v1/health").json()["database"]["status"] == "ok"
        seeded = run_calcapp("db", "seed", env=env)
        assert "created" in seeded.stdout, seeded.stderr
    assert process.returncode == 0  # Ctrl+C is a clean stop
    assert (tmp_path / "pg" / "PG_VERSION").exists()

    with running_server(env) as (base_url, process):
        assert "already present" in run_calcapp("db", "seed", env=env).stdout
    assert process.returncode == 0
