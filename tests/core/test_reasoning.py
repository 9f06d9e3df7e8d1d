"""<think> tags: reasoning split from the answer, whole or streamed in any pieces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmstudio_adapters._reasoning import ThinkTagSplitter, split_think_tags


@pytest.mark.parametrize(
    ("content", "reasoning", "answer"),
    [
        ("<think>\nplan it\n</think>\n\nHi there!", "plan it", "Hi there!"),
        ("  <think>x</think>y", "x", "y"),
        ("no tags here", "", "no tags here"),
        ("plan</think>answer", "plan", "answer"),
        ("<think>never closed", "never closed", ""),
        ("text with <think>inside</think> later", "", "text with <think>inside</think> later"),
    ],
)
def test_split_whole_reply(content: str, reasoning: str, answer: str) -> None:
    """A leading think block (or a lone closing tag) becomes reasoning."""
    assert split_think_tags(content) == (reasoning, answer)


def _stream(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkTagSplitter()
    reasoning = answer = ""
    for piece in pieces:
        r, a = splitter.feed(piece)
        reasoning += r
        answer += a
    r, a = splitter.flush()
    return reasoning + r, answer + a


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=15))
def test_streamed_pieces_match_the_whole(cuts: list[int]) -> None:
    """However the deltas cut the tags, the streamed split equals the whole-reply split."""
    text = "<think>\nweigh options\n</think>\n\nThe answer is 4."
    points = sorted({c for c in cuts if c < len(text)})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=False)]
    reasoning, answer = _stream(pieces)
    assert (reasoning.strip(), answer) == ("weigh options", "The answer is 4.")


def test_stream_without_tags_passes_through() -> None:
    """Plain answers are not delayed or changed, including a '<' that starts no tag."""
    assert _stream(["a < b", " and c"]) == ("", "a < b and c")
    assert _stream(["<", "b>bold"]) == ("", "<b>bold")
