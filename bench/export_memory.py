"""The GDPR export's memory at 1 million rows against 10,000: it streams, so it should not grow.

Two ways out, each at both sizes: `calcapp users export --out FILE` (the peak RSS of the
process, from wait4) and `GET /api/v1/me/export` (the server's RSS, sampled while the
download runs, minus its RSS before).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from backend.db.server import connect
from bench.support import bench_database, bench_server_process, create_premium_users, signed_in
from testkit.support import CALCAPP, calcapp_env

SIZES = (10_000, 1_000_000)

FILL = """
INSERT INTO calculation_history (user_id, device_id, seq, op_id, created_at, expression,
                                 result, metadata, version)
SELECT $1, $2, g, gen_random_uuid(), now() - (g * interval '1 second'),
       (g % 997) || '×' || (g % 101), ((g % 997) * (g % 101))::text,
       '{"value": "1", "engine": 1}'::jsonb, 1
FROM generate_series(1, $3) AS g
"""


async def fill(database_url: str, users: list[tuple[Any, str]]) -> None:
    conn = await connect(database_url)
    try:
        # The rows are at most 12 days old: their months have partitions (this one, maybe the last).
        await conn.execute(
            "SELECT ensure_calculation_history_partition(now() - interval '13 days')"
        )
        for (user_id, _), rows in zip(users, SIZES, strict=True):
            await conn.execute(FILL, user_id, user_id, rows)
        await conn.execute("VACUUM ANALYZE calculation_history")
    finally:
        await conn.close()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cli_peak_mb(database_url: str, email: str, folder: Path) -> tuple[float, float]:
    """(peak RSS MB, seconds) of `calcapp users export`."""
    out = folder / f"{email}.json"
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own command
        [*CALCAPP, "users", "export", email, "--out", str(out)],
        env=calcapp_env(DATABASE_URL=database_url),
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, f"export failed ({process.returncode})"
    seconds = time.perf_counter() - started
    out.unlink()
    return usage.ru_maxrss / 1024, seconds


async def http_growth_mb(base_url: str, pid: int, email: str) -> tuple[float, int]:
    """(the server's RSS growth in MB while the export downloads, bytes downloaded)."""
    before = rss_kb(pid)
    peak = before
    received = 0
    async with (
        signed_in(base_url, email) as client,
        client.stream("GET", "/api/v1/me/export") as response,
    ):
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            peak = max(peak, rss_kb(pid))
    return (peak - before) / 1024, received


def measure() -> dict[str, Any]:
    with bench_database() as database_url, tempfile.TemporaryDirectory() as folder:
        users = asyncio.run(create_premium_users(database_url, len(SIZES)))
        asyncio.run(fill(database_url, users))
        results: dict[str, Any] = {"sizes": SIZES}
        results["cli"] = [cli_peak_mb(database_url, email, Path(folder)) for _, email in users]
        with bench_server_process(database_url) as (base_url, pid):
            results["http"] = [
                asyncio.run(http_growth_mb(base_url, pid, email)) for _, email in users
            ]
    return results


if __name__ == "__main__":
    print(measure())
