"""The connection limit: a default that does not throttle parallel streams, one setting for every
entry point (environment, both clients, the four framework classes), and a queue wait that is not
the request's own timeout.

Real HTTP to a loopback server; no timing is asserted (the delays only make requests overlap).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from lmstudio_adapters import AsyncLMStudioClient, ConfigError, LMStudioClient, LMStudioSettings
from lmstudio_adapters._core import POOL_TIMEOUT
from lmstudio_adapters._errors import APITimeoutError
from lmstudio_adapters._mapping import map_transport_errors
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM
from tests.loopback import Reply, chat_chunk, chat_reply, serve, sse_reply

MESSAGES = [{"role": "user", "content": "hi"}]
FRAMEWORK_CLASSES = [
    (LMStudioChatModel, "model"),
    (LMStudioEmbeddings, "model"),
    (LMStudioLLM, "model"),
    (LMStudioEmbedding, "model_name"),
]


def test_default_limit_is_the_openai_sdks() -> None:
    """1000 connections, as the OpenAI SDK (and so ChatOpenAI and OpenAILike) allows."""
    assert LMStudioSettings().max_connections == 1000
    with LMStudioClient("http://127.0.0.1:9") as client:
        assert client.max_connections == 1000


def test_environment_sets_the_limit_for_clients_and_framework_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_MAX_CONNECTIONS reaches both clients and the shared client of every framework class."""
    monkeypatch.setenv("LM_STUDIO_MAX_CONNECTIONS", "7")
    assert LMStudioClient("http://127.0.0.1:9").max_connections == 7
    assert AsyncLMStudioClient("http://127.0.0.1:9").max_connections == 7
    for cls, model_field in FRAMEWORK_CLASSES:
        instance = cls(**{model_field: "m", "base_url": "http://127.0.0.1:9"})
        assert instance.client.max_connections == 7, cls.__name__
        assert instance.async_client.max_connections == 7, cls.__name__


@pytest.mark.parametrize(("cls", "model_field"), FRAMEWORK_CLASSES)
def test_constructor_argument_wins_and_keys_the_shared_client(cls: type, model_field: str) -> None:
    """max_connections= is part of the shared-client key: a different limit, a different pool."""
    base = {model_field: "m", "base_url": "http://127.0.0.1:9"}
    limited = cls(**base, max_connections=3)
    assert limited.client.max_connections == 3
    assert limited.async_client.max_connections == 3
    assert cls(**base).client is not limited.client
    assert cls(**base, max_connections=3).client is limited.client


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "10"])
def test_invalid_limit_is_a_config_error(value: object) -> None:
    with pytest.raises(ConfigError, match="max_connections="):
        LMStudioClient("http://127.0.0.1:9", max_connections=value)  # type: ignore[arg-type]


def test_invalid_environment_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LM_STUDIO_MAX_CONNECTIONS", "0")
    with pytest.raises(ConfigError, match="LM_STUDIO_MAX_CONNECTIONS='0' is invalid"):
        LMStudioSettings()


async def _parallel_chats(client: AsyncLMStudioClient, count: int) -> list[str]:
    replies = await asyncio.gather(*(client.chat(MESSAGES) for _ in range(count)))
    return [reply.message.content for reply in replies]


def test_default_limit_lets_parallel_requests_open_their_own_connections() -> None:
    """Twelve overlapping requests use twelve sockets at once: nothing queues by default."""
    with serve() as server:
        server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("ok"), delay=0.3))
        client = AsyncLMStudioClient(server.url, model="loop-model", max_retries=0)
        assert asyncio.run(_parallel_chats(client, 12)) == ["ok"] * 12
        assert server.peak_connections == 12


def test_a_small_limit_queues_requests_and_all_complete() -> None:
    """max_connections=2: never more than two sockets, and every request is still served."""
    with serve() as server:
        server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("ok"), delay=0.2))
        client = AsyncLMStudioClient(server.url, model="loop-model", max_retries=0, max_connections=2)
        assert asyncio.run(_parallel_chats(client, 6)) == ["ok"] * 6
        assert server.peak_connections == 2


def test_waiting_for_a_connection_does_not_use_up_the_request_timeout() -> None:
    """One connection, timeout 1 s: a stream holds it for 1.5 s (a chunk every 0.25 s, so its own
    reads never time out); a chat queued behind it waits those 1.5 s, then succeeds.

    With the queue wait bounded by the request timeout (httpx's default) the chat fails with
    a pool timeout before it is sent.
    """
    with serve() as server:
        chunks = [chat_chunk("tok ") for _ in range(6)] + [chat_chunk(finish="stop")]
        server.route("POST", "/v1/chat/completions", sse_reply(chunks, chunk_delay=0.25), Reply(body=chat_reply("ok")))
        client = AsyncLMStudioClient(server.url, model="loop-model", timeout=1.0, max_retries=0, max_connections=1)

        async def main() -> tuple[str, str]:
            async def stream() -> str:
                text = ""
                async with await client.stream_chat(MESSAGES) as events:
                    async for chunk in events:
                        text += chunk.choices[0].delta.content if chunk.choices else ""
                return text

            async def queued() -> str:
                await asyncio.sleep(0.1)  # the stream has the connection by now
                return (await client.chat(MESSAGES)).message.content

            streamed, answered = await asyncio.gather(stream(), queued())
            await client.aclose()
            return streamed, answered

        assert asyncio.run(main()) == ("tok " * 6, "ok")
        assert server.peak_connections == 1


def test_pool_timeout_is_never_shorter_than_the_request_timeout() -> None:
    with LMStudioClient("http://127.0.0.1:9", timeout=900) as client:
        assert client._timeouts().pool == 900
    with LMStudioClient("http://127.0.0.1:9", timeout=2) as client:
        assert client._timeouts().pool == POOL_TIMEOUT
        assert client._timeouts().read == 2


def test_a_pool_timeout_names_the_limit_and_the_fix() -> None:
    """When every connection stays busy, the error says so and how to raise the limit."""
    with (
        pytest.raises(APITimeoutError, match=r"all 4 of this client's connections stayed busy") as info,
        map_transport_errors(
            method="POST",
            url="http://127.0.0.1:9/v1/chat/completions",
            base_url="http://127.0.0.1:9",
            timeout=2,
            timeout_source="timeout=2",
            max_connections=4,
        ),
    ):
        raise httpx.PoolTimeout("no free connection")
    assert "LM_STUDIO_MAX_CONNECTIONS" in str(info.value)


def test_llama_index_embedding_batches_like_the_langchain_class() -> None:
    """64 texts per request by default in both frameworks: 2,000 chunks in 32 requests, not 200."""
    from lmstudio_adapters.langchain import LMStudioEmbeddings as LangChainEmbeddings

    embedding = LMStudioEmbedding(model_name="e", base_url="http://127.0.0.1:9")
    assert embedding.embed_batch_size == LangChainEmbeddings(model="e", base_url="http://127.0.0.1:9").batch_size == 64
    assert LMStudioEmbedding(model_name="e", base_url="http://127.0.0.1:9", embed_batch_size=8).embed_batch_size == 8
