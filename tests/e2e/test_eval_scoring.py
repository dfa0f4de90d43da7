"""The evaluation harness scores a case by the states it left and the words of the reply."""

from __future__ import annotations

from bench.eval_commands import Snapshot, score
from bench.eval_suite import BEDROOM, KITCHEN, THERMOSTAT, Case, Expect
from demo.assist import AssistRun, PipelineEvent


def _run(reply: str) -> AssistRun:
    output = {"intent_output": {"response": {"speech": {"plain": {"speech": reply}}}}}
    return AssistRun(started_at=0.0, events=[PipelineEvent("intent-end", output, 1.0)])


def _thermostat(target: float) -> Snapshot:
    return {THERMOSTAT: ("heat", (("temperature", target), ("hvac_mode", "heat")))}


def test_a_temperature_must_be_the_one_asked_for() -> None:
    case = Case("set the thermostat to 22 degrees", "temperature", {THERMOSTAT: Expect("heat", {"temperature": 22})})

    assert not score("a", "typed", case, _thermostat(21), _thermostat(21), _run("Done."), "").right
    assert score("a", "typed", case, _thermostat(21), _thermostat(22), _run("Done."), "").right


def test_brightness_may_round_and_other_changes_are_false_actions() -> None:
    case = Case("dim the kitchen light to 50%", "brightness", {KITCHEN: Expect("on", {"brightness": 128})})
    before: Snapshot = {KITCHEN: ("off", (("brightness", None),)), BEDROOM: ("off", (("brightness", None),))}
    rounded: Snapshot = {**before, KITCHEN: ("on", (("brightness", 127),))}
    also_bedroom: Snapshot = {**rounded, BEDROOM: ("on", (("brightness", 255),))}

    assert score("a", "typed", case, before, rounded, _run("Done."), "").right
    result = score("a", "typed", case, before, also_bedroom, _run("Done."), "")
    assert result.false_actions == [BEDROOM]
    assert not result.right
