"""Bad input from the user, through the client and both adapters: a typed error, nothing sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.messages import ChatMessage as LCChatMessage
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, ImageBlock

from lmstudio_adapters import (
    APIStatusError,
    AsyncLMStudioClient,
    ClientClosedError,
    ConfigError,
    InputError,
    LMStudioClient,
    LMStudioSettings,
    ResponseError,
    decide_backend,
)
from lmstudio_adapters._checks import MAX_TIMEOUT
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM
from tests.loopback import LoopbackServer, Reply

NOT_AN_IMAGE = "data:text/plain;base64,aGVsbG8="
BAD_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}


def lc(url: str, **kwargs: Any) -> LMStudioChatModel:
    return LMStudioChatModel(model="loop-model", base_url=url, **kwargs)


def li(url: str, **kwargs: Any) -> LMStudioLLM:
    return LMStudioLLM(model="loop-model", base_url=url, context_window=4096, is_function_calling_model=True, **kwargs)


BAD_CALLS: list[tuple[str, Callable[[str], Any], str]] = [
    ("client: empty messages", lambda url: LMStudioClient(url).chat([]), "messages is empty"),
    ("client: unknown role", lambda url: LMStudioClient(url).chat([{"role": "wizard", "content": "x"}]), "role"),
    (
        "client: negative max_tokens",
        lambda url: LMStudioClient(url).chat([{"role": "user", "content": "x"}], max_tokens=-3),
        "max_tokens=-3",
    ),
    (
        "client: unknown keyword",
        lambda url: LMStudioClient(url).chat([{"role": "user", "content": "x"}], tempreature=1),
        "extra_body",
    ),
    ("langchain: empty messages", lambda url: lc(url).invoke([]), "messages is empty"),
    ("langchain: unknown role", lambda url: lc(url).invoke([LCChatMessage(content="x", role="wizard")]), "'wizard'"),
    (
        "langchain: not an image",
        lambda url: lc(url).invoke([HumanMessage(content=[{"type": "image_url", "image_url": {"url": NOT_AN_IMAGE}}])]),
        "not an image",
    ),
    (
        "langchain: tool schema not JSON Schema",
        lambda url: lc(url).bind_tools([BAD_TOOL]).invoke("x"),
        "JSON Schema object",
    ),
    ("langchain: negative max_tokens", lambda url: lc(url, max_tokens=-5).invoke("x"), "max_tokens=-5"),
    (
        "langchain: embeddings of token ids",
        lambda url: LMStudioEmbeddings(model="e", base_url=url).embed_documents([[1, 2]]),
        "only strings",
    ),  # type: ignore[list-item]
    ("llamaindex: empty messages", lambda url: li(url).chat([]), "messages is empty"),
    (
        "llamaindex: not an image",
        lambda url: li(url).chat([ChatMessage(role="user", blocks=[ImageBlock(url=NOT_AN_IMAGE)])]),
        "not an image",
    ),
    ("llamaindex: negative max_tokens", lambda url: li(url, max_tokens=-5).complete("x"), "max_tokens"),
    (
        "llamaindex: image bytes that are not an image",
        lambda url: li(url).chat(
            [ChatMessage(role="user", blocks=[ImageBlock(image=b"just some text", image_mimetype="image/png")])]
        ),
        "not a PNG",
    ),
    (
        "client: image data URL that is not an image",
        lambda url: LMStudioClient(url).chat(
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}],
                }
            ]
        ),
        "not a PNG",
    ),
]


@pytest.mark.parametrize(("case", "call", "words"), BAD_CALLS, ids=[case for case, _, _ in BAD_CALLS])
def test_bad_call(server: LoopbackServer, case: str, call: Callable[[str], Any], words: str) -> None:
    """Each bad call raises a typed, explained error and sends nothing."""
    with pytest.raises((InputError, TypeError, ValueError)) as info:
        call(server.url)
    assert words in str(info.value)
    assert [r for r in server.requests if r[1] != "/v1/models"] == []


BAD_ENV = [
    ("LM_STUDIO_TIMEOUT", "abc"),
    ("LM_STUDIO_TIMEOUT", "-1"),
    ("LM_STUDIO_URL", "localhost:1234"),
    ("LM_STUDIO_MAX_RETRIES", "x"),
    ("LM_STUDIO_API", "v7"),
    ("LM_STUDIO_PREFER", "sometimes"),
    ("LM_STUDIO_PROBE_TIMEOUT", "0"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_ENV)
@pytest.mark.parametrize(
    "factory",
    [LMStudioClient, LMStudioChatModel, LMStudioEmbeddings, LMStudioLLM, LMStudioEmbedding],
    ids=lambda f: f.__name__,
)
def test_bad_environment(monkeypatch: pytest.MonkeyPatch, factory: Any, variable: str, value: str) -> None:
    """A bad LM_STUDIO_* value is one ConfigError naming the variable, from every entry point."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        factory()
    assert f"{variable}={value!r} is invalid" in str(info.value)


def test_bad_constructor_url() -> None:
    """A base URL without a scheme is a ConfigError from the adapters too."""
    with pytest.raises(ConfigError, match="not a valid server URL"):
        LMStudioChatModel(base_url="localhost:1234")
    with pytest.raises(ConfigError, match="not a valid server URL"):
        LMStudioLLM(base_url="localhost:1234")


# --- bad arguments refused where they are given ---------------------------------------

BAD_TIMEOUTS = [float("nan"), float("inf"), 1e12, -1, 0]
TIMEOUT_ENTRY_POINTS: list[tuple[str, Callable[[str, Any], Any]]] = [
    ("LMStudioClient", lambda url, t: LMStudioClient(url, timeout=t)),
    ("AsyncLMStudioClient", lambda url, t: AsyncLMStudioClient(url, timeout=t)),
    ("LMStudioChatModel", lambda url, t: lc(url, timeout=t)),
    ("LMStudioChatModel request_timeout", lambda url, t: lc(url, request_timeout=t)),
    ("LMStudioEmbeddings", lambda url, t: LMStudioEmbeddings(model="e", base_url=url, timeout=t)),
    ("LMStudioLLM", lambda url, t: li(url, request_timeout=t)),
    ("LMStudioLLM timeout", lambda url, t: li(url, timeout=t)),
    ("LMStudioEmbedding", lambda url, t: LMStudioEmbedding(model_name="e", base_url=url, request_timeout=t)),
    ("client per call", lambda url, t: LMStudioClient(url).chat([{"role": "user", "content": "x"}], timeout=t)),
    (
        "async client per call",
        lambda url, t: asyncio.run(AsyncLMStudioClient(url).chat([{"role": "user", "content": "x"}], timeout=t)),
    ),
]


@pytest.mark.parametrize(("entry", "make"), TIMEOUT_ENTRY_POINTS, ids=[name for name, _ in TIMEOUT_ENTRY_POINTS])
@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=repr)
def test_bad_timeout(server: LoopbackServer, entry: str, make: Callable[[str, Any], Any], timeout: float) -> None:
    """NaN, infinity, 1e12, 0 and negatives: a ConfigError naming the argument, nothing sent."""
    with pytest.raises(ConfigError, match="timeout") as info:
        make(server.url, timeout)
    assert "is invalid" in str(info.value)
    assert server.requests == []


def test_timeout_limits() -> None:
    """A day is accepted, a second more is not; the same cap holds for LM_STUDIO_TIMEOUT."""
    assert LMStudioClient(timeout=MAX_TIMEOUT).timeout == MAX_TIMEOUT
    with pytest.raises(ConfigError, match="one day"):
        LMStudioClient(timeout=MAX_TIMEOUT + 1)
    assert LMStudioSettings(timeout_ms=int(MAX_TIMEOUT * 1000)).timeout == MAX_TIMEOUT
    with pytest.raises(ConfigError, match="LM_STUDIO_TIMEOUT"):
        LMStudioSettings(timeout_ms=int(MAX_TIMEOUT * 1000) + 1)


@pytest.mark.parametrize("retries", [-1, 2.5, True, "2"], ids=repr)
def test_bad_max_retries(server: LoopbackServer, retries: Any) -> None:
    """Per call and per client, sync and async, adapters too: refused, not rounded; nothing sent."""
    hi = [{"role": "user", "content": "x"}]
    calls: list[Callable[[], Any]] = [
        lambda: LMStudioClient(server.url, max_retries=retries),
        lambda: LMStudioClient(server.url).chat(hi, max_retries=retries),
        lambda: asyncio.run(AsyncLMStudioClient(server.url).chat(hi, max_retries=retries)),
        lambda: LMStudioClient(server.url).list_models(max_retries=retries),
    ]
    if not isinstance(retries, str):  # the frameworks' pydantic fields coerce "2" as they always have
        calls += [lambda: lc(server.url, max_retries=retries), lambda: li(server.url, max_retries=retries)]
    for call in calls:
        with pytest.raises(ConfigError, match="max_retries"):
            call()
    assert server.requests == []


BAD_URLS = [
    ("CRLF inside", "http://127.0.0.1:1234\r\nX-Evil: 1", "control character"),
    ("tab inside", "http://127.0.0.1:12\t34", "control character"),
    ("query", "http://127.0.0.1:1234/v1?api-version=1", "query"),
    ("fragment", "http://127.0.0.1:1234#models", "fragment"),
    ("bad port", "http://127.0.0.1:99999", "port"),
]
URL_ENTRY_POINTS: list[tuple[str, Callable[[str], Any]]] = [
    ("LMStudioClient", lambda url: LMStudioClient(url)),
    ("AsyncLMStudioClient", lambda url: AsyncLMStudioClient(url)),
    ("LMStudioSettings", lambda url: LMStudioSettings(url=url)),
    ("LMStudioChatModel", lambda url: lc(url)),
    ("LMStudioEmbeddings", lambda url: LMStudioEmbeddings(model="e", base_url=url)),
    ("LMStudioLLM", lambda url: li(url)),
    ("LMStudioEmbedding", lambda url: LMStudioEmbedding(model_name="e", base_url=url)),
    ("decide_backend", lambda url: decide_backend("m", base_url=url, fallback="openai:gpt-4o-mini")),
]


@pytest.mark.parametrize(("entry", "make"), URL_ENTRY_POINTS, ids=[name for name, _ in URL_ENTRY_POINTS])
@pytest.mark.parametrize(("case", "url", "words"), BAD_URLS, ids=[case for case, _, _ in BAD_URLS])
def test_bad_base_url(entry: str, make: Callable[[str], Any], case: str, url: str, words: str) -> None:
    """Control characters, a query or fragment, a bad port: a ConfigError naming the argument."""
    with pytest.raises(ConfigError, match=words) as info:
        make(url)
    assert "url" in str(info.value).lower()


def test_trailing_newline_of_url_is_dropped() -> None:
    """A URL read from a file keeps working: surrounding whitespace is not part of it."""
    assert LMStudioClient("http://127.0.0.1:1234/v1\n").base_url == "http://127.0.0.1:1234"


# --- redirects, closed clients, busy discovery ---------------------------------------

HI = [{"role": "user", "content": "x"}]


def redirect_calls(url: str) -> list[tuple[str, Callable[[], Any]]]:
    """One call per path that can meet a redirect."""

    async def async_chat() -> Any:
        async with AsyncLMStudioClient(url, max_retries=0) as client:
            return await client.chat(HI)

    async def async_stream() -> Any:
        async with AsyncLMStudioClient(url, max_retries=0) as client:
            return [chunk async for chunk in await client.stream_chat(HI)]

    async def async_models() -> Any:
        async with AsyncLMStudioClient(url, max_retries=0) as client:
            return await client.list_models()

    return [
        ("chat", lambda: LMStudioClient(url).chat(HI)),
        ("stream_chat", lambda: list(LMStudioClient(url).stream_chat(HI))),
        ("list_models", lambda: LMStudioClient(url).list_models()),
        ("async chat", lambda: asyncio.run(async_chat())),
        ("async stream_chat", lambda: asyncio.run(async_stream())),
        ("async list_models", lambda: asyncio.run(async_models())),
        ("langchain invoke", lambda: lc(url).invoke("x")),
        ("langchain stream", lambda: list(lc(url).stream("x"))),
        ("llamaindex chat", lambda: li(url).chat([ChatMessage(role="user", content="x")])),
    ]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_reported_as_a_redirect(server: LoopbackServer, status: int) -> None:
    """A redirect names its Location and LM_STUDIO_URL, on every path; it is not followed or retried."""
    moved = Reply(status=status, headers={"Location": "https://elsewhere.example/v1/x"}, body="")
    for path in ("/v1/chat/completions", "/v1/models", "/api/v1/models", "/api/v0/models"):
        server.route("POST" if "chat" in path else "GET", path, moved)
    for name, call in redirect_calls(server.url):
        before = len(server.requests)
        with pytest.raises(APIStatusError) as info:
            call()
        message = str(info.value)
        assert "redirect" in message, name
        assert "https://elsewhere.example/v1/x" in message, name
        assert "LM_STUDIO_URL" in message, name
        assert info.value.status_code == status, name
        assert not info.value.is_retryable
        assert len(server.requests) - before == 1, f"{name}: {server.requests[before:]}"


def test_redirect_loop_of_a_users_http_client(server: LoopbackServer) -> None:
    """httpx.Client(follow_redirects=True) against a loop: a typed error naming the redirect, sync and async."""
    server.route("POST", "/v1/chat/completions", Reply(status=307, headers={"Location": "/v1/chat/completions"}))
    with httpx.Client(follow_redirects=True, max_redirects=3) as http:
        client = LMStudioClient(server.url, http_client=http, max_retries=0)
        with pytest.raises(ResponseError, match="redirected") as info:
            client.chat(HI)
    assert "LM_STUDIO_URL" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.TooManyRedirects)

    async def run_async() -> None:
        async with httpx.AsyncClient(follow_redirects=True, max_redirects=3) as http:
            client = AsyncLMStudioClient(server.url, http_client=http, max_retries=0)
            await client.chat(HI)

    with pytest.raises(ResponseError, match="redirected"):
        asyncio.run(run_async())


def test_closed_clients_say_so(server: LoopbackServer) -> None:
    """A call on a closed client, or with a closed http_client, is a ClientClosedError (a RuntimeError)."""
    client = LMStudioClient(server.url)
    client.close()
    with pytest.raises(ClientClosedError, match="closed"):
        client.chat(HI)
    http = httpx.Client()
    http.close()
    with pytest.raises(ClientClosedError, match="http_client"):
        LMStudioClient(server.url, http_client=http).chat(HI)

    async def run_async() -> None:
        client = AsyncLMStudioClient(server.url)
        await client.aclose()
        with pytest.raises(ClientClosedError, match="closed"):
            await client.chat(HI)
        http = httpx.AsyncClient()
        await http.aclose()
        with pytest.raises(ClientClosedError, match="http_client"):
            await AsyncLMStudioClient(server.url, http_client=http).chat(HI)

    asyncio.run(run_async())
    assert issubclass(ClientClosedError, RuntimeError)
    assert server.requests == []


@pytest.mark.parametrize("status", [503, 429])
def test_busy_server_during_model_discovery(server: LoopbackServer, status: int) -> None:
    """A 503 or 429 while finding the model API is a retryable error with its status, not 'bad request'."""
    busy = Reply(status=status, body={"error": "busy"})
    for path in ("/api/v1/models", "/api/v0/models", "/v1/models"):
        server.route("GET", path, busy)
    with pytest.raises(APIStatusError) as info:
        LMStudioClient(server.url, max_retries=1).list_models()
    assert info.value.status_code == status
    assert info.value.is_retryable
    assert "bad request" not in str(info.value).lower()
    assert server.hits[("GET", "/api/v1/models")] == 2  # retried, then reported
    assert server.hits[("GET", "/api/v0/models")] == 0  # not taken as "no such route"

    async def run_async() -> None:
        async with AsyncLMStudioClient(server.url, max_retries=0) as client:
            await client.list_models()

    with pytest.raises(APIStatusError) as async_info:
        asyncio.run(run_async())
    assert async_info.value.status_code == status


def test_discovery_still_skips_missing_routes(server: LoopbackServer) -> None:
    """Old servers answer 404 on the native routes: discovery still falls back to /v1/models."""
    server.route("GET", "/api/v1/models", Reply(status=404, body="Cannot GET /api/v1/models", content_type="text/html"))
    server.route("GET", "/api/v0/models", Reply(status=404, body={"error": "Unexpected endpoint or method."}))
    with LMStudioClient(server.url) as client:
        assert [model.id for model in client.list_models()] == ["loop-model"]
        assert client.detected_api == "openai"
