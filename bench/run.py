"""`make bench`: run every benchmark and write docs/benchmarks.md (figures as measured).

Each figure is reported with a baseline measured in the same run, because these machines
are shared and noisy: compare ratios between runs, not raw milliseconds.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench import login_load, pwa_weight

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    python = platform.python_version()
    return f"{platform.machine()}, {cpus} cores, Python {python}, {platform.platform()}"


def main() -> None:
    pwa = pwa_weight.measure(runs=15)
    logins = login_load.measure()
    kb = 1024
    rows = [
        (
            "PWA shell weight (cold first load, gzip as served)",
            "bench/pwa_weight.py: every precached file fetched with Accept-Encoding: gzip",
            f"{pwa['shell_bytes_gzip'] / kb:.1f} KB "
            f"({pwa['shell_bytes_plain'] / kb:.1f} KB uncompressed)",
            "< 60 KB",
            f"{pwa['shell_bytes_gzip'] / (60 * kb):.2f} of the target",
        ),
        (
            "First calculation possible, online cold load",
            f"navigation start to the `calcapp-ready` mark, median of {pwa['runs']} new contexts",
            f"{pwa['online_ready_ms']:.0f} ms",
            "—",
            f"{pwa['online_ready_ms'] / pwa['baseline_ready_ms']:.2f} x the baseline page",
        ),
        (
            "First calculation possible, offline (service worker)",
            f"same, after one visit, context offline, median of {pwa['runs']}",
            f"{pwa['offline_ready_ms']:.0f} ms",
            "< 300 ms",
            f"{pwa['offline_ready_ms'] / pwa['baseline_ready_ms']:.2f} x the baseline page",
        ),
        (
            f"Health p99 while {login_load.CLIENTS} clients sign in (bcrypt cost 12)",
            f"bench/login_load.py: GET /api/v1/health back to back for "
            f"{login_load.MEASURE_SECONDS:.0f} s, production settings; {logins['logins']} logins "
            f"({logins['logins_per_second']:.1f}/s) during it",
            f"{logins['loaded_p99_ms']:.1f} ms (p50 {logins['loaded_p50_ms']:.1f} ms)",
            "p99 < 50 ms",
            f"{logins['loaded_p99_ms'] / logins['idle_p99_ms']:.2f} x idle p99 "
            f"({logins['idle_p99_ms']:.1f} ms, same run)",
        ),
        (
            "Baseline: minimal page with one module script",
            "same server, same run, online",
            f"{pwa['baseline_ready_ms']:.0f} ms",
            "—",
            "1.00",
        ),
    ]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); do not edit by hand. Measured "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, Chromium headless.",
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
