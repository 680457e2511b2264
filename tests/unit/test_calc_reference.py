"""The Python reference calculator against the spec's cases (the browser engine runs the same
cases in e2e/test_engine.py)."""

from __future__ import annotations

import json
from collections import Counter
from typing import get_args

import pytest

from testkit import calc_reference as ref
from testkit.calc_cases import (
    SPEC_CASES,
    SpecCase,
    generate_expressions,
    generate_follow_ups,
    generate_pastes,
    generate_scientific_calls,
)


@pytest.mark.parametrize("case", SPEC_CASES, ids=[case.call.label() for case in SPEC_CASES])
def test_spec_case(case: SpecCase) -> None:
    assert case.call.reference() == case.expected, case.rule


def test_generated_expressions_are_deterministic_and_reach_every_outcome() -> None:
    expressions = generate_expressions(seed=2026, count=2500)
    assert expressions == generate_expressions(seed=2026, count=2500)
    assert expressions != generate_expressions(seed=2027, count=2500)
    outcomes = Counter(
        "ok" if result["ok"] else result["error"]
        for result in (ref.evaluate(text) for text in expressions)
    )
    # Every outcome but a function's domain error, which the scientific generator reaches.
    assert set(outcomes) >= {"ok", *get_args(ref.ErrorMessage)} - {"Invalid input"}
    assert outcomes["ok"] > 0.7 * len(expressions)
    assert min(count for outcome, count in outcomes.items() if outcome != "Invalid input") >= 10


def test_generated_scientific_calls_are_deterministic_and_reach_every_outcome() -> None:
    calls = generate_scientific_calls(seed=2026, count=3000)
    assert calls == generate_scientific_calls(seed=2026, count=3000)
    outcomes = Counter(
        "ok" if result["ok"] else result["error"]
        for result in (ref.evaluate(c.text, angle=c.angle) for c in calls)
    )
    assert outcomes["ok"] > 0.6 * len(calls)
    for outcome in ("Invalid input", "Overflow", "Cannot divide by zero", "Invalid expression"):
        assert outcomes[outcome] >= 10, outcomes
    text = "".join(call.text for call in calls)
    for fragment in ("^-", "^(", "!", ")!", "2pi", "pi/", "sqrt(", "asin(", "atan(", "log("):
        assert fragment in text, fragment
    assert {call.angle for call in calls} == {"deg", "rad"}


def test_generated_expressions_exercise_the_whole_grammar() -> None:
    text = "".join(generate_expressions(seed=2026, count=2500))
    for fragment in (
        "+",
        "-",
        "\u2212",
        "*",
        "\u00d7",
        "/",
        "\u00f7",
        "%%",
        "((",
        ")(",
        "e-",
        "E+",
    ):
        assert fragment in text, fragment
    assert "\u00a0" in text and "\t" in text


def test_every_result_formats_as_its_display_and_serialises_to_json() -> None:
    results = [ref.evaluate(text) for text in generate_expressions(seed=2026, count=2500)]
    for result in results:
        assert json.loads(json.dumps(result)) == result
        if result["ok"]:
            assert ref.format_display(result["value"]) == result["display"]


def test_follow_ups_and_pastes_reach_every_kind_of_call() -> None:
    results = [ref.evaluate(text) for text in generate_expressions(seed=2026, count=500)]
    follow_ups = generate_follow_ups(2026, results)
    functions = {call.function for call in follow_ups}
    assert functions == {"formatDisplay", "applyRepeat", "evaluate", "add", "subtract"}
    # The carried full-precision value changes the answer of many continuations.
    carried = [call for call in follow_ups if call.carry is not None]
    changed = [
        call for call in carried if ref.evaluate(call.text, call.carry) != ref.evaluate(call.text)
    ]
    assert len(changed) > len(carried) / 4
    pasted = Counter(ref.normalize_paste(text)["ok"] for text in generate_pastes(2026, 500))
    assert pasted[True] > 250 and pasted[False] > 25
