"""Requests per second, latency, CPU and memory under 64 concurrent clients (wrk on loopback),
each as a ratio to a bare Litestar app served the same way in the same run.

    .venv/bin/python -m bench.throughput

wrk (the C load generator; `apt-get install wrk`) runs 2 threads and 64 connections for 10 s
a row, against a throw-away database:

- the baseline, `bench/hello_app.py` (one JSON route), under the same server with the same
  settings and worker count as the app;
- Calcapp in production mode at log level WARNING: `GET /icons/icon.svg` (a static file from
  memory), `GET /api/v1/health` (liveness), `GET /api/v1/me` signed in (rotating over 64
  sessions), `POST /api/v1/sync/push` of 10 new ops (each request a new device of one of the
  64 premium accounts). Each wrk thread keeps to its own half of the sessions and accounts;
- under `calcapp serve` (uvicorn, uvloop, httptools) with `CALCAPP_WORKERS=1` and `=2`
  (health with 1 worker only), and the hello, static, health and /me rows under granian with
  1 worker (`bench.hello_app.granian_command`), to choose the server.

Each row: req/s, p50 and p99 latency, wrk's count of answers that are not 2xx or 3xx and of
socket errors, and the CPU used during the run by the server (its process and descendants),
the bench database's PostgreSQL (the postmaster and its children) and wrk, per 1,000 requests
and in % of one core. CPU time comes from /proc/<pid>/stat (utime + stime, plus the children
each process has reaped, so processes ending during the run still count) and, for wrk,
getrusage(RUSAGE_CHILDREN). Memory: the RSS (VmRSS) of each worker process idle after start-up,
and its peak during each run (sampled every 100 ms). `HEAD /` must answer 200 on each app
server. The stacks run one after the other, never two servers at once.

Over 400 lines because it runs every throughput row end to end (servers, wrk, CPU and memory
sampling, the 1 vs 2 worker comparison) and writes its own section of docs/benchmarks.md; the
parts share one run's baselines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from backend.db.server import connect
from bench.hello_app import granian_command
from bench.support import (
    bench_database,
    bench_server,
    bench_server_process,
    create_premium_users,
    production_env,
    signed_in,
)
from testkit.support import free_port, stop

CONNECTIONS = 64
THREADS = 2
SECONDS = 10
TIMEOUT_SECONDS = 10  # wrk's default, 2 s, would leave slower answers out of the latency
USERS = 64  # each allowed 300 pushes a minute: far more than a push run sends
TICKS = os.sysconf("SC_CLK_TCK")

PATHS = {
    "hello": "/",
    "static": "/icons/icon.svg",
    "health": "/api/v1/health",
    "me": "/api/v1/me",
    "push": "/api/v1/sync/push",
}

# wrk numbers the threads in `setup` (run in its main Lua state) before each thread's `init`;
# each thread then takes its own share of the sessions file (args: the file, the thread count).
SESSIONS_LUA = r"""
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local sessions, n = {}, 0

function init(args)
  local all = {}
  for line in io.lines(args[1]) do all[#all + 1] = line end
  local share = #all / tonumber(args[2])
  for i = id * share + 1, (id + 1) * share do
    local csrf, cookie = all[i]:match("^(%S+) (.+)$")
    sessions[#sessions + 1] = {csrf = csrf, cookie = cookie}
  end
  math.randomseed(os.time() * 1000 + id)
end

local function next_session()
  n = n + 1
  return sessions[(n % #sessions) + 1]
end
"""

ME_LUA = r"""
function request()
  return wrk.format("GET", nil, {["cookie"] = next_session().cookie})
end
"""

PUSH_LUA = r"""
local function uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function (c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

function request()
  local session = next_session()
  local now = os.date("!%Y-%m-%dT%H:%M:%S.000Z")
  local ops = {}
  for seq = 1, 10 do
    ops[seq] = string.format(
      '{"seq":%d,"op_id":"%s","kind":"create","created_at":"%s",' ..
      '"data":{"expression":"%d+%d","result":"%d","metadata":{"engine":1}}}',
      seq, uuid(), now, n, seq, n + seq)
  end
  local body = '{"device_id":"' .. uuid() .. '","ops":[' .. table.concat(ops, ",") .. ']}'
  return wrk.format("POST", nil, {
    ["content-type"] = "application/json", ["x-csrftoken"] = session.csrf,
    ["cookie"] = session.cookie,
  }, body)
end
"""

SCRIPTS = {"me": SESSIONS_LUA + ME_LUA, "push": SESSIONS_LUA + PUSH_LUA}


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    workers: int


@dataclass(frozen=True)
class Load:
    """What the wrk runs need: the folder of the scripts and sessions, the PostgreSQL server."""

    database_url: str
    folder: Path
    postmaster: int

    @property
    def sessions(self) -> Path:
        return self.folder / "sessions.txt"


# ---------------------------------------------------------------- processes


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the process's name: state, ppid, ..., then utime, stime, cutime
    and cstime (fields 14 to 17 of `man proc`)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def proc_stats() -> dict[int, tuple[int, int]]:
    """Every process: its parent, and the CPU clock ticks of it and of its reaped children."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # it ended meanwhile
                fields = stat_fields(int(entry.name))
                stats[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])))
    return stats


def family(root: int, stats: Mapping[int, tuple[int, int]]) -> list[int]:
    """`root` and its descendants."""
    found = [root]
    for pid in found:  # grows as children are found
        found += [child for child, (parent, _) in stats.items() if parent == pid]
    return found


def tree_cpu_seconds(roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree."""
    stats = proc_stats()
    return {
        name: sum(stats[pid][1] for pid in family(root, stats)) / TICKS
        for name, root in roots.items()
    }


def cpu_seconds(roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree, and by this process's reaped
    children (`wrk`)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {**tree_cpu_seconds(roots), "wrk": children.ru_utime + children.ru_stime}


def workers(root: int) -> list[int]:
    """The processes that serve requests: the server's children (uvicorn's workers, or
    granian's) but multiprocessing's resource tracker, or the server itself if it has none."""
    children = [pid for pid, (parent, _) in proc_stats().items() if parent == root]
    serving = [
        pid
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return sorted(serving) or [root]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def idle_rss(server: Server) -> list[float]:
    """Each worker's RSS once all have started: every one there, none grown 1 MB in a second."""
    previous: list[float] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = [rss_mb(pid) for pid in workers(server.pid)]
        settled = len(current) == len(previous) == server.workers
        if settled and all(
            abs(now - then) < 1 for now, then in zip(current, previous, strict=True)
        ):
            return [round(rss) for rss in current]
        previous = current
        time.sleep(1)
    raise RuntimeError(f"the workers of {server.url} did not settle in 60 s")


@contextmanager
def peak_rss(pids: list[int]) -> Iterator[list[float]]:
    """Each process's highest RSS, sampled every 100 ms while the block runs."""
    peaks = [rss_mb(pid) for pid in pids]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            peaks[:] = [max(peak, rss_mb(pid)) for peak, pid in zip(peaks, pids, strict=True)]

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


async def postmaster_pid(database_url: str) -> int:
    """The PostgreSQL server's main process: the parent of a connection's backend."""
    conn = await connect(database_url)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        fields = await asyncio.to_thread(stat_fields, backend)  # while the backend lives
        return int(fields[1])
    finally:
        await conn.close()


# ---------------------------------------------------------------- servers


def log_text(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")


def wait_until_answers(url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode}: {log_text(log)}"
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in 60 s: {log_text(log)}")


@contextmanager
def serving(
    command: list[str], env: Mapping[str, str], port: int, ready_path: str, count: int
) -> Iterator[Server]:
    """`command`, a server of `count` workers on `port`, ready once `ready_path` answers 200."""
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            wait_until_answers(url + ready_path, process, log)
            yield Server(url, process.pid, count)
        finally:
            stop(process)


@contextmanager
def hello_server(server: str, count: int) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "bench.hello_app", "--server", server]
    command += ["--port", str(port), "--workers", str(count)]
    with serving(command, os.environ, port, "/", count) as hello:
        yield hello


@contextmanager
def granian_app(database_url: str, count: int) -> Iterator[Server]:
    """Calcapp's app factory under granian, with the environment `bench_server_process` gives
    `calcapp serve` and the database URL `calcapp serve` would add (no migrations: the bench
    database has them)."""
    port = free_port()
    with production_env(database_url, count) as env:
        command = granian_command("backend.asgi:app", port, count)
        with serving(command, env, port, PATHS["health"], count) as app:
            yield app


@contextmanager
def app_server(server: str, count: int, database_url: str) -> Iterator[Server]:
    if server == "granian":
        with granian_app(database_url, count) as app:
            yield app
    else:
        with bench_server_process(database_url, count) as (url, pid):
            yield Server(url, pid, count)


def head_status(url: str) -> int:
    status = httpx.head(f"{url}/", timeout=10).status_code
    if status != 200:
        raise RuntimeError(f"HEAD {url}/ answered {status}, not 200")
    return status


# ---------------------------------------------------------------- wrk


def wrk_command(server: Server, kind: str, load: Load) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("bench.throughput needs wrk: apt-get install wrk")
    command = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
    command += ["--timeout", f"{TIMEOUT_SECONDS}s"]
    if kind not in SCRIPTS:
        return [*command, server.url + PATHS[kind]]
    script = load.folder / f"{kind}.lua"
    return [
        *command,
        "-s",
        str(script),
        server.url + PATHS[kind],
        "--",
        str(load.sessions),
        str(THREADS),
    ]


def latency_ms(output: str, percent: int) -> float:
    found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)[ \t]*$", output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no {percent}% latency in wrk's output: {output}")
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]


def wrk_figures(output: str) -> dict[str, float]:
    done = re.search(r"(\d+) requests in ([\d.]+)s", output)
    if done is None:
        raise RuntimeError(f"no request count in wrk's output: {output}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": round(int(done.group(1)) / float(done.group(2)), 1),
        "requests": int(done.group(1)),
        "seconds": float(done.group(2)),
        "p50_ms": round(latency_ms(output, 50), 2),
        "p99_ms": round(latency_ms(output, 99), 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sum(map(int, sockets.groups())) if sockets else 0,
    }


def cpu_figures(cpu: Mapping[str, float], figures: Mapping[str, float]) -> dict[str, Any]:
    per_1k = 1000 / max(figures["requests"], 1)
    return {
        "cpu_s_per_1k_requests": {name: round(s * per_1k, 4) for name, s in cpu.items()},
        "cpu_core_percent": {
            name: round(100 * s / figures["seconds"], 1) for name, s in cpu.items()
        },
    }


def run(server: Server, kind: str, load: Load) -> dict[str, Any]:
    """One wrk run of `kind` against `server`, with the CPU and the workers' peak RSS."""
    pids = workers(server.pid)
    roots = {"server": server.pid, "postgres": load.postmaster}
    before = cpu_seconds(roots)
    with peak_rss(pids) as peaks:
        done = subprocess.run(  # noqa: S603 — a fixed command line
            wrk_command(server, kind, load), capture_output=True, text=True, check=True
        )
    output = done.stdout
    cpu = {name: seconds - before[name] for name, seconds in cpu_seconds(roots).items()}
    if workers(server.pid) != pids:
        raise RuntimeError(f"the workers of {server.url} changed during the {kind} run")
    figures = wrk_figures(output)
    if figures["requests"] == 0:
        raise RuntimeError(f"wrk completed no {kind} request: {output}{done.stderr}")
    return {**figures, **cpu_figures(cpu, figures), "peak_rss_mb": [round(p) for p in peaks]}


# ---------------------------------------------------------------- the benchmark


async def sessions(base_url: str, emails: list[str]) -> list[str]:
    """'csrf cookie-header' lines, one per signed-in account, for the wrk scripts."""
    lines = []
    for email in emails:
        async with signed_in(base_url, email) as client:
            lines.append(f"{client.headers['x-csrftoken']} {client.headers['cookie']}")
    return lines


def prepare(database_url: str, folder: Path) -> Load:
    """The premium accounts, signed in once (the sessions outlive the server), and the scripts."""
    users = asyncio.run(create_premium_users(database_url, USERS))
    with bench_server(database_url) as base_url:
        lines = asyncio.run(sessions(base_url, [email for _, email in users]))
    load = Load(database_url, folder, asyncio.run(postmaster_pid(database_url)))
    load.sessions.write_text("\n".join(lines) + "\n")
    for kind, script in SCRIPTS.items():
        (folder / f"{kind}.lua").write_text(script)
    return load


def measure_stack(server: str, count: int, kinds: tuple[str, ...], load: Load) -> dict[str, Any]:
    """The hello baseline, then Calcapp's `kinds` of request, under `server` with `count`
    workers; each with its ratio to the baseline."""
    with hello_server(server, count) as hello:
        stack: dict[str, Any] = {"hello_idle_rss_mb": idle_rss(hello)}
        stack["hello"] = run(hello, "hello", load)
    with app_server(server, count, load.database_url) as app:
        stack["idle_rss_mb"] = idle_rss(app)
        stack["head_status"] = head_status(app.url)
        stack.update({kind: run(app, kind, load) for kind in kinds})
    for kind in ("hello", *kinds):
        stack[kind]["ratio"] = round(stack[kind]["rps"] / stack["hello"]["rps"], 3)
    return stack


def measure() -> dict[str, Any]:
    with bench_database() as database_url, tempfile.TemporaryDirectory() as folder:
        load = prepare(database_url, Path(folder))
        stacks = {
            "uvicorn_1": measure_stack("uvicorn", 1, ("static", "health", "me", "push"), load),
            "granian_1": measure_stack("granian", 1, ("static", "health", "me"), load),
            "uvicorn_2": measure_stack("uvicorn", 2, ("static", "me", "push"), load),
        }
    granian, uvicorn = stacks["granian_1"], stacks["uvicorn_1"]
    return {
        **stacks,
        "granian_vs_uvicorn": {
            kind: round(granian[kind]["rps"] / uvicorn[kind]["rps"], 3)
            for kind in ("hello", "static", "health", "me")
        },
        "connections": CONNECTIONS,
        "threads": THREADS,
        "seconds": SECONDS,
        "users": USERS,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
