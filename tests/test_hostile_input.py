"""Hostile servers, memory and malformed answers: bounded, and always a typed error (issue 17).

Every answer here comes from a real server on 127.0.0.1 (the scripted loopback server, or
the raw-socket one for bodies ``http.server`` cannot send), through the sync and async
clients and both adapters where their paths differ.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from lmstudio_adapters import (
    AsyncLMStudioClient,
    BadRequestError,
    LMStudioAdapterError,
    LMStudioClient,
    NoBackendError,
    ResponseError,
    ToolCallError,
    decide_backend,
)
from lmstudio_adapters._limits import MAX_BODY_BYTES, MAX_EVENT_CHARS
from lmstudio_adapters._selector import clear_probe_cache
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings, LMStudioResponseError
from lmstudio_adapters.llama_index import LMStudioEmbedding
from tests.hostile import HEAD_SSE, Hostile, hostile_server, send
from tests.loopback import MODELS, LoopbackServer, Reply, chat_chunk, chat_reply, sse_reply
from tests.test_fault_matrix import CALLERS, TIMEOUT, _li, _release_shared_pool

CHAT = ("POST", "/v1/chat/completions")
EMBED = ("POST", "/v1/embeddings")
HANG_GUARD = TIMEOUT * 4 + 3
#: Deeper than any JSON parser in the path accepts (json: the recursion limit; pydantic-core: 200).
DEEP = "[" * 100_000 + "]" * 100_000
PLAIN = [name for name, (streaming, _) in CALLERS.items() if not streaming]
STREAMING = [name for name, (streaming, _) in CALLERS.items() if streaming]


# --- memory: decoded size and line length are capped ------------------------------------


GIB = 1 << 30


@functools.cache
def _gzip_zeros(decoded: int) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # 1 GiB of zeros: 4.7 MB, 1.4 s to make (once)
    block = b"\0" * (1 << 20)
    parts = [packer.compress(block) for _ in range(decoded >> 20)]
    return b"".join(parts) + packer.flush()


def _gzip_bomb(conn: socket.socket, path: str, server: Hostile) -> None:
    body = _gzip_zeros(GIB)
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    send(conn, head.encode() + body)


def _gzip_bomb_stream(conn: socket.socket, path: str, server: Hostile) -> None:
    body = _gzip_zeros(MAX_EVENT_CHARS + (8 << 20))
    send(conn, HEAD_SSE.replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n") + body)


def _endless_line(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, HEAD_SSE + b"data: ")
    block = b"x" * (1 << 20)
    for _ in range((MAX_EVENT_CHARS >> 20) + 4):
        if server.stop.is_set():
            return
        send(conn, block)


def _patient_callers(url: str) -> dict[str, Callable[[], Any]]:
    # Decoding 128 MiB takes longer than the fault matrix's 0.5 s on a loaded machine.
    from langchain_core.messages import HumanMessage
    from llama_index.core.base.llms.types import ChatMessage

    messages = [{"role": "user", "content": "hi"}]
    lc = LMStudioChatModel(model="m", base_url=url, timeout=120, max_retries=1)
    li = _li(url).model_copy(update={"request_timeout": 120.0})

    def client() -> Any:
        with LMStudioClient(url, model="m", timeout=120, max_retries=1) as c:
            return c.chat(messages)

    async def aclient() -> Any:
        async with AsyncLMStudioClient(url, model="m", timeout=120, max_retries=1) as c:
            return await c.chat(messages)

    return {
        "client.chat": client,
        "async client.chat": lambda: asyncio.run(aclient()),
        "langchain invoke": lambda: lc.invoke([HumanMessage("hi")]),
        "langchain ainvoke": lambda: asyncio.run(lc.ainvoke([HumanMessage("hi")])),
        "llamaindex chat": lambda: li.chat([ChatMessage(role="user", content="hi")]),
        "llamaindex achat": lambda: asyncio.run(li.achat([ChatMessage(role="user", content="hi")])),
    }


@pytest.mark.parametrize("caller", PLAIN)
def test_decoded_body_is_capped(caller: str) -> None:
    """A small gzip body that decodes past MAX_BODY_BYTES stops at the limit with a ResponseError naming it."""
    _gzip_zeros(GIB)  # compressed before the call, not while it waits
    with hostile_server(_gzip_bomb, lifetime=120) as server:
        with pytest.raises(ResponseError) as info:
            _patient_callers(server.url)[caller]()
        assert "MAX_BODY_BYTES" in str(info.value)
        assert server.count(CHAT[1]) == 1  # a broken answer is not sent again


def test_gzip_bomb_memory_is_bounded() -> None:
    """Reading a gzip body that decodes to 1 GiB allocates about the limit, not the gigabyte (2.1 GB before)."""
    import tracemalloc

    _gzip_zeros(GIB)
    with hostile_server(_gzip_bomb, lifetime=120) as server:
        call = _patient_callers(server.url)["client.chat"]
        tracemalloc.start()
        try:
            with pytest.raises(ResponseError, match="MAX_BODY_BYTES"):
                call()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # The limit, plus one read's decoded bytes (zlib expands a 64 KiB read up to ~64 MiB), plus slack.
    assert peak < MAX_BODY_BYTES + (160 << 20), f"peak {peak >> 20} MiB"


@pytest.mark.parametrize("script", [_gzip_bomb_stream, _endless_line], ids=["gzip bomb", "endless line"])
@pytest.mark.parametrize("caller", STREAMING)
def test_stream_event_size_is_capped(caller: str, script: Callable[..., None]) -> None:
    """A stream line that never ends stops at MAX_EVENT_CHARS, in time linear in what was read."""
    _gzip_zeros(MAX_EVENT_CHARS + (8 << 20))
    with hostile_server(script) as server:
        start = time.monotonic()
        with pytest.raises(ResponseError) as info:
            CALLERS[caller][1](server.url)
        assert time.monotonic() - start < 30  # quadratic decoding of 16 MB would take minutes
        assert "MAX_EVENT_CHARS" in str(info.value)
        _release_shared_pool(server.url)


# --- malformed answers: typed errors -------------------------------------------------------


def _deep_chat_body() -> Reply:
    return Reply(body='{"id": "x", "choices": ' + DEEP + "}")


MALFORMED_PLAIN: dict[str, tuple[Reply, type[Exception]]] = {
    "deeply nested body": (_deep_chat_body(), ResponseError),
    "deeply nested 400 body": (Reply(status=400, body='{"error": ' + DEEP + "}"), BadRequestError),
    "no choices": (Reply(body={**chat_reply(), "choices": []}), ResponseError),
    "negative token counts": (
        Reply(body={**chat_reply(), "usage": {"prompt_tokens": -5, "completion_tokens": 1, "total_tokens": -4}}),
        ResponseError,
    ),
    "2 MB error message": (
        Reply(status=400, body={"error": {"message": "x" * 2_000_000, "type": "invalid_request_error"}}),
        BadRequestError,
    ),
}


@pytest.mark.parametrize(
    ("fault", "caller"), [(fault, caller) for fault in MALFORMED_PLAIN for caller in PLAIN], ids=lambda v: v
)
def test_malformed_answer_is_a_typed_error(server: LoopbackServer, fault: str, caller: str) -> None:
    """No bare RecursionError / IndexError: the typed error, with a message of readable size."""
    reply, error = MALFORMED_PLAIN[fault]
    server.route(*CHAT, reply)
    with pytest.raises(error) as info:
        CALLERS[caller][1](server.url)
    assert isinstance(info.value, LMStudioAdapterError)
    assert len(str(info.value)) < 3000
    assert server.hits[CHAT] == 1
    if caller.startswith("langchain") and error is ResponseError:
        assert isinstance(info.value, LMStudioResponseError)  # a langchain-core ModelAPIError too
    _release_shared_pool(server.url)


MALFORMED_STREAM = {
    "deeply nested chunk": sse_reply([chat_chunk("a"), 'data: {"choices": ' + DEEP + "}"]),
    "deeply nested chunk line": sse_reply([chat_chunk("a"), "data: " + DEEP]),
    "deeply nested error event": sse_reply([chat_chunk("a"), 'event: error\ndata: {"error": ' + DEEP + "}"]),
    "deeply nested error body": sse_reply([chat_chunk("a"), 'data: {"error": ' + DEEP + "}"]),
    "2 MB error event": sse_reply([chat_chunk("a"), "event: error\ndata: " + json.dumps({"error": "y" * 2_000_000})]),
}


@pytest.mark.parametrize(
    ("fault", "caller"), [(fault, caller) for fault in MALFORMED_STREAM for caller in STREAMING], ids=lambda v: v
)
def test_malformed_stream_is_a_typed_error(server: LoopbackServer, fault: str, caller: str) -> None:
    """Deep nesting or a huge error in a stream: a ResponseError, nothing partial returned."""
    server.route(*CHAT, MALFORMED_STREAM[fault])
    with pytest.raises(ResponseError) as info:
        CALLERS[caller][1](server.url)
    assert len(str(info.value)) < 3000
    _release_shared_pool(server.url)


def test_20_mb_error_message_is_cut(server: LoopbackServer) -> None:
    """A 20 MB error.message is cut in the exception (str and server_message), sync and async."""
    server.route(*CHAT, Reply(status=400, body={"error": {"message": "x" * 20_000_000, "code": "bad"}}))
    messages = [{"role": "user", "content": "hi"}]
    with LMStudioClient(server.url, model="m", timeout=60) as client, pytest.raises(BadRequestError) as info:
        client.chat(messages)

    async def main() -> None:
        async with AsyncLMStudioClient(server.url, model="m", timeout=60) as aclient:
            await aclient.chat(messages)

    with pytest.raises(BadRequestError) as ainfo:
        asyncio.run(main())
    for error in (info.value, ainfo.value):
        assert len(str(error)) < 3000
        assert len(error.server_message) < 1100
        assert error.server_message.endswith("(19999000 more characters)")


def _deep_tool_call() -> dict[str, Any]:
    call = {"id": "7", "type": "function", "function": {"name": "add", "arguments": DEEP}}
    return chat_reply("", tool_calls=[call])


def test_deeply_nested_tool_arguments_are_an_invalid_call(server: LoopbackServer) -> None:
    """Tool-call arguments nested too deeply are unparseable arguments, not a crash, in both adapters."""
    server.route(*CHAT, Reply(body=_deep_tool_call()))
    message = LMStudioChatModel(model="loop-model", base_url=server.url, timeout=TIMEOUT).invoke("hi")
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["name"] == "add"
    from llama_index.core.base.llms.types import ChatMessage

    li = _li(server.url)
    response = li.chat([ChatMessage(role="user", content="hi")])
    # Unusable arguments are never run: LlamaIndex gets our typed ToolCallError (issue 16's rule).
    with pytest.raises(ToolCallError, match="'add'"):
        li.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    streamed = [
        chat_chunk(tool_calls=[{"index": 0, "id": "7", "type": "function", "function": {"name": "add"}}]),
        chat_chunk(tool_calls=[{"index": 0, "function": {"arguments": DEEP}}]),
        chat_chunk(finish="tool_calls"),
    ]
    server.route(*CHAT, sse_reply(streamed))
    merged: Any = None
    for chunk in LMStudioChatModel(model="loop-model", base_url=server.url, timeout=TIMEOUT).stream("hi"):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    # langchain-core parses streamed arguments itself; too deep to parse reads as no arguments.
    assert merged.tool_calls in ([], [{"name": "add", "args": {}, "id": "7", "type": "tool_call"}])
    last = list(li.stream_chat([ChatMessage(role="user", content="hi")]))[-1]
    with pytest.raises(ToolCallError, match="'add'"):
        li.get_tool_calls_from_response(last, error_on_no_tool_call=False)
    _release_shared_pool(server.url)


def test_deeply_nested_model_list(server: LoopbackServer) -> None:
    """A model list nested too deeply: ResponseError from the client, fetch_profile, metadata and the selector."""
    server.route("GET", "/v1/models", Reply(body='{"object": "list", "data": ' + DEEP + "}"))
    with LMStudioClient(server.url, api="openai") as client, pytest.raises(ResponseError, match="nested too deeply"):
        client.list_models()

    async def alist() -> None:
        async with AsyncLMStudioClient(server.url, api="openai") as aclient:
            await aclient.list_models()

    with pytest.raises(ResponseError):
        asyncio.run(alist())
    with pytest.raises(LMStudioResponseError):
        LMStudioChatModel(model="loop-model", base_url=server.url).fetch_profile()
    li = _li(server.url).model_copy(update={"context_window": None})
    assert li.metadata.context_window > 0  # the server could not say: the defaults
    clear_probe_cache()
    with pytest.raises(NoBackendError, match="answered with an error"):
        decide_backend("loop-model", base_url=server.url)
    decision = decide_backend("loop-model", base_url=server.url, fallback="openai:gpt-4o-mini")
    assert decision.target == "cloud"
    clear_probe_cache()


def _embeddings(vectors: list[list[float]], *, indexes: list[int] | None = None, **extra: Any) -> Reply:
    order = indexes if indexes is not None else list(range(len(vectors)))
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in zip(order, vectors, strict=True)]
    body = {"object": "list", "data": data, "model": "emb", "usage": {"prompt_tokens": 0, "total_tokens": 0}}
    body.update(extra)
    return Reply(body=json.dumps(body))


TEXTS = ["a", "b", "c"]
EMBED_TIMEOUT = 10.0  # these checks are about shape, not time: no timeout on a loaded machine
BAD_EMBEDDINGS = {
    "no vectors": _embeddings([]),
    "one vector for three texts": _embeddings([[1.0]]),
    "five vectors for three texts": _embeddings([[1.0]] * 5),
    "different lengths": _embeddings([[1.0, 2.0], [1.0], [1.0, 2.0]]),
    "duplicate index": _embeddings([[1.0], [2.0], [3.0]], indexes=[0, 0, 2]),
    "index out of range": _embeddings([[1.0], [2.0], [3.0]], indexes=[0, 1, 5]),
    "NaN": Reply(
        body='{"data": [{"index": 0, "embedding": [NaN]}, {"index": 1, "embedding": [1]}, '
        '{"index": 2, "embedding": [1]}]}'
    ),
    "Infinity": Reply(
        body='{"data": [{"index": 0, "embedding": [Infinity]}, {"index": 1, "embedding": [1]}, '
        '{"index": 2, "embedding": [1]}]}'
    ),
    "negative tokens": _embeddings([[1.0]] * 3, usage={"prompt_tokens": -1, "total_tokens": -1}),
    "empty vector": _embeddings([[], [], []]),
}


def _embed_calls(url: str) -> dict[str, Callable[[], list[list[float]]]]:
    lc = LMStudioEmbeddings(model="emb", base_url=url, timeout=EMBED_TIMEOUT, max_retries=0)
    li = LMStudioEmbedding(model_name="emb", base_url=url, request_timeout=EMBED_TIMEOUT, max_retries=0)

    def client() -> list[list[float]]:
        with LMStudioClient(url, model="emb", timeout=EMBED_TIMEOUT, max_retries=0) as c:
            return c.embed(TEXTS).embeddings

    def aclient() -> list[list[float]]:
        async def main() -> list[list[float]]:
            async with AsyncLMStudioClient(url, model="emb", timeout=EMBED_TIMEOUT, max_retries=0) as c:
                return (await c.embed(TEXTS)).embeddings

        return asyncio.run(main())

    return {
        "client": client,
        "async client": aclient,
        "langchain": lambda: lc.embed_documents(TEXTS),
        "langchain async": lambda: asyncio.run(lc.aembed_documents(TEXTS)),
        "llamaindex": lambda: li.get_text_embedding_batch(TEXTS),
        "llamaindex async": lambda: asyncio.run(li.aget_text_embedding_batch(TEXTS)),
    }


@pytest.mark.parametrize("fault", list(BAD_EMBEDDINGS))
def test_embeddings_must_match_the_texts(server: LoopbackServer, fault: str) -> None:
    """Missing, extra, duplicated, ragged or non-finite vectors: ResponseError through every caller."""
    server.route(*EMBED, BAD_EMBEDDINGS[fault])
    calls = _embed_calls(server.url)
    for call in calls.values():
        with pytest.raises(ResponseError) as info:
            call()
        assert "could not be read" in str(info.value) or "does not match the request" in str(info.value)
    assert server.hits[EMBED] == len(calls)  # one request each, none retried


def test_embeddings_are_reordered_by_index(server: LoopbackServer) -> None:
    """Vectors sent out of order come back in the order of the texts, through every caller."""
    server.route(*EMBED, _embeddings([[3.0], [1.0], [2.0]], indexes=[2, 0, 1]))
    for call in _embed_calls(server.url).values():
        assert call() == [[1.0], [2.0], [3.0]]


def test_models_route_still_lists(server: LoopbackServer) -> None:
    """The checks above leave a well-formed list alone."""
    server.route("GET", "/v1/models", Reply(body=MODELS))
    with LMStudioClient(server.url, api="openai") as client:
        assert [m.id for m in client.list_models()] == ["loop-model"]


def test_langchain_retry_and_fallbacks_see_a_malformed_answer_as_a_model_error(server: LoopbackServer) -> None:
    """with_retry / with_fallbacks limited to langchain-core's model errors handle a deeply nested answer."""
    from langchain_core.exceptions import ModelAPIError, ModelError
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    server.route(*CHAT, _deep_chat_body())
    model = LMStudioChatModel(model="loop-model", base_url=server.url, timeout=TIMEOUT, max_retries=0)
    retried = model.with_retry(
        retry_if_exception_type=(ModelAPIError,), stop_after_attempt=2, wait_exponential_jitter=False
    )
    with pytest.raises(ModelAPIError):
        retried.invoke("hi")
    assert server.hits[CHAT] == 2
    backup = FakeListChatModel(responses=["from the fallback"])
    assert (
        model.with_fallbacks([backup], exceptions_to_handle=(ModelError,)).invoke("hi").content == "from the fallback"
    )
