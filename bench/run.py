"""`make bench`: run every benchmark and write docs/benchmarks.md (figures as measured).

Each figure is reported with a baseline measured in the same run, because these machines
are shared and noisy: compare ratios between runs, not raw milliseconds. Every benchmark
works on a throw-away database that is deleted afterwards.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    export_memory,
    history_scale,
    live,
    login_load,
    pwa_weight,
    sync_ingest,
    throughput,
)

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
KB = 1024


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    python = platform.python_version()
    return f"{platform.machine()}, {cpus} cores, Python {python}, {platform.platform()}"


def pwa_rows(pwa: dict[str, Any]) -> list[tuple[str, ...]]:
    base = pwa["baseline_ready_ms"]
    return [
        (
            "Calculator page weight (cold first load, compressed as sent)",
            "bench/pwa_weight.py: the page and what it loads before `calcapp-ready`, from the "
            "browser's resource timing",
            f"{pwa['page_bytes_gzip'] / KB:.1f} KB",
            "< 60 KB",
            f"{pwa['page_bytes_gzip'] / (60 * KB):.2f} of the target",
        ),
        (
            "Offline precache weight (every shell file, gzip as served)",
            "every file the service worker precaches (calculator, account and billing pages), "
            "fetched with Accept-Encoding: gzip; downloaded in the background after first load",
            f"{pwa['shell_bytes_gzip'] / KB:.1f} KB ({pwa['shell_bytes_plain'] / KB:.1f} KB plain)",
            "< 100 KB",
            f"{pwa['shell_bytes_gzip'] / (100 * KB):.2f} of the target",
        ),
        (
            "First calculation possible, online cold load",
            f"navigation start to the `calcapp-ready` mark, median of {pwa['runs']} contexts",
            f"{pwa['online_ready_ms']:.0f} ms",
            "—",
            f"{pwa['online_ready_ms'] / base:.2f} x the baseline page",
        ),
        (
            "First calculation possible, offline (service worker)",
            f"same, after one visit, context offline, median of {pwa['runs']}",
            f"{pwa['offline_ready_ms']:.0f} ms",
            "< 300 ms",
            f"{pwa['offline_ready_ms'] / base:.2f} x the baseline page",
        ),
        (
            "Baseline: minimal page with one module script",
            "same server, same run, online",
            f"{base:.0f} ms",
            "—",
            "1.00",
        ),
    ]


def function_rows(functions: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row for the scientific functions (each one's p99), with the standard baseline."""
    base = functions.pop("baseline")
    slowest = max(functions, key=lambda name: functions[name]["p99"])
    each = ", ".join(f"{name} {t['p99']:.2f}" for name, t in functions.items())
    calls = sum(t["calls"] for t in functions.values())
    return [
        (
            "Scientific functions at 34 digits, p99 per call in Chromium",
            "bench/calc_speed.py: `evaluate` on 3–6 arguments per function (exact cases and "
            f"huge ones included), both angle units, {calls:,} timed calls; p99 in ms: {each}",
            f"slowest: {slowest} {functions[slowest]['p99']:.2f} ms",
            "< 5 ms each",
            f"{functions[slowest]['p99'] / max(base['p99'], 0.001):.0f} x the p99 of "
            f"`123456789÷7+0.1×3` ({base['p99']:.3f} ms)",
        ),
    ]


def login_rows(logins: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        (
            f"Health p99 while {login_load.CLIENTS} clients sign in (bcrypt cost 12)",
            f"bench/login_load.py: GET /api/v1/health back to back for "
            f"{login_load.MEASURE_SECONDS:.0f} s; {logins['logins']} logins "
            f"({logins['logins_per_second']:.1f}/s) meanwhile",
            f"{logins['loaded_p99_ms']:.1f} ms (p50 {logins['loaded_p50_ms']:.1f} ms)",
            "p99 < 50 ms",
            f"{logins['loaded_p99_ms'] / logins['idle_p99_ms']:.2f} x idle p99 "
            f"({logins['idle_p99_ms']:.1f} ms)",
        )
    ]


def ingest_rows(ingest: dict[str, Any]) -> list[tuple[str, ...]]:
    how = (
        f"bench/sync_ingest.py: {ingest['devices']} devices at once push {ingest['batch']}-op "
        f"batches ({ingest['ops']:,} ops) to POST /api/v1/sync/push, `calcapp serve` with one "
        "uvicorn worker, after a one-batch warm-up"
    )
    raw = (
        f"the same rows, same table, {ingest['raw_connections']} asyncpg connections, "
        "INSERT ... SELECT FROM unnest ON CONFLICT DO NOTHING, 500 rows a statement"
    )
    passes = {
        "new": ("Sync ingest of new ops over HTTP", "every op `applied`", "", "new rows"),
        "duplicate": (
            "Sync ingest, all duplicates (a lost answer, pushed again)",
            "the devices push their batches again: every op `duplicate`",
            ", run again with the same rows: all conflicts",
            "all conflicts",
        ),
    }
    rows: list[tuple[str, ...]] = []
    for name, (what, detail, raw_detail, raw_what) in passes.items():
        result = ingest[name]
        batch = result["batch_ms"]
        cpu, raw_cpu = result["cpu_us_per_op"], result["raw_cpu_us_per_op"]
        rows += [
            (
                what,
                f"{how}; {detail}",
                f"{result['endpoint_ops_per_second']:,.0f} ops/s; batch p50 {batch['p50']:.0f} "
                f"ms, p99 {batch['p99']:.0f} ms; CPU per op: server {cpu['server']} µs, "
                f"PostgreSQL {cpu['postgres']} µs, client (httpx, JSON) {cpu['client']} µs",
                "≥ 0.8 x raw",
                f"{result['ratio']:.2f} x raw",
            ),
            (
                f"Raw insert baseline, {raw_what}",
                raw + raw_detail,
                f"{result['raw_ops_per_second']:,.0f} rows/s; CPU per row: PostgreSQL "
                f"{raw_cpu['postgres']} µs, client (asyncpg) {raw_cpu['client']} µs",
                "—",
                "1.00",
            ),
        ]
    return rows


# The server stacks of bench/throughput.py: how each row names it, and what served the app.
STACKS = {
    "uvicorn_1": ("uvicorn, 1 worker", "`calcapp serve` (uvicorn), CALCAPP_WORKERS=1"),
    "granian_1": (
        "granian, 1 worker",
        "granian --interface asgi --factory backend.asgi:app --workers 1 --loop uvloop",
    ),
    "uvicorn_2": ("uvicorn, 2 workers", "`calcapp serve` (uvicorn), CALCAPP_WORKERS=2"),
}
# Calcapp's rows: what ran, how, and the target as a ratio to the hello app.
REQUESTS = {
    "static": ("GET /icons/icon.svg (a static file)", "", "≥ 0.7 x hello"),
    "health": ("GET /api/v1/health (liveness)", "", "≥ 0.5 x hello"),
    "me": (
        "GET /api/v1/me, signed in",
        "; rotating over {users} sessions, each wrk thread its own half",
        "≥ 0.4 x hello",
    ),
    "push": (
        "POST /api/v1/sync/push of 10 new ops",
        "; each request a new device of one of {users} premium accounts, each wrk thread its "
        "own half",
        "p99 < 100 ms",
    ),
}


def wrk_result(result: dict[str, Any]) -> str:
    cpu, core = result["cpu_s_per_1k_requests"], result["cpu_core_percent"]
    errors = f", {result['non_2xx']:,} non-2xx/3xx" if result["non_2xx"] else ""
    errors += f", {result['socket_errors']:,} socket errors" if result["socket_errors"] else ""
    return (
        f"{result['rps']:,.0f} req/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.0f} "
        f"ms{errors}; CPU per 1,000 requests: server {cpu['server']:.3f} s, PostgreSQL "
        f"{cpu['postgres']:.3f} s, wrk {cpu['wrk']:.3f} s ({core['server']:.0f} %, "
        f"{core['postgres']:.0f} %, {core['wrk']:.0f} % of a core)"
    )


def megabytes(values: list[float]) -> str:
    return ", ".join(f"{value:.0f}" for value in values) + " MB"


def memory_row(stack: dict[str, Any], label: str) -> tuple[str, ...]:
    idle, hello = stack["idle_rss_mb"], stack["hello_idle_rss_mb"]
    load, name = ("push", "push") if "push" in stack else ("me", "/me")
    peak = stack[load]["peak_rss_mb"]
    return (
        f"Memory per worker (RSS), {label}",
        f"VmRSS of each worker process: idle after start-up / peak under the {name} load "
        "(sampled every 100 ms)",
        f"{megabytes(idle)} / {megabytes(peak)}",
        "< 150 MB / < 300 MB",
        f"{max(idle) / max(hello):.2f} / {max(peak) / max(hello):.2f} x the hello app's "
        f"worker idle ({megabytes(hello)})",
    )


def stack_rows(load: dict[str, Any], key: str, wrk: str) -> list[tuple[str, ...]]:
    """The hello baseline, Calcapp's rows and the memory of one server stack."""
    label, app = STACKS[key]
    stack = load[key]
    versus = load["granian_vs_uvicorn"] if key.startswith("granian") else {}

    def ratio(kind: str) -> str:
        text = "1.00" if kind == "hello" else f"{stack[kind]['ratio']:.2f} x hello"
        return text + (f"; {versus[kind]:.2f} x uvicorn" if versus else "")

    rows = [
        (
            f"Baseline: hello app, {label}",
            f"{wrk}; bench/hello_app.py (GET /, one JSON route) on the same server, settings and "
            "worker count",
            wrk_result(stack["hello"]),
            "—",
            ratio("hello"),
        )
    ]
    for kind, (what, detail, target) in REQUESTS.items():
        if kind in stack:
            how = f"{wrk}; {app}, production mode{detail.format(users=load['users'])}"
            rows.append((f"{what}, {label}", how, wrk_result(stack[kind]), target, ratio(kind)))
    return [*rows, memory_row(stack, label)]


def throughput_rows(load: dict[str, Any]) -> list[tuple[str, ...]]:
    wrk = (
        f"bench/throughput.py: wrk, {load['threads']} threads, {load['connections']} "
        f"connections, {load['seconds']} s"
    )
    rows = [row for key in STACKS for row in stack_rows(load, key, wrk)]
    statuses = ", ".join(f"{load[key]['head_status']} ({STACKS[key][0]})" for key in STACKS)
    return [*rows, ("HEAD / answers 200", "httpx, once on each app server", statuses, "200", "—")]


def export_rows(export: dict[str, Any]) -> list[tuple[str, ...]]:
    small, large = export["sizes"]
    (cli_small, _), (cli_large, cli_seconds) = export["cli"]
    (http_small, _), (http_large, http_bytes) = export["http"]
    return [
        (
            f"GDPR export of {large:,} calculations, `calcapp users export`",
            f"bench/export_memory.py: peak RSS of the command (wait4); {cli_seconds:.0f} s",
            f"{cli_large:.0f} MB",
            "constant memory",
            f"{cli_large / cli_small:.2f} x the export of {small:,}",
        ),
        (
            f"GDPR export of {large:,} calculations, GET /api/v1/me/export",
            "the server's RSS growth while the download runs "
            f"({http_bytes / 1e6:.0f} MB of JSON streamed)",
            f"+{http_large:.1f} MB",
            "constant memory",
            f"+{http_small:.1f} MB for the export of {small:,}",
        ),
    ]


def live_rows(result: dict[str, Any]) -> list[tuple[str, ...]]:
    poke, pull = result["latency_ms"]["poke"], result["latency_ms"]["pull"]
    before, after = (run["rps"] for run in result["push_without"])
    loaded = result["push_with"]
    streams = f"{result['streams']:,}"
    return [
        (
            "Live sync: a calculation on one device, on another open device",
            f"bench/live.py: {result['calculations']} calculations one after the other; device A "
            "pushes to one `calcapp serve` process, device B holds the event stream of a second "
            "and pulls when poked; from A's push sent to B's poke, and to B's pull answered",
            f"poke p50 {poke['p50']:.0f} ms, p99 {poke['p99']:.0f} ms; pulled p50 "
            f"{pull['p50']:.0f} ms, p99 {pull['p99']:.0f} ms",
            "p50 < 1 s, p99 < 3 s",
            f"{pull['p50'] / 1000:.3f} / {pull['p99'] / 3000:.3f} of the target",
        ),
        (
            f"{streams} idle live sync streams on one worker",
            f"bench/live.py: {streams} streams (5 each of {result['streams'] // 5} premium "
            f"accounts); the worker's RSS before and with them, its CPU over "
            f"{live.IDLE_SECONDS} s of idling (a comment every 25 s each, sessions checked "
            "every 2 s)",
            f"{result['idle_rss_mb']:.0f} MB → {result['streams_rss_mb']:.0f} MB "
            f"({result['kb_per_stream']:.0f} KB a stream); CPU {result['idle_cpu_core_percent']}"
            " % of a core",
            "—",
            f"{result['streams_rss_mb'] / result['idle_rss_mb']:.2f} x the worker's idle RSS",
        ),
        (
            f"POST /api/v1/sync/push of 10 new ops with {streams} open streams",
            "bench/live.py: wrk as in bench/throughput.py (64 connections, 10 s), 64 of the "
            "streams' accounts pushing (their streams poked: "
            f"{result['pokes_during_push_run']:,} pokes); baseline: the same run with no "
            "stream open, before and after (their mean)",
            f"{loaded['rps']:,.0f} req/s, p99 {loaded['p99_ms']:.0f} ms (without streams: "
            f"{before:,.0f} and {after:,.0f} req/s)",
            "≥ 0.9 x without streams",
            f"{result['push_ratio']:.2f} x without streams",
        ),
    ]


# The reads' targets: (statistic, server side, over HTTP), in ms; None: no target.
SCALE_TARGETS: dict[str, tuple[str, float, float | None]] = {
    "newest 100": ("p50", 1, 3),
    "search, 2 characters": ("p99", 20, None),
    "search, 3 characters": ("p99", 20, None),
    "search, 5 characters": ("p99", 20, None),
    "pull 500": ("p50", 5, 10),
}


def scale_rows(scale: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for kind, (stat, server_target, http_target) in SCALE_TARGETS.items():
        server = {name: scale["server_ms"][name][kind] for name in history_scale.PASSES}
        http = {name: scale["http_ms"][name][kind] for name in history_scale.PASSES}

        def figures(sides: dict[str, dict[str, float]]) -> str:
            return "; ".join(
                f"{name} p50 {sides[name]['p50']:.1f}, p99 {sides[name]['p99']:.1f} ms"
                for name in history_scale.PASSES
            )

        target = f"server {stat} < {server_target} ms" + (
            f", HTTP {stat} < {http_target} ms" if http_target else ""
        )
        ratio = f"{server['warm'][stat] / server_target:.2f}" + (
            f" / {http['warm'][stat] / http_target:.2f}" if http_target else ""
        )
        rows.append(
            (
                f"{kind.capitalize()} at {scale['rows'] / 1e6:.0f} M rows",
                "bench/history_scale.py: server side (the endpoint's function, the app's "
                f"engine settings) and over HTTP; {scale['samples']} samples over "
                f"{history_scale.SAMPLED_USERS} users, a cold pass (new connections, first "
                "plans) then a warm one",
                f"server: {figures(server)}. HTTP: {figures(http)}",
                target,
                f"{ratio} of the target (warm)",
            )
        )
    return rows


def main() -> None:
    rows = [
        *pwa_rows(pwa := pwa_weight.measure(runs=15)),
        *function_rows(pwa["functions_ms"]),
        *login_rows(login_load.measure()),
        *ingest_rows(sync_ingest.measure()),
        *throughput_rows(throughput.measure()),
        *export_rows(export_memory.measure()),
        *live_rows(live.measure()),
    ]
    scale = history_scale.measure()
    rows += scale_rows(scale)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); do not edit by hand. Measured "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, Chromium headless, the "
        "embedded PostgreSQL 18 with its default settings, `calcapp serve` in production mode "
        "(one uvicorn worker where a row does not say otherwise). The query plans at scale are "
        "in [query-plans.md](query-plans.md) "
        f"(filling the {scale['rows']:,} rows took {scale['fill_seconds']:.0f} s).",
        "",
        "| What | How | Result | Target | Ratio |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
    ]
    REPORT.write_text("\n".join(lines))
    print(REPORT.read_text())


if __name__ == "__main__":
    main()
