"""Property-based tests of message conversion, both directions, for both frameworks."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage

from lmstudio_adapters._schemas import ChatCompletion, ChatCompletionChunk
from lmstudio_adapters._schemas import ChatMessage as WireMessage
from lmstudio_adapters.langchain._messages import chunk_to_message, completion_to_message
from lmstudio_adapters.langchain._messages import to_wire_messages as lc_to_wire
from lmstudio_adapters.llama_index._messages import StreamState, reply_to_message
from lmstudio_adapters.llama_index._messages import to_wire_messages as li_to_wire

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
tool_calls = st.lists(
    st.builds(
        lambda n, a, i: {"name": n, "args": a, "id": f"call_{i}"},
        names,
        st.dictionaries(names, json_value, max_size=4),
        st.integers(0, 10**6),
    ),
    max_size=3,
    unique_by=lambda call: call["id"],
)


def _completion(message: dict[str, Any]) -> ChatCompletion:
    return ChatCompletion.model_validate(
        {"id": "c", "model": "m", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    )


@settings(max_examples=150, deadline=None)
@given(content=text, calls=tool_calls)
def test_langchain_ai_message_round_trip(content: str, calls: list[dict[str, Any]]) -> None:
    """AIMessage → wire → reply → AIMessage keeps the text and the tool calls (names, args, ids)."""
    original = AIMessage(content=content, tool_calls=calls)
    (wire,) = lc_to_wire([original])
    assert wire["role"] == "assistant"
    for sent, call in zip(wire.get("tool_calls", []), calls, strict=True):
        assert json.loads(sent["function"]["arguments"]) == call["args"]
    back = completion_to_message(_completion(wire))
    assert back.content == content
    assert [(c["name"], c["args"], c["id"]) for c in back.tool_calls] == [
        (c["name"], c["args"], c["id"]) for c in calls
    ]


@settings(max_examples=100, deadline=None)
@given(system=text, human=text, result=text)
def test_langchain_history_to_wire(system: str, human: str, result: str) -> None:
    """System, human and tool messages keep their text and roles; tool results carry their call id."""
    wire = lc_to_wire([SystemMessage(system), HumanMessage(human), ToolMessage(result, tool_call_id="call_1")])
    assert [m["role"] for m in wire] == ["system", "user", "tool"]
    assert [m["content"] for m in wire] == [system, human, result]
    assert wire[2]["tool_call_id"] == "call_1"


@settings(max_examples=150, deadline=None)
@given(answer=text, cuts=st.lists(st.integers(1, 39), max_size=10))
def test_streamed_chunks_merge_to_the_answer(answer: str, cuts: list[int]) -> None:
    """However the answer is cut into deltas, both frameworks rebuild exactly the answer."""
    points = sorted({c for c in cuts if c < len(answer)})
    pieces = [answer[a:b] for a, b in zip([0, *points], [*points, len(answer)], strict=True)] or [""]
    chunks = [
        ChatCompletionChunk.model_validate(
            {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": piece}}]}
        )
        for piece in pieces
    ]
    chunks.append(
        ChatCompletionChunk.model_validate(
            {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        )
    )
    merged: AIMessageChunk | None = None
    for index, chunk in enumerate(chunks):
        part = chunk_to_message(chunk, first=index == 0)
        merged = part if merged is None else merged + part
    assert merged is not None
    assert merged.content == answer
    assert merged.response_metadata["model_name"] == "m"
    state = StreamState()
    last = None
    for chunk in chunks:
        last = state.add(chunk) or last
    assert state.content == answer
    if answer:
        assert last is not None
        assert last.message.content == answer


@settings(max_examples=150, deadline=None)
@given(content=text, reasoning=text, calls=tool_calls)
def test_llama_index_reply_round_trip(content: str, reasoning: str, calls: list[dict[str, Any]]) -> None:
    """Wire reply → LlamaIndex message → wire keeps text and tool calls and drops the reasoning."""
    wire_calls = [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
        for c in calls
    ]
    message = reply_to_message(
        WireMessage.model_validate({"content": content, "reasoning_content": reasoning, "tool_calls": wire_calls})
    )
    assert message.content == content
    (back,) = li_to_wire([message])
    assert back["content"] == content
    assert set(back) <= {"role", "content", "tool_calls"}  # the reasoning is not sent back
    for sent, call in zip(back.get("tool_calls", []), calls, strict=True):
        assert (sent["id"], sent["function"]["name"]) == (call["id"], call["name"])
        assert json.loads(sent["function"]["arguments"]) == call["args"]


@settings(max_examples=100, deadline=None)
@given(user=text, result=text)
def test_llama_index_tool_result_to_wire(user: str, result: str) -> None:
    """Tool results go back as role tool with their call id."""
    wire = li_to_wire(
        [
            ChatMessage(role="user", content=user),
            ChatMessage(role="tool", content=result, additional_kwargs={"tool_call_id": "7"}),
        ]
    )
    assert wire == [{"role": "user", "content": user}, {"role": "tool", "content": result, "tool_call_id": "7"}]
