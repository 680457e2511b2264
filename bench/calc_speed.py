"""How long the calculator engine takes for each scientific function at 34 digits, in Chromium.

Used by bench/pwa_weight.py (same server, same browser). Each function is timed through the
engine's public `evaluate` on a spread of arguments (small and large, exact cases such as
`sqrt(16)` and `4^1.5` that run the Ziv loop to its end, both angle units), in a page that has
finished loading (its service worker active and its precache done) and after one warm-up pass
over every case; the baseline is a standard expression (`123456789÷7+0.1×3`) timed the same
way in the same page.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser

from testkit.browser import wait_for_service_worker

CASES: dict[str, list[str]] = {
    "sqrt": ["sqrt(2)", "sqrt(16)", "sqrt(0.000123)", "sqrt(9.87654321e300)"],
    "power": ["2^0.5", "4^1.5", "1.0000001^1000000", "7^-33", "0.25^0.5", "3^3^3"],
    "factorial": ["10!", "170!", "3000!"],
    "exp": ["exp(1)", "exp(-0.001)", "exp(23025)", "exp(0.5)"],
    "ln": ["ln(2)", "ln(1e-300)", "ln(0.999999)", "ln(123456.789)"],
    "log": ["log(1000)", "log(2)", "log(0.03)", "log(7e77)"],
    "sin": ["sin(30)", "sin(1)", "sin(89.999)", "sin(1e6)", "sin(pi/7)"],
    "cos": ["cos(60)", "cos(2)", "cos(1e5)", "cos(0.001)"],
    "tan": ["tan(45)", "tan(1)", "tan(89.9)", "tan(3pi/7)"],
    "asin": ["asin(0.5)", "asin(0.3)", "asin(0.999999)", "asin(-0.123)"],
    "acos": ["acos(0.5)", "acos(0.3)", "acos(-0.999)", "acos(0.001)"],
    "atan": ["atan(1)", "atan(0.3)", "atan(1e6)", "atan(-7.5)"],
}
BASELINE = ["123456789÷7+0.1×3"]
ROUNDS = 50

TIME_CALLS = """async ([cases, rounds]) => {
    const engine = await import("/js/calc.js");
    const times = {};
    for (const texts of Object.values(cases)) {
        for (const text of texts) engine.evaluate(text, null, "rad");  // warm-up
    }
    for (const [name, texts] of Object.entries(cases)) {
        const samples = [];
        for (let round = 0; round < rounds; round += 1) {
            for (const unit of ["deg", "rad"]) {
                for (const text of texts) {
                    const start = performance.now();
                    engine.evaluate(text, null, unit);
                    samples.push(performance.now() - start);
                }
            }
        }
        samples.sort((a, b) => a - b);
        const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
        times[name] = {p50: at(0.5), p99: at(0.99), calls: samples.length};
    }
    return times;
}"""


def function_timings(browser: Browser, base_url: str) -> dict[str, Any]:
    """{function: {p50, p99, calls}} in milliseconds, and "baseline" for the standard one."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url)
    wait_for_service_worker(page)
    timings: dict[str, Any] = page.evaluate(TIME_CALLS, [{**CASES, "baseline": BASELINE}, ROUNDS])
    context.close()
    return timings
