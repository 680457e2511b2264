"""PWA shell weight and time to first possible calculation, online and offline.

    .venv/bin/python -m bench.pwa_weight [--runs N]

Starts `calcapp serve` (embedded PostgreSQL in a temporary folder) over a copy of `pwa/` with
one extra baseline page: a minimal HTML page with one module script, loaded the same way in the
same run, so that the app's figures can be read as a ratio on these shared, noisy machines.

- page weight: bytes the calculator page itself fetches (compressed, as sent) before it is
  ready on a cold load, from the browser's resource timing;
- precache weight: bytes of every shell file (the calculator, account and billing pages) as
  served to a browser that accepts gzip: what the service worker downloads in the background
  after the first load, to work offline;
- ready: milliseconds from navigation start to the `calcapp-ready` performance mark (the
  moment the keypad and keyboard work), median of N cold loads (new context each time) and of
  N offline reloads (served by the service worker);
- the scientific functions' time per call in the page (bench/calc_speed.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, sync_playwright

from bench.calc_speed import function_timings
from testkit.browser import wait_for_mark, wait_for_service_worker
from testkit.support import calcapp_env, chromium_executable, running_server

ROOT = Path(__file__).resolve().parent.parent


OFFLINE_READY_TARGET_MS = 300
BASELINE_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>baseline</title><script type="module" src="bench-baseline.js"></script></head>
<body><p>baseline</p></body></html>
"""
BASELINE_JS = 'performance.mark("calcapp-ready");\n'


def shell_weight(base_url: str) -> tuple[int, int]:
    """(bytes as served with gzip, bytes uncompressed) over every precached shell file."""
    source = httpx.get(f"{base_url}/sw.js").text
    files = json.loads(source.split("const FILES = ", 1)[1].split(";", 1)[0])
    files = [f for f in files if not f.startswith("bench-")] + ["sw.js"]
    served = plain = 0
    with httpx.Client(base_url=base_url) as client:
        for file in files:
            path = "/" + file.removeprefix("./")
            compressed = client.get(path, headers={"accept-encoding": "gzip"})
            served += int(compressed.headers["content-length"])  # as sent, before decoding
            plain += len(client.get(path, headers={"accept-encoding": "identity"}).content)
    return served, plain


PAGE_BYTES = """() => [...performance.getEntriesByType("navigation"),
    ...performance.getEntriesByType("resource")].reduce((sum, e) => sum + e.encodedBodySize, 0)"""


def page_weight(browser: Browser, url: str) -> int:
    """Compressed bytes of the page and everything it loaded until it was ready (cold)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    wait_for_mark(page, "calcapp-ready")
    weight: int = page.evaluate(PAGE_BYTES)
    context.close()
    return weight


def ready_ms(browser: Browser, url: str, runs: int, *, offline: bool) -> list[float]:
    timings: list[float] = []
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        wait_for_mark(page, "calcapp-ready")
        if offline:
            wait_for_service_worker(page)
            context.set_offline(True)
            page.reload()
            wait_for_mark(page, "calcapp-ready")
        timings.append(page.evaluate("performance.getEntriesByName('calcapp-ready')[0].startTime"))
        context.close()
    return timings


def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        static = Path(folder) / "pwa"
        shutil.copytree(ROOT / "pwa", static)
        (static / "bench-baseline.html").write_text(BASELINE_HTML)
        (static / "bench-baseline.js").write_text(BASELINE_JS)
        env = calcapp_env(
            CALCAPP_DATA_DIR=str(Path(folder) / "data"),
            CALCAPP_STATIC_DIR=str(static),
            CALCAPP_ENV="production",
            CALCAPP_SECRET_KEY="bench-" + "x" * 40,
            CALCAPP_PUBLIC_URL="http://127.0.0.1",
            SMTP_HOST="127.0.0.1",
            CALCAPP_LOG_LEVEL="WARNING",
            CALCAPP_METRICS_TOKEN="bench-metrics-" + "x" * 20,
        )
        with running_server(env) as (base_url, _), sync_playwright() as playwright:
            served, plain = shell_weight(base_url)
            browser = playwright.chromium.launch(executable_path=chromium_executable())
            baseline = f"{base_url}/bench-baseline.html"
            results = {
                "page_bytes_gzip": page_weight(browser, base_url),
                "shell_bytes_gzip": served,
                "shell_bytes_plain": plain,
                "online_ready_ms": statistics.median(
                    ready_ms(browser, base_url, runs, offline=False)
                ),
                "offline_ready_ms": statistics.median(
                    ready_ms(browser, base_url, runs, offline=True)
                ),
                "baseline_ready_ms": statistics.median(
                    ready_ms(browser, baseline, runs, offline=False)
                ),
                "runs": runs,
                "functions_ms": function_timings(browser, base_url),
            }
            browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs), indent=2))


if __name__ == "__main__":
    main()
