"""The evaluation harness runs a suite of the user's own against the user's Home Assistant, over its URL and token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.eval_commands import evaluate_own_home
from bench.eval_home_suite import SuiteError, load_suite
from bench.eval_suite import Expect, ServiceCall
from demo.stack import DemoHome

SUITE = """
reset:
  - action: light.turn_off
    target: {entity_id: [light.kitchen_light, light.bedroom_light]}
cases:
  - text: turn on the kitchen light
    kind: on/off
    expect:
      light.kitchen_light: {state: on}
  - text: turn off the bedroom light
    given:
      - action: light.turn_on
        target: {entity_id: light.bedroom_light}
    expect:
      light.bedroom_light: {state: "off"}
  # Written wrong on purpose: the kitchen light comes on, and that is the case's false action.
  - text: turn on the kitchen light
    kind: wrong
    expect:
      light.bedroom_light: {state: "on"}
    words: [[bedroom, schlafzimmer]]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_suite_file_reads_into_actions_and_cases(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, SUITE))

    assert suite.reset == (
        ServiceCall("light", "turn_off", {"entity_id": ["light.kitchen_light", "light.bedroom_light"]}),
    )
    assert [case.kind for case in suite.cases] == ["on/off", "other", "wrong"]
    # An unquoted on is YAML's true: read as the state "on".
    assert suite.cases[0].expect == {"light.kitchen_light": Expect("on")}
    assert suite.cases[1].given == (ServiceCall("light", "turn_on", {"entity_id": "light.bedroom_light"}),)
    assert suite.cases[2].words == (("bedroom", "schlafzimmer"),)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("cases: []", "no cases"),
        ("cases:\n  - kind: x", "cases[0]: 'text'"),
        ("cases:\n  - text: hi\n    given:\n      - action: turn_on", "cases[0].given[0]: 'action'"),
        ("cases:\n  - text: hi\n    expect:\n      light.x: {}", "cases[0].expect.light.x"),
        ("cases:\n  - text: is it on\n    words: [yes]", "quote it"),
        ("cases: [", "suite.yaml"),
    ],
)
def test_a_wrong_suite_file_says_where(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(SuiteError, match=re.escape(where)):
        load_suite(_write(tmp_path, text))


@pytest.mark.asyncio(loop_scope="session")
async def test_a_suite_runs_against_a_home_by_url_and_token(demo_home: DemoHome, tmp_path: Path) -> None:
    client = demo_home.client

    results = await evaluate_own_home(client.base_url, client.token, [], ["typed"], load_suite(_write(tmp_path, SUITE)))

    # The preferred pipeline (HavenCore's) ran every case once.
    assert [result.agent for result in results] == ["HavenCore"] * 3
    assert [result.right for result in results] == [True, True, False]
    wrong = results[2]
    assert wrong.false_actions == ["light.kitchen_light"]
    assert wrong.missing == ["light.bedroom_light should be on"]
    assert wrong.missing_words == ["bedroom/schlafzimmer"]
