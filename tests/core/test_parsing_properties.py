"""Properties of response parsing and SSE decoding, fed arbitrary bytes, chunkings and JSON shapes.

Whatever a server sends, parsing gives a valid result or a typed error of the package
(never a bare ``RecursionError``, ``IndexError``, ``KeyError``...), and the stream decoder's
result does not depend on where the bytes were split. Linear time is checked on inputs
large enough for a quadratic decoder to show (with a generous bound, not a speed figure).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmstudio_adapters import LMStudioAdapterError, LMStudioClient, ResponseError
from lmstudio_adapters._mapping import status_error
from lmstudio_adapters._routes import parse_models
from lmstudio_adapters._schemas import ChatCompletion, ChatCompletionChunk, Completion, EmbeddingResponse
from lmstudio_adapters._sse import SSEDecoder

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
# Pieces an event stream is made of, so random byte strings are mostly near-valid streams.
stream_pieces = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"event: error\n",
        b": ping",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b"[DONE]",
        b'{"choices":[{"index":0,"delta":{"content":"a"}}]}',
        b'{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        b'{"choices":[]}',
        b'{"error":{"message":"boom"}}',
        b"[" * 300,
        b"\xc3\xa9",
        b"\xc3",
        b"\xff",
        b"x",
    ]
)
streams = st.lists(stream_pieces, max_size=40).map(b"".join) | st.binary(max_size=300)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def _decode(chunks: list[bytes]) -> list[str] | type[ResponseError]:
    decoder = SSEDecoder()
    blocks: list[str] = []
    try:
        for chunk in chunks:
            blocks += decoder.blocks(chunk)
        blocks += decoder.final_blocks()
    except ResponseError:
        return ResponseError
    return [block for block in blocks if block]


@PROPERTY
@given(data=streams, cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_sse_blocks_do_not_depend_on_the_chunking(data: bytes, cuts: list[int]) -> None:
    """Split anywhere (inside a UTF-8 character or a CRLF too): the same blocks, or the same ResponseError."""
    assert _decode(_split(data, cuts)) == _decode([data])


def _client() -> LMStudioClient:
    return LMStudioClient("http://127.0.0.1:9", model="m")


@PROPERTY
@given(data=streams, cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_stream_parsing_gives_chunks_or_a_typed_error(data: bytes, cuts: list[int]) -> None:
    """A chat or completion stream of arbitrary bytes: typed chunks, or an error of the package."""
    with _client() as client:
        call = client._chat_call([{"role": "user", "content": "hi"}], model=None, stream=True)
        for chunk_type in (ChatCompletionChunk, Completion):
            parser = client._chunk_parser(call, chunk_type)
            try:
                chunks = [chunk for piece in _split(data, cuts) for chunk in parser.feed(piece)]
                chunks += parser.finish()
            except LMStudioAdapterError:
                continue
            assert all(isinstance(chunk, chunk_type) for chunk in chunks)


def _shapes() -> st.SearchStrategy[Any]:
    choice = st.fixed_dictionaries(
        {"index": st.integers(), "message": json_values | st.fixed_dictionaries({"content": json_values})},
        optional={"finish_reason": json_values},
    )
    return st.one_of(
        json_values,
        st.fixed_dictionaries({"choices": st.lists(choice, max_size=3)}, optional={"usage": json_values}),
        st.fixed_dictionaries({"data": st.lists(json_values, max_size=3)}, optional={"object": json_values}),
        st.fixed_dictionaries({"error": json_values}),
        st.fixed_dictionaries({"models": st.lists(json_values, max_size=3)}),
    )


bodies = st.one_of(
    _shapes().map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.integers(min_value=1, max_value=50_000).map(lambda depth: b'{"choices":' + b"[" * depth + b"]" * depth + b"}"),
    st.integers(min_value=1, max_value=50_000).map(lambda depth: b'{"error":' + b"{" * depth),
)


@PROPERTY
@given(content=bodies)
def test_answer_parsing_gives_a_result_or_a_typed_error(content: bytes) -> None:
    """Any body, as any answer type, error body or model list: a valid result or a typed error, bounded in size."""
    with _client() as client:
        call = client._call("POST", "/v1/chat/completions", None, timeout=None, max_retries=None)
        for model_type in (ChatCompletion, Completion, EmbeddingResponse):
            try:
                parsed = client._parse(call, model_type, content)
            except LMStudioAdapterError as exc:
                failure: LMStudioAdapterError | None = exc
            else:
                failure = None
            if failure is not None:
                assert len(str(failure)) < 3000
                continue
            if model_type is ChatCompletion:
                assert parsed.message is not None  # at least one choice: no IndexError later
            if isinstance(parsed, EmbeddingResponse):
                with contextlib.suppress(ResponseError):
                    client._check_embeddings(call, parsed, len(parsed.data))
        error = status_error(400, content, method="POST", url="http://127.0.0.1:9/v1", base_url="http://127.0.0.1:9")
        assert isinstance(error, LMStudioAdapterError)
        assert len(str(error)) < 3000
        try:
            body = client._json(call, content)
        except ResponseError:
            return
        for api in ("v1", "v0", "openai"):
            models = parse_models(api, body)  # type: ignore[arg-type]
            assert models is None or isinstance(models, list)


@pytest.mark.parametrize("chunk_size", [1 << 10, 1 << 16])
def test_decoding_is_linear_in_line_length(chunk_size: int) -> None:
    """A 32 MB line without a newline, in small reads: a generous bound a quadratic decoder misses by far.

    The old decoder re-joined the whole line on every read (47 s of CPU for 50 MB); a linear
    one does 32 MB in well under a second. The bound is 10 s of CPU time, a hang guard.
    """
    decoder = SSEDecoder(max_chars=1 << 30)
    piece = b"x" * chunk_size
    start = time.process_time()
    for _ in range((32 << 20) // chunk_size):
        assert decoder.blocks(piece) == []
    blocks = decoder.blocks(b"\n\n")
    assert time.process_time() - start < 10
    assert len(blocks) == 1
    assert len(blocks[0]) == 32 << 20


def test_an_unended_line_past_the_limit_is_a_typed_error() -> None:
    """The event cap is enforced whatever the read size."""
    decoder = SSEDecoder(max_chars=1000)
    decoder.blocks(b"data: " + b"x" * 900)
    with pytest.raises(ResponseError, match="MAX_EVENT_CHARS"):
        decoder.blocks(b"x" * 200)
