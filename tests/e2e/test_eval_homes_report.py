"""The home-size benchmark's report counts refused and failed turns apart from the answers' latency."""

from __future__ import annotations

from bench.eval_commands import CaseResult
from bench.eval_homes import SizeRun, report
from bench.eval_suite import Case
from bench.reply_errors import internal_error

REFUSAL = (
    "Sorry, the HavenCore backend could not answer: This model's maximum context length is 4096 tokens; "
    "the messages use 5096."
)


def _result(agent: str, reply: str, seconds: float, llm: bool, prompts: list[tuple[int, int]]) -> CaseResult:
    return CaseResult(agent, "typed", Case("it's too dark in the kitchen", "indirect"), reply, {}, [], [], [], seconds,
                      llm, prompts)  # fmt: skip


def test_refused_turns_are_counted_and_left_out_of_the_latency() -> None:
    run = SizeRun(
        40,
        40,
        [
            _result("havencore", REFUSAL, 0.1, True, []),
            _result("havencore", "Done: Kitchen light (On).", 6.0, True, [(3100, 3000)]),
            _result("havencore", "Turned on the light", 0.05, False, []),
            _result("home_assistant", "Sorry, I couldn't understand that", 0.01, False, []),
        ],
        2564,
    )

    rows = [[cell.strip() for cell in row.strip("|").split("|")] for row in report([run], 17).splitlines()]
    ours = next(row for row in rows if row[:2] == ["40", "havencore"])
    theirs = next(row for row in rows if row[:2] == ["40", "home_assistant"])

    assert ours[4:] == [
        "1",
        "1 (up to 5096)",
        "2",
        "6.00 / 6.00",
        "1",
        "0.05 / 0.05",
        "3100 / 3100",
        "2564",
    ]
    assert theirs[4:8] == ["0", "0", "0", "– / –"]


def test_internal_errors_are_found_in_replies_and_ordinary_ones_are_not() -> None:
    assert internal_error(REFUSAL) == "could not answer"
    assert internal_error("HTTP 500: Internal Server Error") == "http"
    assert internal_error("Traceback (most recent call last):") == "traceback"
    assert internal_error("Done: Kitchen light (On).") is None
    assert internal_error("Sorry, I could not find that device among those I may control.") is None
