"""Hostile servers, time: every call ends near its deadline whatever the server does (issue 17).

Each script misbehaves for ``MISBEHAVE_FOR`` (12 s), far past the callers' 0.5 s timeout;
the hang guard (timeout x 4 + 3 s) fails a call that is bounded only by the server quitting.
It is a hang guard, not a speed figure. Every caller of the fault matrix is run: the sync
and async clients, LangChain ``invoke``/``stream``/``ainvoke``/``astream``, LlamaIndex
``chat``/``stream_chat``/``achat``/``astream_chat``.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import struct
import time
from collections.abc import Callable

import httpx
import pytest

from lmstudio_adapters import (
    APIConnectionError,
    APITimeoutError,
    AsyncLMStudioClient,
    LMStudioClient,
    RateLimitError,
)
from lmstudio_adapters._limits import DRAIN_SECONDS
from lmstudio_adapters._retry import MAX_RETRY_DELAY, backoff_delay, parse_retry_after
from lmstudio_adapters._selector import clear_probe_cache, probe
from tests.hostile import HEAD_SSE, Hostile, head_json, hostile_server, send, trickle
from tests.loopback import LoopbackServer, Reply, chat_reply
from tests.test_fault_matrix import CALLERS, TIMEOUT, _release_shared_pool

CHAT = "/v1/chat/completions"
HANG_GUARD = TIMEOUT * 4 + 3
EMPTY_DELTA = b'data: {"choices":[{"index":0,"delta":{"content":""}}]}\n\n'
HELLO = b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n'
DONE = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


def _trickled_body(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, head_json(100_000))
    trickle(conn, server, b" ")


def _trickled_head(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ")
    trickle(conn, server, b"x")


def _continue_flood(conn: socket.socket, path: str, server: Hostile) -> None:
    trickle(conn, server, b"HTTP/1.1 100 Continue\r\n\r\n", every=0.005)


def _comments_forever(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, HEAD_SSE)
    trickle(conn, server, b": ping\n\n", every=0.05)


def _empty_deltas_forever(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, HEAD_SSE)
    trickle(conn, server, EMPTY_DELTA, every=0.05)


def _content_then_comments(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, HEAD_SSE + HELLO)
    trickle(conn, server, b": ping\n\n", every=0.05)


# name -> (script, streaming callers only)
STALLS: dict[str, tuple[Callable[[socket.socket, str, Hostile], None], bool]] = {
    "trickled body": (_trickled_body, False),
    "trickled head": (_trickled_head, False),
    "100 Continue flood": (_continue_flood, False),
    "keep-alive comments forever": (_comments_forever, False),
    "empty deltas forever": (_empty_deltas_forever, True),
    "content, then only comments": (_content_then_comments, True),
}


@pytest.mark.parametrize(
    ("stall", "caller"),
    [
        pytest.param(stall, caller, id=f"{stall}-{caller}")
        for stall, (_, streaming_only) in STALLS.items()
        for caller, (streaming, _) in CALLERS.items()
        if streaming or not streaming_only
    ],
)
def test_call_ends_near_its_timeout(stall: str, caller: str) -> None:
    """APITimeoutError within the hang guard, one request (a slow answer is never sent again)."""
    with hostile_server(STALLS[stall][0]) as server:
        start = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            CALLERS[caller][1](server.url)
        elapsed = time.monotonic() - start
        assert elapsed < HANG_GUARD, f"took {elapsed:.2f} s"
        assert "did not answer within 0.5 s" in str(info.value)
        assert server.count(CHAT) == 1
        _release_shared_pool(server.url)


def _short_body(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, head_json(1000) + b'{"id": "x", "choices": [')


def _reset_after_head(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, head_json(1000) + b'{"id"')
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _chunked_garbage(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    send(conn, b'5\r\n{"id"\r\nzz-not-a-size\r\n')


@pytest.mark.parametrize("script", [_short_body, _reset_after_head, _chunked_garbage], ids=lambda s: s.__name__[1:])
@pytest.mark.parametrize("caller", [name for name, (streaming, _) in CALLERS.items() if not streaming])
def test_no_retry_once_the_answer_started(script: Callable[..., None], caller: str) -> None:
    """An answer that broke after its first bytes is raised, never sent again (max_retries=1 here)."""
    with hostile_server(script) as server:
        start = time.monotonic()
        with pytest.raises(APIConnectionError) as info:
            CALLERS[caller][1](server.url)
        assert time.monotonic() - start < HANG_GUARD
        assert "broke off" in str(info.value)
        assert server.count(CHAT) == 1
        _release_shared_pool(server.url)


def _done_then_comments(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, HEAD_SSE + HELLO + DONE)
    trickle(conn, server, b": ping\n\n", every=0.02)


@pytest.mark.parametrize("caller", [name for name, (streaming, _) in CALLERS.items() if streaming])
def test_drain_after_done_is_bounded_in_time(caller: str) -> None:
    """A server that keeps sending comments after [DONE] cannot hold a finished loop open."""
    with hostile_server(_done_then_comments) as server:
        start = time.monotonic()
        result = CALLERS[caller][1](server.url)
        elapsed = time.monotonic() - start
        assert result == "Hello"
        assert elapsed < DRAIN_SECONDS + HANG_GUARD, f"took {elapsed:.2f} s"
        _release_shared_pool(server.url)


FAR_FUTURE = "Fri, 31 Dec 9999 23:59:59 GMT"
RETRY_AFTER_FORMS = [
    {"Retry-After": "nan"},
    {"Retry-After": "inf"},
    {"Retry-After": "-5"},
    {"Retry-After": "1e400"},
    {"Retry-After": "Sat, 01 Jan 100000 00:00:00 GMT"},
    {"Retry-After": email.utils.formatdate(time.time() - 3600, usegmt=True)},
    {"retry-after-ms": "nan"},
    {"retry-after-ms": "-Infinity"},
    {"retry-after-ms": "garbage", "Retry-After": "nan"},
]


@pytest.mark.parametrize("headers", RETRY_AFTER_FORMS, ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()))
def test_hostile_retry_after_is_parsed_and_capped(server: LoopbackServer, headers: dict[str, str]) -> None:
    """Every Retry-After form gives a bounded wait and a RateLimitError, sync and async (no bare ValueError)."""
    server.route("POST", CHAT, Reply(status=429, body={"error": "busy"}, headers=headers))
    messages = [{"role": "user", "content": "hi"}]
    start = time.monotonic()
    with LMStudioClient(server.url, model="m", timeout=TIMEOUT, max_retries=1) as client, pytest.raises(RateLimitError):
        client.chat(messages)

    async def main() -> None:
        async with AsyncLMStudioClient(server.url, model="m", timeout=TIMEOUT, max_retries=1) as client:
            with pytest.raises(RateLimitError):
                await asyncio.wait_for(client.chat(messages), 30)

    asyncio.run(main())
    # nan/inf/far-future fall back to the jittered backoff (0.5 s); no wait exceeds MAX_RETRY_DELAY.
    assert time.monotonic() - start < 2 * HANG_GUARD
    assert server.hits[("POST", CHAT)] == 4


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": FAR_FUTURE}, MAX_RETRY_DELAY),
        ({"Retry-After": "86400"}, MAX_RETRY_DELAY),
        ({"retry-after-ms": "1e308"}, MAX_RETRY_DELAY),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-Infinity"}, None),
        ({"Retry-After": "-3"}, 0.0),
        ({"retry-after-ms": "nan", "Retry-After": "2"}, 2.0),
        ({"Retry-After": "Sat, 01 Jan 100000 00:00:00 GMT"}, None),
        ({"Retry-After": "Mon, 99 Foo 2020 99:99:99 GMT"}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], wait: float | None) -> None:
    """Far-future and huge waits are capped at MAX_RETRY_DELAY; nan, inf and bad dates count as no wish."""
    parsed = parse_retry_after(httpx.Headers(headers))
    assert parsed == wait
    assert 0 <= backoff_delay(0, parsed) <= MAX_RETRY_DELAY
    assert backoff_delay(0, float("nan")) <= MAX_RETRY_DELAY


def _trickled_models(conn: socket.socket, path: str, server: Hostile) -> None:
    send(conn, head_json(10_000))
    trickle(conn, server, b" ", every=0.2)


def test_probe_and_ping_are_bounded_by_their_timeout() -> None:
    """The selector's probe and ping() give up on a trickling /v1/models after their timeout."""
    clear_probe_cache()
    with hostile_server(_trickled_models) as server:
        start = time.monotonic()
        found = probe(server.url, timeout=0.5)
        assert time.monotonic() - start < HANG_GUARD
        assert not found.reachable
        assert found.problem == "no answer within the probe timeout"
        start = time.monotonic()
        with LMStudioClient(server.url) as client:
            assert client.ping(timeout=0.5) is False

        async def aping() -> bool:
            async with AsyncLMStudioClient(server.url) as aclient:
                return await aclient.ping(timeout=0.5)

        assert asyncio.run(aping()) is False
        assert time.monotonic() - start < 2 * HANG_GUARD
    clear_probe_cache()


def test_given_http_client_still_bounds_the_body() -> None:
    """With the user's own httpx client (whose sockets cannot see the deadline) a trickled body still ends."""
    with hostile_server(_trickled_body) as server, httpx.Client() as http:
        client = LMStudioClient(server.url, model="m", timeout=TIMEOUT, max_retries=0, http_client=http)
        start = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.chat([{"role": "user", "content": "hi"}])
        assert time.monotonic() - start < HANG_GUARD


def test_a_healthy_slow_stream_is_not_cut(server: LoopbackServer) -> None:
    """Progress restarts the deadline: a stream longer than its timeout, with steady chunks, completes."""
    from tests.loopback import chat_chunk, sse_reply

    server.route("POST", CHAT, sse_reply([chat_chunk("x")] * 12 + [chat_chunk(finish="stop")], chunk_delay=0.1))
    with LMStudioClient(server.url, model="m", timeout=TIMEOUT, max_retries=0) as client:
        text = "".join(c.choices[0].delta.content for c in client.stream_chat([{"role": "user", "content": "hi"}]))
    assert text == "x" * 12
    server.route("POST", CHAT, Reply(body=chat_reply("fine")))
    with LMStudioClient(server.url, model="m", timeout=TIMEOUT, max_retries=0) as client:
        assert client.chat([{"role": "user", "content": "hi"}]).message.content == "fine"
