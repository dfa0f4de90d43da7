"""The grammar filter keeps sampling inside the grammar, whether or not a likely token fits, and tells a forced
answer from one the model meant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_cpp import Llama

from havencore_backend.llm.grammar_filter import GrammarError, GrammarFilter
from tests.backend.language_models import CHAT_GGUF

PROMPT = "<|im_start|>user\nIs the sky blue on a clear day? Answer yes or no.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def llama() -> Iterator[Any]:
    model = Llama(model_path=str(CHAT_GGUF), n_ctx=512, verbose=False)
    yield model
    model.close()


def _complete(llama: Any, grammar: str) -> tuple[str, bool]:
    """Greedy completion of ``PROMPT`` under ``grammar``: the text and whether the grammar forced it."""
    grammar_filter = GrammarFilter(llama, grammar, watch_forced=True)
    try:
        completion = llama.create_completion(PROMPT, max_tokens=12, temperature=0, logits_processor=[grammar_filter])
    finally:
        grammar_filter.close()
    return completion["choices"][0]["text"], grammar_filter.forced


def test_an_answer_the_model_means_passes_unforced(llama: Any) -> None:
    text, forced = _complete(llama, 'root ::= ("Yes" | "No") [.!]?')

    assert text in {"Yes", "Yes.", "Yes!"}
    assert not forced


def test_an_answer_the_model_means_in_other_letters_case_passes_unforced(llama: Any) -> None:
    text, forced = _complete(llama, 'root ::= ("YES" | "NO") [.!]?')

    assert text.startswith("YES")
    assert not forced


def test_a_grammar_no_likely_token_fits_still_decides_and_is_noted_as_forced(llama: Any) -> None:
    # No likely next token starts "Qzx": the filter falls back to checking the whole vocabulary.
    text, forced = _complete(llama, 'root ::= "Qzx" [0-9]')

    assert text[:3] == "Qzx"
    assert text[3:].isdigit()
    assert forced


def test_a_grammar_llama_cpp_cannot_parse_is_refused(llama: Any) -> None:
    with pytest.raises(GrammarError):
        GrammarFilter(llama, "root ::= (")
