"""Document chunking: passages within the size limit, whole paragraphs where they fit, headings carried along."""

from __future__ import annotations

from havencore_backend.memory.chunking import chunk_text


def test_paragraphs_are_packed_and_headings_start_new_passages() -> None:
    text = "# Boiler\n\nCheck the pressure.\n\nBleed the radiators.\n\n## Garden\nWater the roses at dusk."
    assert chunk_text(text) == [
        "Boiler: Check the pressure.\n\nBleed the radiators.",
        "Garden: Water the roses at dusk.",
    ]


def test_long_text_is_cut_at_sentences_within_the_limit_and_nothing_is_lost() -> None:
    sentences = [f"Sentence number {i} says something about the house." for i in range(200)]
    paragraph = " ".join(sentences)
    chunks = chunk_text(f"# Manual\n\n{paragraph}\n\n{'x' * 2500}", max_chars=300)
    assert all(len(chunk) <= 300 for chunk in chunks)
    assert all(chunk.startswith("Manual: ") for chunk in chunks)
    joined = " ".join(chunk.removeprefix("Manual: ") for chunk in chunks)
    for sentence in sentences:
        assert sentence in joined
    assert joined.replace(" ", "").replace("\n", "").count("x") == 2500


def test_empty_documents_have_no_passages() -> None:
    assert chunk_text("  \n\n \r\n") == []
    assert chunk_text("# Only a heading") == []
