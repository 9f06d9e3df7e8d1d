"""One pass over the history: the adapters' conversions hand the core wire-ready messages, the core
does not check them again, and the result is exactly what the two-pass path produced."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import convert_to_openai_messages
from llama_index.core.base.llms.types import ChatMessage as LIMessage
from llama_index.core.base.llms.types import MessageRole, TextBlock, ToolCallBlock

from lmstudio_adapters import InputError
from lmstudio_adapters._requests import WireMessages, build_chat_body, normalise_messages
from lmstudio_adapters.langchain._messages import to_wire_messages as lc_wire
from lmstudio_adapters.llama_index._messages import _wire_message
from lmstudio_adapters.llama_index._messages import to_wire_messages as li_wire

LC_HISTORY = [
    SystemMessage("Be brief."),
    SystemMessage("dev", additional_kwargs={"__openai_role__": "developer"}),
    HumanMessage("Hi"),
    HumanMessage("named", name="bob"),
    AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]),
    ToolMessage("3", tool_call_id="c1"),
    ToolMessage([{"type": "text", "text": "list result"}], tool_call_id="c2"),
    AIMessage("thinking kept out", additional_kwargs={"reasoning_content": "hmm"}),
    AIMessage([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
    HumanMessage([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]),
]


def test_langchain_conversion_matches_the_two_pass_path() -> None:
    """Same dicts, same order of keys, as LangChain's converter followed by the core's check."""
    wire = lc_wire(LC_HISTORY)
    assert type(wire) is WireMessages
    expected = normalise_messages(convert_to_openai_messages(LC_HISTORY))
    assert [list(m.items()) for m in wire] == [list(m.items()) for m in expected]


def test_llama_index_conversion_matches_the_two_pass_path() -> None:
    history = [
        LIMessage(role=MessageRole.SYSTEM, content="Be brief."),
        LIMessage(role="user", content="Hi"),
        LIMessage(
            role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c1", tool_name="add", tool_kwargs={"a": 1})]
        ),
        LIMessage(role=MessageRole.TOOL, content="3", additional_kwargs={"tool_call_id": "c1"}),
        LIMessage(role=MessageRole.ASSISTANT, blocks=[TextBlock(text="a"), TextBlock(text="b")]),
        LIMessage(role=MessageRole.CHATBOT, content="old style"),
    ]
    wire = li_wire(history)
    assert type(wire) is WireMessages
    roles = {
        MessageRole.SYSTEM: "system",
        MessageRole.USER: "user",
        MessageRole.ASSISTANT: "assistant",
        MessageRole.TOOL: "tool",
        MessageRole.CHATBOT: "assistant",
    }
    expected = normalise_messages([_wire_message(m, roles[m.role]) for m in history])
    assert [list(m.items()) for m in wire] == [list(m.items()) for m in expected]


def test_wire_messages_are_sent_as_they_are_and_plain_lists_are_still_checked() -> None:
    wire = WireMessages([{"role": "user", "content": "hi"}])
    assert build_chat_body(wire, model="m", stream=False, stream_usage=True, params={})["messages"] is wire
    with pytest.raises(InputError, match="role"):
        build_chat_body([{"role": "robot", "content": "hi"}], model="m", stream=False, stream_usage=True, params={})
    with pytest.raises(InputError, match="empty"):
        normalise_messages(WireMessages())


@pytest.mark.parametrize(
    "message",
    [
        ChatMessage(role="robot", content="hi"),
        HumanMessage([{"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGk="}}]),
    ],
)
def test_what_the_framework_does_not_guarantee_is_still_checked(message: Any) -> None:
    """Unknown roles and bad images fail in the adapter's conversion, with the core's message."""
    with pytest.raises(InputError):
        lc_wire([HumanMessage("ok"), message])
