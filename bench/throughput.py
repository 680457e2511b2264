"""Requests per second with 64 concurrent clients (wrk on loopback), and the server's memory.

    .venv/bin/python -m bench.throughput

`calcapp serve` (one uvicorn worker, production mode) on a throw-away database. wrk (the C
load generator; `apt-get install wrk`) runs 2 threads and 64 connections for 10 s each:

- `GET /api/v1/health` (a database round trip per request);
- `GET /icons/icon.svg`, the baseline: the cheapest answer the server has (from memory);
- `POST /api/v1/sync/push` of 10 new ops, each request a new device of one of 64 premium
  accounts (so requests do not queue on one user's lock).

RSS of the server process (VmRSS from /proc) idle after start-up, and its peak while the
push load runs, sampled every 100 ms.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.support import bench_database, bench_server_process, create_premium_users, signed_in

CONNECTIONS = 64
THREADS = 2
SECONDS = 10
USERS = 64

PUSH_SCRIPT = """
local sessions = {}
for line in io.lines("%(sessions)s") do sessions[#sessions + 1] = line end
local n = 0
local function uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function (c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%%x", v)
  end))
end
function init(args) math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16)) end
function request()
  n = n + 1
  local session = sessions[(n %% #sessions) + 1]
  local csrf, cookie = session:match("^(%%S+) (.+)$")
  local now = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S.000Z")
  local ops = {}
  for seq = 1, 10 do
    ops[seq] = string.format(
      '{"seq":%%d,"op_id":"%%s","kind":"create","created_at":"%%s",' ..
      '"data":{"expression":"%%d+%%d","result":"%%d","metadata":{"engine":1}}}',
      seq, uuid(), now, n, seq, n + seq)
  end
  local body = '{"device_id":"' .. uuid() .. '","ops":[' .. table.concat(ops, ",") .. ']}'
  return wrk.format("POST", "/api/v1/sync/push", {
    ["content-type"] = "application/json", ["x-csrftoken"] = csrf, ["cookie"] = cookie,
  }, body)
end
"""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench.throughput needs wrk: apt-get install wrk")
    return path


def run_wrk(url: str, script: Path | None = None) -> dict[str, float]:
    command = [wrk_path(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(  # noqa: S603 — a fixed command line
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rps,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@contextmanager
def peak_rss(pid: int) -> Iterator[list[float]]:
    """Samples the process's RSS every 100 ms while the block runs; yields the samples."""
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            samples.append(rss_mb(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


async def sessions(base_url: str, emails: list[str]) -> list[str]:
    """'csrf cookie-header' lines, one per signed-in account, for the wrk script."""
    lines = []
    for email in emails:
        async with signed_in(base_url, email) as client:
            lines.append(f"{client.headers['x-csrftoken']} {client.headers['cookie']}")
    return lines


def measure() -> dict[str, Any]:
    with bench_database() as database_url, tempfile.TemporaryDirectory() as folder:
        users = asyncio.run(create_premium_users(database_url, USERS))
        with bench_server_process(database_url) as (base_url, pid):
            idle_rss = rss_mb(pid)
            lines = asyncio.run(sessions(base_url, [email for _, email in users]))
            session_file = Path(folder) / "sessions.txt"
            session_file.write_text("\n".join(lines) + "\n")
            script = Path(folder) / "push.lua"
            script.write_text(PUSH_SCRIPT % {"sessions": session_file})
            static = run_wrk(f"{base_url}/icons/icon.svg")
            health = run_wrk(f"{base_url}/api/v1/health")
            with peak_rss(pid) as samples:
                push = run_wrk(base_url, script)
            after_rss = rss_mb(pid)
    return {
        "static": static,
        "health": health,
        "push": push,
        "idle_rss_mb": idle_rss,
        "peak_rss_mb": max(samples),
        "after_rss_mb": after_rss,
        "connections": CONNECTIONS,
        "seconds": SECONDS,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
