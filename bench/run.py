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
    batch = ingest["batch_ms"]
    return [
        (
            "Sync ingest over HTTP",
            f"bench/sync_ingest.py: {ingest['devices']} devices push 500-op batches "
            f"({ingest['ops']:,} ops) to POST /api/v1/sync/push",
            f"{ingest['endpoint_ops_per_second']:,.0f} ops/s; batch p50 {batch['p50']:.0f} ms, "
            f"p99 {batch['p99']:.0f} ms",
            "≥ 0.5 x raw",
            f"{ingest['ratio']:.2f} x raw",
        ),
        (
            "Raw insert baseline",
            "same rows, same table, 8 asyncpg connections, INSERT ... SELECT FROM unnest "
            "ON CONFLICT DO NOTHING",
            f"{ingest['raw_ops_per_second']:,.0f} rows/s",
            "—",
            "1.00",
        ),
    ]


def throughput_rows(load: dict[str, Any]) -> list[tuple[str, ...]]:
    static, health, push = load["static"], load["health"], load["push"]
    how = f"bench/throughput.py: wrk, {load['connections']} connections, {load['seconds']} s"

    def errors(result: dict[str, float]) -> str:
        return f", {result['non_2xx']:.0f} non-2xx" if result["non_2xx"] else ""

    return [
        (
            "GET /api/v1/health, requests/s",
            f"{how} (one database round trip each)",
            f"{health['rps']:,.0f} req/s, p99 {health['p99_ms']:.0f} ms{errors(health)}",
            "≥ 400 req/s",
            f"{health['rps'] / static['rps']:.2f} x the static baseline",
        ),
        (
            "POST /api/v1/sync/push of 10 new ops, requests/s",
            f"{how}; each request a new device of one of {throughput.USERS} premium accounts",
            f"{push['rps']:,.0f} req/s ({push['rps'] * 10:,.0f} ops/s), "
            f"p99 {push['p99_ms']:.0f} ms{errors(push)}",
            "≥ 100 req/s",
            f"{push['rps'] / static['rps']:.2f} x the static baseline",
        ),
        (
            "Baseline: a static file from memory, requests/s",
            f"{how}, GET /icons/icon.svg",
            f"{static['rps']:,.0f} req/s",
            "—",
            "1.00",
        ),
        (
            "Server memory (RSS)",
            "VmRSS of the `calcapp serve` process: after start-up / peak under the push load",
            f"{load['idle_rss_mb']:.0f} MB / {load['peak_rss_mb']:.0f} MB",
            "< 150 MB / < 300 MB",
            f"{load['peak_rss_mb'] / load['idle_rss_mb']:.2f} x idle",
        ),
    ]


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


def scale_rows(scale: dict[str, Any]) -> list[tuple[str, ...]]:
    targets = {
        "newest 100": 10,
        "search, 3 characters": 50,
        "search, 2 characters": 50,
        "pull 500": 25,
    }
    rows: list[tuple[str, ...]] = []
    for kind, target in targets.items():
        server, http = scale["server_ms"][kind], scale["http_ms"][kind]
        rows.append(
            (
                f"{kind.capitalize()} at {scale['rows'] / 1e6:.0f} M rows",
                "bench/history_scale.py: server-side (engine on a connection) / end to end "
                f"(HTTP); {history_scale.SAMPLES} samples over 20 users",
                f"p50 {server['p50']:.1f} / {http['p50']:.1f} ms, "
                f"p95 {server['p95']:.1f} / {http['p95']:.1f} ms",
                f"p50 < {target} ms",
                f"{server['p50'] / target:.2f} / {http['p50'] / target:.2f} of the target",
            )
        )
    return rows


def main() -> None:
    rows = [
        *pwa_rows(pwa_weight.measure(runs=15)),
        *login_rows(login_load.measure()),
        *ingest_rows(sync_ingest.measure()),
        *throughput_rows(throughput.measure()),
        *export_rows(export_memory.measure()),
    ]
    scale = history_scale.measure()
    rows += scale_rows(scale)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); do not edit by hand. Measured "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, Chromium headless, the "
        "embedded PostgreSQL 18 with its default settings, `calcapp serve` (one uvicorn worker) "
        "in production mode. The query plans at scale are in [query-plans.md](query-plans.md) "
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
