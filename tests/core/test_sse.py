"""The SSE decoder: framing rules, arbitrary chunking, and bad bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmstudio_adapters import LMStudioAdapterError, ResponseError
from lmstudio_adapters._schemas import ChatCompletionChunk
from lmstudio_adapters._sse import ServerSentEvent, SSEDecoder, iter_events
from lmstudio_adapters._stream import ChunkParser

STREAM = (
    'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Caf\u00e9 "}}]}\n\n'
    'data: {"choices":[{"index":0,"delta":{"content":"\u2615 ok"}}]}\r\n\r\n'
    ": keep-alive comment\n\n"
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\r\r'
    'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n'
    "data: [DONE]\n\n"
).encode()


def _decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    return list(iter_events(chunks))


def test_events_and_line_endings() -> None:
    """\\n, \\r\\n and \\r all end lines; comments are skipped; [DONE] is an ordinary event."""
    events = _decode([STREAM])
    assert [event.data[:8] for event in events] == ['{"choice'] * 4 + ["[DONE]"]
    assert all(event.event == "message" for event in events)


def test_multiline_data_and_event_names() -> None:
    """data: lines of one event are joined with newlines; event: names the event."""
    events = _decode([b"event: error\ndata: a\ndata: b\n\ndata:no-space\n\n"])
    assert events == [ServerSentEvent("error", "a\nb"), ServerSentEvent("message", "no-space")]


def test_unterminated_final_event_is_flushed() -> None:
    """A last event without its blank line still arrives at the end of the body."""
    assert _decode([b"data: [DONE]"]) == [ServerSentEvent("message", "[DONE]")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=40))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    """Splitting the bytes anywhere, inside a UTF-8 character or a \\r\\n included, changes nothing."""
    points = sorted(set(cuts))
    pieces = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=False)]
    assert _decode(pieces) == _decode([STREAM])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_arbitrary_bytes_raise_only_documented_errors(chunks: list[bytes]) -> None:
    """Garbage in gives events or a ResponseError, never another exception."""
    parser = ChunkParser(
        ChatCompletionChunk,
        method="POST",
        url="http://x/v1/chat/completions",
        base_url="http://x",
        model="m",
        parse_think_tags=True,
    )
    try:
        for chunk in chunks:
            list(parser.feed(chunk))
        parser.finish()
    except LMStudioAdapterError:
        pass


def test_invalid_utf8_is_a_response_error() -> None:
    """Bytes that are not UTF-8 raise ResponseError."""
    decoder = SSEDecoder()
    with pytest.raises(ResponseError, match="not valid UTF-8"):
        list(decoder.feed(b"data: \xff\xfe\n\n"))


def test_stream_ending_inside_a_character() -> None:
    """A body that stops half-way through a UTF-8 character is reported as such."""
    decoder = SSEDecoder()
    list(decoder.feed("data: \u00e9".encode()[:-1]))
    with pytest.raises(ResponseError, match="middle of a UTF-8 character"):
        decoder.flush()
