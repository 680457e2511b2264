"""The real `pwa/js/calc.js`, run in Chromium, against the spec's cases and against the Python
reference (testkit/calc_reference.py) on thousands of generated expressions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playwright.sync_api import Page

from testkit import calc_reference as ref
from testkit.browser import ConsoleErrors
from testkit.calc_cases import (
    SPEC_CASES,
    Answer,
    Call,
    generate_expressions,
    generate_follow_ups,
    generate_pastes,
    generate_scientific_calls,
    generate_scientific_pastes,
)

ENGINE = "/js/calc.js"
RUN_CALLS = """async ([path, calls]) => {
    const engine = await import(path);
    return calls.map(([name, args]) => engine[name](...args));
}"""
BATCH = 1000
SEED = 2026


def run_in_browser(page: Page, calls: Sequence[Call]) -> list[Any]:
    """What the engine answers to each call, in order (a few big round trips)."""
    answers: list[Any] = []
    for start in range(0, len(calls), BATCH):
        batch = [[call.function, call.js_args()] for call in calls[start : start + BATCH]]
        answers.extend(page.evaluate(RUN_CALLS, [ENGINE, batch]))
    return answers


def disagreements(
    calls: Sequence[Call], expected: Sequence[Answer], got: Sequence[Any]
) -> list[str]:
    return [
        f"{call.label()}\n    expected {want}\n    got      {answer}"
        for call, want, answer in zip(calls, expected, got, strict=True)
        if answer != want
    ]


def test_the_engine_exports_its_api(page: Page, console_errors: ConsoleErrors) -> None:
    page.goto("/")
    exports = page.evaluate(
        "async (path) => { const m = await import(path);"
        " return Object.keys(m).sort().map((name) => [name, typeof m[name]]); }",
        ENGINE,
    )
    assert exports == [
        ["ENGINE_VERSION", "number"],
        ["FUNCTIONS", "object"],
        ["add", "function"],
        ["applyRepeat", "function"],
        ["evaluate", "function"],
        ["formatDisplay", "function"],
        ["normalizePaste", "function"],
        ["subtract", "function"],
        ["usesAngleUnit", "function"],
    ]
    version = page.evaluate("async (path) => (await import(path)).ENGINE_VERSION", ENGINE)
    assert version == ref.ENGINE_VERSION


def test_the_engine_answers_every_spec_case(page: Page, console_errors: ConsoleErrors) -> None:
    page.goto("/")
    calls = [case.call for case in SPEC_CASES]
    answers = run_in_browser(page, calls)
    wrong = disagreements(calls, [case.expected for case in SPEC_CASES], answers)
    assert wrong == [], "\n".join(wrong)


def test_the_engine_agrees_with_the_reference(page: Page, console_errors: ConsoleErrors) -> None:
    page.goto("/")
    expressions = generate_expressions(seed=SEED, count=2500)
    results = [ref.evaluate(text) for text in expressions]
    calls = [
        *[Call("evaluate", text) for text in expressions],
        *generate_follow_ups(SEED, results),
        *[Call("normalizePaste", text) for text in generate_pastes(SEED, 1000)],
    ]
    expected = [*results, *[call.reference() for call in calls[len(expressions) :]]]
    answers = run_in_browser(page, calls)
    wrong = disagreements(calls, expected, answers)
    assert wrong == [], f"{len(wrong)} of {len(calls)} calls disagree:\n" + "\n".join(wrong[:20])
    assert len(calls) > 8000


def test_the_engine_agrees_with_the_reference_on_scientific_expressions(
    page: Page, console_errors: ConsoleErrors
) -> None:
    """Functions, ^, !, pi and implicit × in both angle units, and their pasted forms."""
    page.goto("/")
    scientific = generate_scientific_calls(seed=SEED, count=3000)
    pastes = [Call("normalizePaste", text) for text in generate_scientific_pastes(SEED, 500)]
    calls = [*scientific, *pastes]
    answers = run_in_browser(page, calls)
    wrong = disagreements(calls, [call.reference() for call in calls], answers)
    assert wrong == [], f"{len(wrong)} of {len(calls)} calls disagree:\n" + "\n".join(wrong[:20])


def test_the_engine_never_throws(page: Page, console_errors: ConsoleErrors) -> None:
    """Inputs only JavaScript can send: wrong types, lone surrogates, odd carry and repeat."""
    page.goto("/")
    answers = page.evaluate(
        """async (path) => {
            const m = await import(path);
            const lone = String.fromCharCode(0xd800);
            const attempts = [
                () => m.evaluate(null),
                () => m.evaluate(42),
                () => m.evaluate(undefined),
                () => m.evaluate(lone),
                () => m.evaluate("1+" + lone),
                () => m.evaluate("1+1", "junk"),
                () => m.evaluate("1+1", {display: 1, value: 2}),
                () => m.evaluate("1+1", {display: "1", value: null}),
                () => m.applyRepeat("5", null),
                () => m.applyRepeat("5", {operator: "+", operand: 3}),
                () => m.applyRepeat(5, {operator: "+", operand: "3"}),
                () => m.add(null, "1"),
                () => m.subtract("1", {}),
                () => m.formatDisplay(undefined),
                () => m.normalizePaste(undefined),
                () => m.normalizePaste(lone),
            ];
            return attempts.map((attempt) => {
                try { return attempt(); } catch (error) { return `threw ${error}`; }
            });
        }""",
        ENGINE,
    )
    invalid = {"ok": False, "error": "Invalid expression"}
    two = {"ok": True, "display": "2", "value": "2", "repeat": {"operator": "+", "operand": "1"}}
    assert answers == [
        *[invalid] * 5,
        two,
        two,
        two,
        *[invalid] * 5,
        "",
        invalid,
        invalid,
    ]
