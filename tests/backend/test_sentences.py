"""Where speech is cut: sentence boundaries, the eager first clause, and text that arrives in pieces."""

from __future__ import annotations

from havencore_backend.voice.sentences import SentenceBuffer, speech_pieces, split_sentences


def test_sentences_end_at_terminators_quotes_and_line_breaks_not_decimals() -> None:
    text = 'It is 3.5 degrees! Really?  "Yes." Ok\nnext line。次です。「はい。」終わり'
    assert split_sentences(text) == [
        "It is 3.5 degrees!",
        "Really?",
        '"Yes."',
        "Ok",
        "next line。",
        "次です。",
        "「はい。」",
        "終わり",
    ]


def test_the_first_sentence_is_cut_after_a_long_enough_first_clause() -> None:
    assert speech_pieces("Good morning, the coffee is ready. Have a nice day.") == [
        "Good morning,",
        "the coffee is ready.",
        "Have a nice day.",
    ]
    assert speech_pieces("Yes, it is. Fine, thank you very much.") == ["Yes, it is.", "Fine, thank you very much."]
    assert speech_pieces("") == []


def test_streamed_text_releases_each_piece_once_it_has_ended() -> None:
    buffer = SentenceBuffer()
    released = [
        buffer.feed(chunk) for chunk in ("The lights ", "are off, and ", "the door ", "is locked. It ", "is warm.")
    ]
    assert released == [[], [], ["The lights are off,"], ["and the door is locked."], []]
    assert buffer.flush() == ["It is warm."]
    assert buffer.flush() == []
