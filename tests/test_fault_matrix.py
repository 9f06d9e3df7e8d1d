"""The fault matrix: every failure a local server produces, through every caller.

Callers: the sync and async clients and both adapters (LangChain ``invoke``/``stream``/
``ainvoke``/``astream``, LlamaIndex ``chat``/``stream_chat``/``achat``/``astream_chat``), each
against a real loopback server scripted to fail. For every cell: the error class, that its
message names a cause and a fix, the time taken (bounded by the timeout plus a margin), the
requests made (retries only where safe, never after a stream started), that no partial
answer came back as complete, and that no connection is left open once the caller is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from lmstudio_adapters import (
    APIConnectionError,
    APITimeoutError,
    AsyncLMStudioClient,
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    LMStudioAdapterError,
    LMStudioClient,
    ModelNotFoundError,
    RateLimitError,
    ResponseError,
    ServerError,
    ToolCallError,
)
from lmstudio_adapters._pool import ClientKey, shared_client
from lmstudio_adapters.langchain import LMStudioChatModel
from lmstudio_adapters.llama_index import LMStudioLLM
from tests.loopback import LoopbackServer, Reply, chat_chunk, chat_reply, client_connections, closed_port, sse_reply

CHAT = ("POST", "/v1/chat/completions")
TIMEOUT = 0.5
OK_STREAM = [chat_chunk("Hel"), chat_chunk("lo"), chat_chunk(finish="stop")]


@dataclass
class Fault:
    """One scripted failure and what every caller must see."""

    name: str
    replies: list[Reply]
    error: type[Exception] | None  # None: the call succeeds (after retries)
    words: tuple[str, ...] = ()
    requests: int | None = 1  # requests the server must have seen (None: not checked)
    streaming_only: bool = False
    plain_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


FAULTS = [
    Fault("close before answer", [Reply(close_before_answer=True)], APIConnectionError, ("broke off",), requests=2),
    Fault(
        "stall before first byte", [Reply(delay=3, body=chat_reply())], APITimeoutError, ("did not answer", "timeout")
    ),
    Fault("400", [Reply(status=400, body={"error": "'messages' field is required"})], BadRequestError, ("required",)),
    Fault(
        "404 model not found",
        [Reply(status=404, body={"error": {"message": 'Model "x" not found', "code": "model_not_found"}})],
        ModelNotFoundError,
        ("loop-model", "LM_STUDIO_MODEL"),
    ),
    Fault("413", [Reply(status=413, body={"error": "payload too large"})], BadRequestError, ("too large",)),
    Fault("422", [Reply(status=422, body={"detail": "unprocessable"})], BadRequestError, ("HTTP 422",)),
    Fault(
        "429 with Retry-After",
        [Reply(status=429, body={"error": "busy"}, headers={"Retry-After": "0.05"})],
        RateLimitError,
        ("slow down",),
        requests=2,
    ),
    Fault(
        "429 without Retry-After", [Reply(status=429, body={"error": "busy"})], RateLimitError, ("busy",), requests=2
    ),
    Fault("500", [Reply(status=500, body={"error": "boom"})], ServerError, ("server log",), requests=2),
    Fault(
        "503 then success",
        [Reply(status=503, body={"error": "loading"}), Reply(body=chat_reply("ok"))],
        None,
        requests=2,
        plain_only=True,
    ),
    Fault(
        "503 then success (stream)",
        [Reply(status=503, body={"error": "loading"}), sse_reply(OK_STREAM)],
        None,
        requests=2,
        streaming_only=True,
    ),
    Fault(
        "401",
        [Reply(status=401, body={"error": {"code": "invalid_api_key", "message": "token"}})],
        AuthenticationError,
        ("LM_STUDIO_API_KEY",),
    ),
    Fault(
        "HTML",
        [Reply(body="<html>proxy</html>", content_type="text/html")],
        ResponseError,
        ("could not be read",),
        plain_only=True,
    ),
    Fault(
        "truncated JSON",
        [Reply(body='{"id":"x","choices":[{"message":')],
        ResponseError,
        ("could not be read",),
        plain_only=True,
    ),
    Fault(
        "error with HTTP 200",
        [Reply(body={"error": "Unexpected endpoint or method. (POST /v1/chat/completions)"})],
        BadRequestError,
        ("LM_STUDIO_URL",),
        plain_only=True,
    ),
    Fault(
        "context overflow",
        [Reply(status=400, body={"error": "Trying to keep the first 5000 tokens when context the overflows."})],
        ContextLengthError,
        ("Shorten",),
    ),
    Fault(
        "reset mid-stream",
        [sse_reply([chat_chunk("a"), chat_chunk("b"), chat_chunk("c")], reset_after=2)],
        APIConnectionError,
        ("broke off",),
        streaming_only=True,
    ),
    Fault(
        "stall mid-stream",
        [sse_reply([chat_chunk("a"), chat_chunk("b")], stall_after=2)],
        APITimeoutError,
        ("did not answer",),
        streaming_only=True,
    ),
    Fault(
        "malformed SSE line",
        [sse_reply([chat_chunk("a"), "data: {oops"])],
        ResponseError,
        ("not a valid chunk",),
        streaming_only=True,
    ),
    Fault(
        "error event",
        [sse_reply([chat_chunk("a"), 'event: error\ndata: {"error":{"message":"boom"}}'])],
        ResponseError,
        ("middle of the stream", "discarded"),
        streaming_only=True,
    ),
    Fault(
        "no [DONE]",
        [sse_reply([chat_chunk("partial")], done=False)],
        ResponseError,
        ("incomplete",),
        streaming_only=True,
    ),
    Fault(
        "partial UTF-8 across chunks",
        [
            Reply(
                raw_chunks=[
                    b'data: {"choices":[{"index":0,"delta":{"content":"caf\xc3',
                    b'\xa9"}}]}\n\n',
                    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
                ],
                content_type="text/event-stream",
                chunk_delay=0.02,
            )
        ],
        None,
        streaming_only=True,
    ),
    Fault("slow first request (JIT load)", [Reply(delay=0.3, body=chat_reply("loaded"))], None, plain_only=True),
]


def _messages_lc() -> list[Any]:
    return [HumanMessage("hi")]


def _messages_li() -> list[Any]:
    return [ChatMessage(role="user", content="hi")]


def _client_chat(url: str) -> Any:
    with LMStudioClient(url, model="loop-model", timeout=TIMEOUT, max_retries=1) as client:
        return client.chat([{"role": "user", "content": "hi"}]).message.content


def _client_stream(url: str) -> Any:
    with (
        LMStudioClient(url, model="loop-model", timeout=TIMEOUT, max_retries=1) as client,
        client.stream_chat([{"role": "user", "content": "hi"}]) as stream,
    ):
        return "".join(c.choices[0].delta.content for c in stream if c.choices)


def _aclient_chat(url: str) -> Any:
    async def main() -> Any:
        async with AsyncLMStudioClient(url, model="loop-model", timeout=TIMEOUT, max_retries=1) as client:
            return (await client.chat([{"role": "user", "content": "hi"}])).message.content

    return asyncio.run(main())


def _aclient_stream(url: str) -> Any:
    async def main() -> Any:
        async with AsyncLMStudioClient(url, model="loop-model", timeout=TIMEOUT, max_retries=1) as client:
            stream = await client.stream_chat([{"role": "user", "content": "hi"}])
            async with stream:
                return "".join([c.choices[0].delta.content async for c in stream if c.choices])

    return asyncio.run(main())


def _lc(url: str) -> LMStudioChatModel:
    return LMStudioChatModel(model="loop-model", base_url=url, timeout=TIMEOUT, max_retries=1)


def _li(url: str) -> LMStudioLLM:
    return LMStudioLLM(
        model="loop-model",
        base_url=url,
        request_timeout=TIMEOUT,
        max_retries=1,
        context_window=4096,
        is_function_calling_model=True,
    )


CALLERS: dict[str, tuple[bool, Callable[[str], Any]]] = {
    "client.chat": (False, _client_chat),
    "client.stream_chat": (True, _client_stream),
    "async client.chat": (False, _aclient_chat),
    "async client.stream_chat": (True, _aclient_stream),
    "langchain invoke": (False, lambda url: _lc(url).invoke(_messages_lc()).content),
    "langchain stream": (True, lambda url: "".join(str(c.content) for c in _lc(url).stream(_messages_lc()))),
    "langchain ainvoke": (False, lambda url: asyncio.run(_lc(url).ainvoke(_messages_lc())).content),
    "langchain astream": (True, lambda url: asyncio.run(_collect(_lc(url).astream(_messages_lc())))),
    "llamaindex chat": (False, lambda url: _li(url).chat(_messages_li()).message.content),
    "llamaindex stream_chat": (True, lambda url: [r.message.content for r in _li(url).stream_chat(_messages_li())][-1]),
    "llamaindex achat": (False, lambda url: asyncio.run(_li(url).achat(_messages_li())).message.content),
    "llamaindex astream_chat": (True, lambda url: asyncio.run(_li_astream(url))),
}


async def _collect(stream: Any) -> str:
    return "".join([str(chunk.content) async for chunk in stream])


async def _li_astream(url: str) -> str:
    last = ""
    async for response in await _li(url).astream_chat(_messages_li()):
        last = response.message.content or ""
    return last


CASES = [
    pytest.param(fault, caller, id=f"{fault.name}-{caller}")
    for fault in FAULTS
    for caller, (streaming, _) in CALLERS.items()
    if not (fault.streaming_only and not streaming) and not (fault.plain_only and streaming)
]


def _release_shared_pool(url: str) -> None:
    # The adapters share one pool per configuration; close it so open connections can be counted.
    from lmstudio_adapters import _pool
    from lmstudio_adapters._config import DEFAULT_MAX_CONNECTIONS

    key = ClientKey(base_url=url, api_key=None, timeout=TIMEOUT, max_retries=1, max_connections=DEFAULT_MAX_CONNECTIONS)
    shared_client(key).close()
    _pool._sync.pop(key, None)


@pytest.mark.parametrize(("fault", "caller"), CASES)
def test_fault(server: LoopbackServer, fault: Fault, caller: str) -> None:
    """The caller raises the typed error (or succeeds), in bounded time, with no connection left open."""
    server.route(*CHAT, *fault.replies)
    call = CALLERS[caller][1]
    start = time.monotonic()
    result: Any = None
    if fault.error is None:
        result = call(server.url)
    else:
        with pytest.raises(fault.error) as info:
            result = call(server.url)
        assert isinstance(info.value, LMStudioAdapterError)
        text = str(info.value)
        for word in fault.words:
            assert word in text, text
    elapsed = time.monotonic() - start
    assert elapsed < TIMEOUT * 4 + 3, f"took {elapsed:.2f} s"  # a hang would take far longer; not a speed figure
    if fault.error is not None:
        assert result is None  # nothing partial came back as if complete
    else:
        assert result in ("ok", "Hello", "café", "loaded")
    if fault.requests is not None:
        assert server.hits[CHAT] == fault.requests
    _release_shared_pool(server.url)
    assert client_connections(server.server_address[1]) == 0


@pytest.mark.parametrize("caller", list(CALLERS))
def test_refused_connection(caller: str) -> None:
    """Nothing listening: APIConnectionError naming the URL and how to start LM Studio, for every caller."""
    with closed_port() as url:
        with pytest.raises(APIConnectionError) as info:
            CALLERS[caller][1](url)
        assert "lms server start" in str(info.value)
        _release_shared_pool(url)


def test_tool_arguments_never_valid_json(server: LoopbackServer) -> None:
    """A tool call whose arguments never parse is an invalid tool call, streamed or not, never a valid one."""
    broken = [
        chat_chunk(
            tool_calls=[{"index": 0, "id": "7", "type": "function", "function": {"name": "add", "arguments": "{"}}]
        ),
        chat_chunk(tool_calls=[{"index": 0, "function": {"arguments": "oops, not json"}}]),
        chat_chunk(finish="tool_calls"),
    ]
    server.route(
        *CHAT,
        sse_reply(broken),
        Reply(
            body=chat_reply(
                "", tool_calls=[{"id": "7", "type": "function", "function": {"name": "add", "arguments": "{not json"}}]
            )
        ),
    )
    llm = _lc(server.url)
    merged = None
    for chunk in llm.stream(_messages_lc()):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    assert merged.tool_calls == []
    assert merged.invalid_tool_calls[0]["name"] == "add"
    assert merged.invalid_tool_calls[0]["args"].startswith("{oops, not json")
    message = llm.invoke(_messages_lc())
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["args"] == "{not json"
    assert "not a JSON object" in message.invalid_tool_calls[0]["error"]
    li = _li(server.url)
    server.route(*CHAT, sse_reply(broken))
    last = list(li.stream_chat(_messages_li()))[-1]
    with pytest.raises(ToolCallError, match="not a JSON object"):
        li.get_tool_calls_from_response(last)
    _release_shared_pool(server.url)


def test_keyboard_interrupt_during_sync_stream(server: LoopbackServer) -> None:
    """Ctrl-C while reading a stream closes its connection; the client stays usable."""
    server.route(
        *CHAT,
        sse_reply([chat_chunk(str(i)) for i in range(50)] + [chat_chunk(finish="stop")], chunk_delay=0.01),
        Reply(body=chat_reply("after")),
    )

    def interrupted_read(client: LMStudioClient) -> None:
        for _chunk in client.stream_chat([{"role": "user", "content": "hi"}]):
            raise KeyboardInterrupt

    with LMStudioClient(server.url, model="loop-model") as client:
        with pytest.raises(KeyboardInterrupt):
            interrupted_read(client)
        assert client.chat([{"role": "user", "content": "hi"}]).message.content == "after"
    assert server.wait_idle() == 0


def test_break_out_of_adapter_streams(server: LoopbackServer) -> None:
    """Breaking out of LangChain and LlamaIndex streams closes the connection at once."""
    long = sse_reply([chat_chunk(str(i)) for i in range(100)] + [chat_chunk(finish="stop")], chunk_delay=0.01)
    server.route(*CHAT, long)
    for chunk in _lc(server.url).stream(_messages_lc()):
        if chunk.content:
            break
    for _response in _li(server.url).stream_chat(_messages_li()):
        break
    assert server.wait_idle() == 0
    _release_shared_pool(server.url)


def test_cancel_adapter_astream(server: LoopbackServer) -> None:
    """Cancelling a task that reads a LangChain astream releases the connection."""
    server.route(
        *CHAT, sse_reply([chat_chunk(str(i)) for i in range(100)] + [chat_chunk(finish="stop")], chunk_delay=0.02)
    )

    async def main() -> None:
        async def consume() -> None:
            async for _chunk in _lc(server.url).astream(_messages_lc()):
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert server.wait_idle() == 0
