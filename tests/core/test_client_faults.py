"""The clients against real loopback servers that fail on purpose, sync and async.

For each fault: the error class, its message (cause and fix), the time taken, the retries
made and the connections left open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

from lmstudio_adapters import (
    APIConnectionError,
    APITimeoutError,
    AsyncLMStudioClient,
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    LMStudioClient,
    ModelNotFoundError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from tests.loopback import (
    MODELS,
    LoopbackServer,
    Reply,
    chat_chunk,
    chat_reply,
    client_connections,
    closed_port,
    silent_server,
    sse_reply,
)

CHAT = ("POST", "/v1/chat/completions")
HI = [{"role": "user", "content": "hi"}]


def sync_chat(url: str, **kwargs: Any) -> Any:
    with LMStudioClient(url, model="loop-model", **kwargs) as client:
        return client.chat(HI)


def sync_stream(url: str, **kwargs: Any) -> list[Any]:
    with LMStudioClient(url, model="loop-model", **kwargs) as client, client.stream_chat(HI) as stream:
        return list(stream)


async def _async_chat(url: str, **kwargs: Any) -> Any:
    async with AsyncLMStudioClient(url, model="loop-model", **kwargs) as client:
        return await client.chat(HI)


async def _async_stream(url: str, **kwargs: Any) -> list[Any]:
    async with AsyncLMStudioClient(url, model="loop-model", **kwargs) as client:
        stream = await client.stream_chat(HI)
        async with stream:
            return [chunk async for chunk in stream]


def async_chat(url: str, **kwargs: Any) -> Any:
    return asyncio.run(_async_chat(url, **kwargs))


def async_stream(url: str, **kwargs: Any) -> list[Any]:
    return asyncio.run(_async_stream(url, **kwargs))


CALLS = {"sync": sync_chat, "async": async_chat}
STREAMS = {"sync": sync_stream, "async": async_stream}
both = pytest.mark.parametrize("mode", ["sync", "async"])


@both
def test_connection_refused_is_fast_and_explains(mode: str) -> None:
    """A closed port raises APIConnectionError naming the URL and how to start LM Studio."""
    with closed_port() as url:
        start = time.monotonic()
        with pytest.raises(APIConnectionError) as info:
            CALLS[mode](url, max_retries=0)
        assert time.monotonic() - start < 1.0
    assert type(info.value) is APIConnectionError
    assert f"LM Studio is not reachable at {url} (connection refused)" in str(info.value)
    assert "lms server start" in str(info.value)


@both
def test_close_before_answer_is_retried_then_reported(server: LoopbackServer, mode: str) -> None:
    """A connection dropped before any byte is retried (max_retries), then reported."""
    server.route(*CHAT, Reply(close_before_answer=True))
    with pytest.raises(APIConnectionError, match="broke off"):
        CALLS[mode](server.url, max_retries=1)
    assert server.hits[CHAT] == 2
    assert server.wait_idle() == 0


@both
def test_500_then_success(server: LoopbackServer, mode: str) -> None:
    """5xx is retried with backoff and the later success is returned."""
    server.route(
        *CHAT,
        Reply(status=500, body={"error": "boom"}),
        Reply(status=503, body={"error": "busy"}),
        Reply(body=chat_reply("fine")),
    )
    assert CALLS[mode](server.url, max_retries=2).message.content == "fine"
    assert server.hits[CHAT] == 3


@both
def test_429_honours_retry_after(server: LoopbackServer, mode: str) -> None:
    """429 waits the Retry-After the server asked for, then retries."""
    server.route(
        *CHAT, Reply(status=429, body={"error": "slow down"}, headers={"Retry-After": "0.3"}), Reply(body=chat_reply())
    )
    start = time.monotonic()
    assert CALLS[mode](server.url).message.content == "Hello!"
    assert time.monotonic() - start >= 0.3


@both
def test_retries_exhausted_raise_the_last_error(server: LoopbackServer, mode: str) -> None:
    """When every try fails the typed error of the last answer is raised."""
    server.route(*CHAT, Reply(status=429, body={"error": "slow down"}, headers={"retry-after-ms": "10"}))
    with pytest.raises(RateLimitError, match="slow down"):
        CALLS[mode](server.url, max_retries=2)
    assert server.hits[CHAT] == 3
    server.route(*CHAT, Reply(status=503, body={"error": "busy"}, headers={"retry-after-ms": "10"}))
    with pytest.raises(ServerError, match="busy"):
        CALLS[mode](server.url, max_retries=1)


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_client_errors_are_not_retried(server: LoopbackServer, status: int) -> None:
    """4xx answers are raised at once, with the server's own message kept."""
    server.route(*CHAT, Reply(status=status, body={"error": {"message": f"nope {status}"}}))
    with pytest.raises(BadRequestError, match=f"nope {status}") as info:
        sync_chat(server.url)
    assert info.value.status_code == status
    assert server.hits[CHAT] == 1


@both
def test_model_not_found_lists_models(server: LoopbackServer, mode: str) -> None:
    """An unknown model id is reported with the models the server has."""
    server.route(
        *CHAT, Reply(status=404, body={"error": {"message": 'Model "x" not found.', "code": "model_not_found"}})
    )
    with pytest.raises(ModelNotFoundError) as info:
        CALLS[mode](server.url)
    assert info.value.available == ("loop-model",)
    assert "Models the server has: loop-model" in str(info.value)


@both
def test_authentication_required(server: LoopbackServer, mode: str) -> None:
    """401 asks for LM_STUDIO_API_KEY; it is not retried."""
    server.route(*CHAT, Reply(status=401, body={"error": {"code": "invalid_api_key", "message": "token required"}}))
    with pytest.raises(AuthenticationError, match="LM_STUDIO_API_KEY"):
        CALLS[mode](server.url)
    assert server.hits[CHAT] == 1


def test_api_key_is_sent_and_never_logged(server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    """The token goes in the Authorization header and nowhere else: not in logs or errors."""
    server.route(*CHAT, Reply(status=400, body={"error": "bad"}))
    caplog.set_level(logging.DEBUG, logger="lmstudio_adapters")
    with pytest.raises(BadRequestError) as info:
        sync_chat(server.url, api_key="sk-lm-secret:xyz")
    assert server.requests[-1][3]["Authorization"] == "Bearer sk-lm-secret:xyz"
    assert "secret" not in caplog.text
    assert "secret" not in str(info.value)
    assert "secret" not in repr(info.value.__dict__)


@both
def test_stall_before_first_byte_times_out(server: LoopbackServer, mode: str) -> None:
    """A server that never answers is cut at the timeout, with the limit and setting named."""
    server.route(*CHAT, Reply(delay=3, body=chat_reply()))
    start = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        CALLS[mode](server.url, timeout=0.3)
    elapsed = time.monotonic() - start
    assert elapsed < 1.5  # the limit plus a margin: read timeouts are not retried
    assert "did not answer within 0.3 s" in str(info.value)
    assert "timeout=0.3" in str(info.value)
    assert isinstance(info.value, TimeoutError)


@both
def test_stall_mid_stream_times_out(server: LoopbackServer, mode: str) -> None:
    """A stream that stops sending is cut at the timeout and not retried."""
    server.route(*CHAT, sse_reply([chat_chunk("a"), chat_chunk("b")], stall_after=2))
    with pytest.raises(APITimeoutError):
        STREAMS[mode](server.url, timeout=0.3)
    assert server.hits[CHAT] == 1


@both
def test_reset_mid_stream(server: LoopbackServer, mode: str) -> None:
    """A connection reset in the middle of a stream raises and is never retried."""
    server.route(*CHAT, sse_reply([chat_chunk("a"), chat_chunk("b"), chat_chunk("c")], reset_after=2))
    with pytest.raises(APIConnectionError):
        STREAMS[mode](server.url)
    assert server.hits[CHAT] == 1


@both
def test_stream_with_usage_and_reasoning(server: LoopbackServer, mode: str) -> None:
    """A normal stream: content deltas, reasoning kept apart, usage on the last chunk."""
    server.route(
        *CHAT,
        sse_reply(
            [
                chat_chunk(reasoning_content="think "),
                chat_chunk("Hel"),
                chat_chunk("lo"),
                chat_chunk(finish="stop"),
                {"id": "x", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}},
            ]
        ),
    )
    chunks = STREAMS[mode](server.url)
    text = "".join(c.choices[0].delta.content for c in chunks if c.choices)
    reasoning = "".join(c.choices[0].delta.reasoning_content for c in chunks if c.choices)
    assert (text, reasoning) == ("Hello", "think ")
    assert chunks[-1].usage.total_tokens == 5
    assert json.loads(server.requests[-1][2])["stream_options"] == {"include_usage": True}


@both
def test_think_tags_split_in_stream(server: LoopbackServer, mode: str) -> None:
    """Inline <think> blocks (reasoning separation off) are moved out of the answer."""
    server.route(
        *CHAT,
        sse_reply(
            [chat_chunk("<thi"), chat_chunk("nk>plan</th"), chat_chunk("ink>\n\nAnswer"), chat_chunk(finish="stop")]
        ),
    )
    chunks = STREAMS[mode](server.url)
    assert "".join(c.choices[0].delta.content for c in chunks) == "Answer"
    assert "".join(c.choices[0].delta.reasoning_content for c in chunks) == "plan"


STREAM_FAULTS = [
    ("malformed line", [chat_chunk("a"), "data: {not json"], ResponseError, "not a valid chunk"),
    (
        "error event",
        [chat_chunk("a"), 'event: error\ndata: {"error":{"message":"boom"},"message":"boom"}'],
        ResponseError,
        "error in the middle of the stream: boom",
    ),
    (
        "context overflow event (0.4.21)",
        [
            'event: error\ndata: {"error":{"message":"Input does not fit in context '
            'length. The input has 31430 tokens, but the context length only supports 30000 tokens."}}'
        ],
        ContextLengthError,
        "does not fit",
    ),
    (
        "error body line",
        [chat_chunk("a"), {"error": "Error in iterating prediction stream: StopIteration: "}],
        ResponseError,
        "StopIteration",
    ),
]


@pytest.mark.parametrize(("case", "events", "error", "text"), STREAM_FAULTS, ids=[c[0] for c in STREAM_FAULTS])
@both
def test_stream_faults(server: LoopbackServer, mode: str, case: str, events: list[Any], error: type, text: str) -> None:
    """Broken streams raise a typed error; the partial answer is never returned as complete."""
    server.route(*CHAT, sse_reply(events))
    with pytest.raises(error, match=text):
        STREAMS[mode](server.url)
    assert server.wait_idle() == 0


@both
def test_stream_without_done_or_finish(server: LoopbackServer, mode: str) -> None:
    """A stream cut short (no finish_reason, no [DONE]) is incomplete, not a short answer."""
    server.route(*CHAT, sse_reply([chat_chunk("partial")], done=False))
    with pytest.raises(ResponseError, match="ended incomplete"):
        STREAMS[mode](server.url)


def test_empty_stream_is_incomplete(server: LoopbackServer) -> None:
    """200 with zero content deltas (LM Studio's context-overflow quirk) is an error."""
    server.route(*CHAT, sse_reply([]))
    with pytest.raises(ResponseError, match="sent no content"):
        sync_stream(server.url)


def test_utf8_split_across_chunks(server: LoopbackServer) -> None:
    """A UTF-8 character cut between two network chunks is decoded whole."""
    payload = ("data: " + json.dumps(chat_chunk("caf\u00e9 \u2615"), ensure_ascii=False) + "\n\n").encode()
    cut = payload.index("\u2615".encode()) + 1
    done = ("data: " + json.dumps(chat_chunk(finish="stop")) + "\n\ndata: [DONE]\n\n").encode()
    server.route(
        *CHAT,
        Reply(raw_chunks=[payload[:cut], payload[cut:], done], content_type="text/event-stream", chunk_delay=0.05),
    )
    chunks = sync_stream(server.url)
    assert chunks[0].choices[0].delta.content == "caf\u00e9 \u2615"


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        ("<html>oops</html>", ResponseError, "could not be read as ChatCompletion"),
        ('{"id": "x", "choices": [', ResponseError, "could not be read"),
        ({"error": "Unexpected endpoint or method. (POST /v1/chat/completions)"}, BadRequestError, "LM_STUDIO_URL"),
    ],
)
def test_bad_success_bodies(server: LoopbackServer, body: Any, error: type, text: str) -> None:
    """HTML, truncated JSON, or an error hidden in a 200 are typed errors, never a raw parse error."""
    server.route(*CHAT, Reply(body=body))
    with pytest.raises(error, match=text):
        sync_chat(server.url)


def test_slow_first_request_then_fast(server: LoopbackServer) -> None:
    """A first request slowed by just-in-time loading succeeds within the timeout; later ones are fast."""
    server.route(*CHAT, Reply(delay=0.8, body=chat_reply("loaded")), Reply(body=chat_reply("fast")))
    with LMStudioClient(server.url, model="loop-model", timeout=3) as client:
        assert client.chat(HI).message.content == "loaded"
        start = time.monotonic()
        assert client.chat(HI).message.content == "fast"
        assert time.monotonic() - start < 0.5


def test_break_closes_the_connection(server: LoopbackServer) -> None:
    """Breaking out of a stream closes its connection at once."""
    server.route(
        *CHAT, sse_reply([chat_chunk(str(i)) for i in range(50)] + [chat_chunk(finish="stop")], chunk_delay=0.01)
    )
    with LMStudioClient(server.url, model="loop-model") as client:
        for _chunk in client.stream_chat(HI):
            break
        assert server.wait_idle() == 0


def test_cancelling_an_async_stream_closes_it(server: LoopbackServer) -> None:
    """Cancelling the task that reads a stream releases the connection."""
    server.route(
        *CHAT, sse_reply([chat_chunk(str(i)) for i in range(100)] + [chat_chunk(finish="stop")], chunk_delay=0.02)
    )

    async def main() -> None:
        async with AsyncLMStudioClient(server.url, model="loop-model") as client:

            async def consume() -> None:
                stream = await client.stream_chat(HI)
                async for _chunk in stream:
                    pass

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert server.wait_idle() == 0


def test_async_client_survives_a_new_event_loop(server: LoopbackServer) -> None:
    """One async client works across successive event loops (each test loop is fresh)."""
    server.route(*CHAT, Reply(body=chat_reply("again")))
    client = AsyncLMStudioClient(server.url, model="loop-model")
    for _ in range(3):
        assert asyncio.run(client.chat(HI)).message.content == "again"


def test_sync_client_is_thread_safe_and_reuses_connections(server: LoopbackServer) -> None:
    """Many threads share one client and one pool: far fewer connections than requests."""
    from concurrent.futures import ThreadPoolExecutor

    server.route(*CHAT, Reply(body=chat_reply("ok")))
    with LMStudioClient(server.url, model="loop-model") as client, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.chat(HI).message.content, range(64)))
    assert results == ["ok"] * 64
    assert server.accepted <= 8


def test_closed_client_refuses_reuse(server: LoopbackServer) -> None:
    """A closed client says so instead of failing obscurely."""
    client = LMStudioClient(server.url)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.chat(HI)


def test_ping_is_quick_on_silent_host() -> None:
    """ping() answers False within its own short timeout when the host never answers."""
    with silent_server() as url:
        client = LMStudioClient(url, timeout=30)
        start = time.monotonic()
        assert client.ping(timeout=0.3) is False
        assert time.monotonic() - start < 1.0
        client.close()


def test_ping_true_on_server(server: LoopbackServer) -> None:
    """ping() is True when the server lists models."""
    with LMStudioClient(server.url) as client:
        assert client.ping() is True
    assert server.requests[-1][:2] == ("GET", "/v1/models")
    assert MODELS["data"]


def _streams_twice(url: str, mode: str, **kwargs: Any) -> list[list[Any]]:
    if mode == "sync":
        with LMStudioClient(url, model="loop-model", **kwargs) as client:
            return [list(client.stream_chat(HI)) for _ in range(2)]

    async def run() -> list[list[Any]]:
        async with AsyncLMStudioClient(url, model="loop-model", **kwargs) as client:
            results = []
            for _ in range(2):
                results.append([chunk async for chunk in await client.stream_chat(HI)])
            return results

    return asyncio.run(run())


@both
def test_finished_stream_gives_its_connection_back(server: LoopbackServer, mode: str) -> None:
    """After [DONE] the rest of the body is read, so the next call reuses the connection."""
    server.route(*CHAT, sse_reply([chat_chunk("a"), chat_chunk(finish="stop")]))
    results = _streams_twice(server.url, mode)
    assert [[c.choices[0].delta.content for c in chunks] for chunks in results] == [["a", ""]] * 2
    assert server.accepted == 1


@both
def test_server_that_keeps_sending_after_done_is_cut_off(server: LoopbackServer, mode: str) -> None:
    """Bytes after [DONE] are read only up to a bound; the answer stands and nothing hangs."""
    head = ("data: " + json.dumps(chat_chunk("a", finish="stop")) + "\n\ndata: [DONE]\n\n").encode()
    junk = [b": padding " + b"x" * 8000 + b"\n\n"] * 40  # 320 kB, past the drain limit
    server.route(*CHAT, Reply(raw_chunks=[head, *junk], content_type="text/event-stream"))
    start = time.monotonic()
    results = _streams_twice(server.url, mode)
    assert time.monotonic() - start < 5
    assert [[c.choices[0].delta.content for c in chunks] for chunks in results] == [["a"]] * 2
    assert server.accepted == 2  # each over-long body cost its connection


@both
def test_server_that_holds_the_body_open_after_done(server: LoopbackServer, mode: str) -> None:
    """A body left open after [DONE] ends the stream at the read timeout, with the answer intact."""
    head = ("data: " + json.dumps(chat_chunk("a", finish="stop")) + "\n\ndata: [DONE]\n\n").encode()
    server.route(*CHAT, Reply(raw_chunks=[head, b": more\n\n"], stall_after=1, content_type="text/event-stream"))
    start = time.monotonic()
    results = _streams_twice(server.url, mode, timeout=0.5)
    assert time.monotonic() - start < 0.5 * 2 + 3
    assert [[c.choices[0].delta.content for c in chunks] for chunks in results] == [["a"]] * 2
    assert client_connections(server.server_address[1]) == 0
