"""Issue 16, causes 1 and 2: a tool call cut off by max_tokens is never passed off as complete.

A loopback server answers ``{"a": 2`` with ``finish_reason: "length"``, streamed and not.
Every caller (the clients, LangChain invoke/stream, LlamaIndex chat/stream_chat, sync and
async) must see the same thing: no valid call, the call listed as incomplete with a reason
naming max_tokens, and nothing of it sent back to the server in the next turn. Then the
server's "could not parse the model's output" error: not retried at temperature 0.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole

from lmstudio_adapters import (
    AsyncLMStudioClient,
    InputError,
    LMStudioClient,
    ModelOutputError,
    ToolCallAssembler,
    ToolCallError,
)
from lmstudio_adapters._schemas import ToolCallDelta
from lmstudio_adapters.langchain import LMStudioChatModel
from lmstudio_adapters.llama_index import LMStudioLLM
from tests.loopback import LoopbackServer, Reply, chat_chunk, chat_reply, sse_reply

CHAT = ("POST", "/v1/chat/completions")
CUT = '{"a": 2'
WHOLE = '{"a": 2, "b": 3}'


def _cut_reply(*, whole_first: bool = False) -> dict[str, Any]:
    calls = [{"id": "9", "type": "function", "function": {"name": "add", "arguments": CUT}}]
    if whole_first:
        calls.insert(0, {"id": "8", "type": "function", "function": {"name": "add", "arguments": WHOLE}})
    body = chat_reply("", tool_calls=calls)
    body["choices"][0]["finish_reason"] = "length"
    return body


def _cut_stream(*, whole_first: bool = False) -> Reply:
    chunks = []
    if whole_first:
        chunks += [
            chat_chunk(
                tool_calls=[{"index": 0, "id": "8", "type": "function", "function": {"name": "add", "arguments": "{"}}]
            ),
            chat_chunk(tool_calls=[{"index": 0, "function": {"arguments": WHOLE[1:]}}]),
        ]
    index = 1 if whole_first else 0
    chunks += [
        chat_chunk(
            tool_calls=[{"index": index, "id": "9", "type": "function", "function": {"name": "add", "arguments": ""}}]
        ),
        chat_chunk(tool_calls=[{"index": index, "function": {"arguments": '{"a":'}}]),
        chat_chunk(tool_calls=[{"index": index, "function": {"arguments": " 2"}}]),
        chat_chunk(finish="length"),
    ]
    return sse_reply(chunks)


def _serve_cut(server: LoopbackServer, *, streaming: bool, whole_first: bool = False) -> None:
    server.route(
        *CHAT, _cut_stream(whole_first=whole_first) if streaming else Reply(body=_cut_reply(whole_first=whole_first))
    )


def _sent(server: LoopbackServer) -> dict[str, Any]:
    return json.loads(server.requests[-1][2])


# --- the client's own message -----------------------------------------------------------


def test_client_marks_a_cut_call_incomplete(server: LoopbackServer) -> None:
    """client.chat: the call's error names max_tokens; echoing it back raises before anything is sent."""
    _serve_cut(server, streaming=False, whole_first=True)
    with LMStudioClient(server.url, model="loop-model", max_retries=0) as client:
        reply = client.chat([{"role": "user", "content": "add"}], max_tokens=8)
        whole, cut = reply.message.tool_calls
        assert whole.is_complete
        assert whole.error is None
        assert not cut.is_complete
        assert cut.error is not None
        assert "max_tokens" in cut.error
        assert "error" not in cut.model_dump()  # never part of what goes back to the server
        sent_before = len(server.requests)
        history = [
            {"role": "user", "content": "add"},
            {"role": "assistant", "content": "", "tool_calls": [c.model_dump() for c in reply.message.tool_calls]},
        ]
        with pytest.raises(InputError, match="not a JSON object"):
            client.chat(history)
        assert len(server.requests) == sent_before


def test_async_client_marks_a_cut_call_incomplete(server: LoopbackServer) -> None:
    """The async client gives the same marked message."""
    _serve_cut(server, streaming=False)

    async def main() -> Any:
        async with AsyncLMStudioClient(server.url, model="loop-model", max_retries=0) as client:
            return await client.chat([{"role": "user", "content": "add"}], max_tokens=8)

    (call,) = asyncio.run(main()).message.tool_calls
    assert call.error is not None
    assert "max_tokens" in call.error


def test_assembler_gives_the_same_calls_as_a_whole_reply(server: LoopbackServer) -> None:
    """Streamed fragments assembled with ToolCallAssembler: the same calls and errors as client.chat."""
    _serve_cut(server, streaming=False, whole_first=True)
    with LMStudioClient(server.url, model="loop-model", max_retries=0) as client:
        whole = client.chat([{"role": "user", "content": "add"}]).message.tool_calls
        _serve_cut(server, streaming=True, whole_first=True)
        assembler = ToolCallAssembler()
        finish = None
        with client.stream_chat([{"role": "user", "content": "add"}]) as stream:
            for chunk in stream:
                for choice in chunk.choices:
                    assembler.add_all(choice.delta.tool_calls)
                    finish = choice.finish_reason or finish
    streamed = assembler.calls(finish)
    assert [(c.id, c.function.name, c.error is None) for c in streamed] == [
        (c.id, c.function.name, c.error is None) for c in whole
    ]
    assert json.loads(streamed[0].function.arguments) == json.loads(whole[0].function.arguments)
    assert streamed[1].error == whole[1].error


def test_assembler_ignores_repeated_ids_and_names() -> None:
    """A server that repeats the id and name on every fragment still gives one call."""
    assembler = ToolCallAssembler()
    for piece in ('{"a": ', "2}"):
        assembler.add(
            ToolCallDelta.model_validate({"index": 0, "id": "x", "function": {"name": "add", "arguments": piece}})
        )
    (call,) = assembler.calls("tool_calls")
    assert (call.id, call.function.name, call.function.arguments, call.error) == ("x", "add", '{"a": 2}', None)


# --- LangChain --------------------------------------------------------------------------


def _lc(server: LoopbackServer, **kwargs: Any) -> LMStudioChatModel:
    return LMStudioChatModel(model="loop-model", base_url=server.url, max_retries=0, **kwargs)


def _check_lc(message: AIMessage | AIMessageChunk, *, reason: bool = True) -> None:
    assert [c["args"] for c in message.tool_calls] == [{"a": 2, "b": 3}]
    (invalid,) = message.invalid_tool_calls
    assert invalid["name"] == "add"
    assert invalid["id"] == "9"
    assert str(invalid["args"]).startswith(CUT)  # a stream's merge adds a closing bracket, see unparseable_suffix
    if reason:
        assert "max_tokens" in str(invalid["error"])


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


def test_langchain_invoke_and_stream_agree(server: LoopbackServer) -> None:
    """invoke, stream, and invoke with streaming=True all list the cut call as invalid, never as valid."""
    llm = _lc(server)
    _serve_cut(server, streaming=False, whole_first=True)
    _check_lc(llm.invoke([HumanMessage("add")]))
    _serve_cut(server, streaming=True, whole_first=True)
    chunks = list(llm.stream([HumanMessage("add")]))
    _check_lc(_merge(chunks), reason=False)  # LangChain's merge keeps the call, not the reason...
    (finishing,) = [c for c in chunks if c.response_metadata.get("finish_reason")]
    assert finishing.response_metadata["finish_reason"] == "length"
    assert "max_tokens" in str(finishing.invalid_tool_calls[0]["error"])  # ...the finishing chunk has it
    _serve_cut(server, streaming=True, whole_first=True)
    _check_lc(_lc(server, streaming=True).invoke([HumanMessage("add")]), reason=False)  # merged by langchain-core


def test_langchain_async_invoke_and_stream_agree(server: LoopbackServer) -> None:
    """ainvoke and astream: the same."""

    async def main() -> tuple[AIMessage, list[AIMessageChunk], AIMessage]:
        _serve_cut(server, streaming=False, whole_first=True)
        whole = await _lc(server).ainvoke([HumanMessage("add")])
        _serve_cut(server, streaming=True, whole_first=True)
        chunks = [chunk async for chunk in _lc(server).astream([HumanMessage("add")])]
        _serve_cut(server, streaming=True, whole_first=True)
        streamed_invoke = await _lc(server, streaming=True).ainvoke([HumanMessage("add")])
        return whole, chunks, streamed_invoke

    whole, chunks, streamed_invoke = asyncio.run(main())
    _check_lc(whole)
    _check_lc(_merge(chunks), reason=False)
    _check_lc(streamed_invoke, reason=False)


def test_langchain_does_not_send_the_cut_call_back(server: LoopbackServer) -> None:
    """The next turn carries the complete call only; the cut one's arguments never reach the server."""
    llm = _lc(server)
    _serve_cut(server, streaming=True, whole_first=True)
    ai = _merge(list(llm.stream([HumanMessage("add")])))
    server.route(*CHAT, Reply(body=chat_reply("5")))
    llm.invoke([HumanMessage("add"), ai, ToolMessage("5", tool_call_id="8")])
    (assistant,) = [m for m in _sent(server)["messages"] if m["role"] == "assistant"]
    assert [json.loads(c["function"]["arguments"]) for c in assistant["tool_calls"]] == [{"a": 2, "b": 3}]


def test_langchain_complete_call_streams_as_before(server: LoopbackServer) -> None:
    """A whole call streamed in fragments merges into one valid call; id and name come once."""
    server.route(
        *CHAT,
        sse_reply(
            [
                chat_chunk(
                    tool_calls=[
                        {"index": 0, "id": "5", "type": "function", "function": {"name": "add", "arguments": ""}}
                    ]
                ),
                chat_chunk(tool_calls=[{"index": 0, "id": "5", "function": {"name": "add", "arguments": '{"a": 2,'}}]),
                chat_chunk(tool_calls=[{"index": 0, "function": {"arguments": ' "b": 3}'}}]),
                chat_chunk(finish="tool_calls"),
            ]
        ),
    )
    merged = _merge(list(_lc(server).stream([HumanMessage("add")])))
    assert merged.tool_calls == [{"name": "add", "args": {"a": 2, "b": 3}, "id": "5", "type": "tool_call"}]
    assert merged.invalid_tool_calls == []


# --- LlamaIndex -------------------------------------------------------------------------


def _li(server: LoopbackServer) -> LMStudioLLM:
    return LMStudioLLM(
        model="loop-model", base_url=server.url, max_retries=0, context_window=4096, is_function_calling_model=True
    )


def _check_li(llm: LMStudioLLM, response: ChatResponse) -> None:
    with pytest.raises(ToolCallError, match="max_tokens") as info:
        llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert isinstance(info.value, ValueError)  # LlamaIndex's convention for unusable tool replies
    (invalid,) = response.message.additional_kwargs["invalid_tool_calls"]
    assert (invalid["id"], invalid["name"], invalid["arguments"]) == ("9", "add", CUT)


def test_llama_index_chat_and_stream_agree(server: LoopbackServer) -> None:
    """chat and stream_chat: get_tool_calls_from_response raises ToolCallError naming max_tokens."""
    llm = _li(server)
    _serve_cut(server, streaming=False)
    _check_li(llm, llm.chat([ChatMessage(role=MessageRole.USER, content="add")]))
    _serve_cut(server, streaming=True)
    responses = list(llm.stream_chat([ChatMessage(role=MessageRole.USER, content="add")]))
    # Mid-stream, the call in progress is shown leniently (as FunctionAgent streams it)...
    assert llm.get_tool_calls_from_response(responses[-2], error_on_no_tool_call=False)[0].tool_kwargs == {"a": 2}
    _check_li(llm, responses[-1])  # ...and the finished reply does not pass it off as complete.


def test_llama_index_async_chat_and_stream_agree(server: LoopbackServer) -> None:
    """achat and astream_chat: the same."""
    llm = _li(server)

    async def main() -> tuple[ChatResponse, ChatResponse]:
        _serve_cut(server, streaming=False)
        whole = await llm.achat([ChatMessage(role=MessageRole.USER, content="add")])
        _serve_cut(server, streaming=True)
        last = None
        async for response in await llm.astream_chat([ChatMessage(role=MessageRole.USER, content="add")]):
            last = response
        assert last is not None
        return whole, last

    whole, last = asyncio.run(main())
    _check_li(llm, whole)
    _check_li(llm, last)


def test_llama_index_does_not_send_the_cut_call_back(server: LoopbackServer) -> None:
    """A history holding the cut reply sends only the complete call."""
    llm = _li(server)
    _serve_cut(server, streaming=True, whole_first=True)
    last = list(llm.stream_chat([ChatMessage(role=MessageRole.USER, content="add")]))[-1]
    server.route(*CHAT, Reply(body=chat_reply("5")))
    llm.chat([ChatMessage(role=MessageRole.USER, content="add"), last.message])
    (assistant,) = [m for m in _sent(server)["messages"] if m["role"] == "assistant"]
    assert [json.loads(c["function"]["arguments"]) for c in assistant["tool_calls"]] == [{"a": 2, "b": 3}]


def test_llama_index_complete_call_streams_as_before(server: LoopbackServer) -> None:
    """A whole streamed call: partial arguments mid-stream, the same call as chat() at the end."""
    llm = _li(server)
    server.route(
        *CHAT,
        sse_reply(
            [
                chat_chunk(
                    tool_calls=[
                        {"index": 0, "id": "5", "type": "function", "function": {"name": "add", "arguments": "{"}}
                    ]
                ),
                chat_chunk(tool_calls=[{"index": 0, "function": {"arguments": '"a": 2, "b": 3}'}}]),
                chat_chunk(finish="tool_calls"),
            ]
        ),
    )
    last = list(llm.stream_chat([ChatMessage(role=MessageRole.USER, content="add")]))[-1]
    (selection,) = llm.get_tool_calls_from_response(last)
    assert (selection.tool_id, selection.tool_name, selection.tool_kwargs) == ("5", "add", {"a": 2, "b": 3})


# --- cause 2: "the server could not parse the model's output" -------------------------------

PARSE_FAILURE = Reply(
    status=500,
    body={"error": {"message": "Failed to parse tool call arguments as JSON: [json.exception.parse_error.101]"}},
)


def _count(server: LoopbackServer) -> int:
    return server.hits[CHAT]


@pytest.mark.parametrize(
    ("sampling", "requests"),
    [({"temperature": 0}, 1), ({"temperature": 0.8, "seed": 3}, 1), ({"temperature": 0.8}, 3)],
    ids=["temperature 0", "seeded", "sampled"],
)
def test_model_output_error_retried_only_when_sampling(
    server: LoopbackServer, sampling: dict[str, Any], requests: int
) -> None:
    """Not retried when the same request gives the same output; retried when it samples. Sync and async."""
    server.route(*CHAT, PARSE_FAILURE)
    with (
        LMStudioClient(server.url, model="loop-model", max_retries=2) as client,
        pytest.raises(ModelOutputError) as info,
    ):
        client.chat([{"role": "user", "content": "add"}], **sampling)
    assert _count(server) == requests
    text = str(info.value)
    for hint in ("max_tokens", "tool_choice", "trained for tool use", "Failed to parse tool call arguments"):
        assert hint in text, text

    server.route(*CHAT, PARSE_FAILURE)

    async def main() -> None:
        async with AsyncLMStudioClient(server.url, model="loop-model", max_retries=2) as client:
            await client.chat([{"role": "user", "content": "add"}], **sampling)

    with pytest.raises(ModelOutputError):
        asyncio.run(main())
    assert _count(server) == requests


def test_model_output_error_through_both_adapters(server: LoopbackServer) -> None:
    """LangChain and LlamaIndex at temperature 0: one request each, sync and async, the same error."""
    lc = LMStudioChatModel(model="loop-model", base_url=server.url, temperature=0, max_retries=2)
    li = LMStudioLLM(
        model="loop-model",
        base_url=server.url,
        temperature=0,
        max_retries=2,
        context_window=4096,
        is_function_calling_model=True,
    )
    calls = {
        "langchain invoke": lambda: lc.invoke("add"),
        "langchain ainvoke": lambda: asyncio.run(lc.ainvoke("add")),
        "langchain stream": lambda: list(lc.stream("add")),
        "llamaindex chat": lambda: li.chat([ChatMessage(role=MessageRole.USER, content="add")]),
        "llamaindex achat": lambda: asyncio.run(li.achat([ChatMessage(role=MessageRole.USER, content="add")])),
        "llamaindex stream_chat": lambda: list(li.stream_chat([ChatMessage(role=MessageRole.USER, content="add")])),
    }
    for name, call in calls.items():
        server.route(*CHAT, PARSE_FAILURE)
        with pytest.raises(ModelOutputError, match="max_tokens"):
            call()
        assert _count(server) == 1, name


def test_model_output_error_mid_stream_keeps_its_advice(server: LoopbackServer) -> None:
    """The same failure as an error event inside a 200 stream keeps its class and its advice."""
    server.route(
        *CHAT,
        sse_reply([chat_chunk("a"), 'event: error\ndata: {"error":{"message":"Failed to parse input at pos 12"}}']),
    )
    with (
        LMStudioClient(server.url, model="loop-model", max_retries=2) as client,
        pytest.raises(ModelOutputError, match="max_tokens"),
    ):
        list(client.stream_chat([{"role": "user", "content": "add"}], temperature=0))
    assert _count(server) == 1
