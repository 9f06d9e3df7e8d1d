"""Request bodies: LM Studio's quirks normalised, bad input refused before sending."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lmstudio_adapters import InputError
from lmstudio_adapters._requests import JSON_MODE_FORMAT, build_chat_body, build_embeddings_body, dumps

TOOLS = [
    {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "mul", "parameters": {"type": "object", "properties": {}}}},
]


def _body(messages: Any = None, **kwargs: Any) -> dict[str, Any]:
    return build_chat_body(
        messages if messages is not None else [{"role": "user", "content": "hi"}],
        model="m",
        stream=kwargs.pop("stream", False),
        stream_usage=kwargs.pop("stream_usage", True),
        params=kwargs.pop("params", {}),
        **kwargs,
    )


def test_assistant_tool_call_content_null_becomes_empty_string() -> None:
    """LM Studio rejects content: null on assistant tool-call turns; tool results become strings."""
    body = _body(
        [
            {"role": "user", "content": "add"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "7", "function": {"name": "add", "arguments": {"a": 1}}}],
            },
            {"role": "tool", "tool_call_id": "7", "content": {"result": 2}},
        ]
    )
    assistant, tool = body["messages"][1], body["messages"][2]
    assert assistant["content"] == ""
    assert assistant["tool_calls"][0] == {
        "id": "7",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1}'},
    }
    assert tool["content"] == '{"result": 2}'


def test_json_mode_is_sent_as_schema() -> None:
    """json_object (a 400 on every LM Studio version) is sent as json_schema of an object."""
    assert _body(response_format={"type": "json_object"})["response_format"] == JSON_MODE_FORMAT


@pytest.mark.parametrize(
    ("choice", "sent_tools", "sent_choice"),
    [
        ("auto", ["add", "mul"], "auto"),
        ("none", ["add", "mul"], "none"),
        ("required", ["add", "mul"], "required"),
        ("any", ["add", "mul"], "required"),
        ("mul", ["mul"], "required"),
        ({"type": "function", "function": {"name": "add"}}, ["add"], "required"),
    ],
)
def test_tool_choice(choice: Any, sent_tools: list[str], sent_choice: str) -> None:
    """A named tool is emulated: only that tool is sent, with required (LM Studio ignores the object form)."""
    body = _body(tools=TOOLS, tool_choice=choice)
    assert [tool["function"]["name"] for tool in body["tools"]] == sent_tools
    assert body["tool_choice"] == sent_choice


def test_stream_asks_for_usage() -> None:
    """Streams ask for usage unless told not to."""
    assert _body(stream=True)["stream_options"] == {"include_usage": True}
    assert "stream_options" not in _body(stream=True, stream_usage=False)


def test_same_call_same_bytes() -> None:
    """Identical calls serialise to identical bytes (cassettes match on the body)."""
    first = dumps(_body(tools=TOOLS, params={"temperature": 0, "seed": 1}))
    second = dumps(_body(tools=TOOLS, params={"seed": 1, "temperature": 0}))
    assert first != b""
    assert json.loads(first) == json.loads(second)
    assert dumps(_body(tools=TOOLS, params={"temperature": 0, "seed": 1})) == first


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("empty messages", {"messages": []}, "messages is empty"),
    ("not a list", {"messages": "hello"}, "messages must be a list"),
    ("unknown role", {"messages": [{"role": "wizard", "content": "x"}]}, "has role 'wizard'"),
    ("message not a dict", {"messages": ["hi"]}, "messages[0] is a str"),
    ("content of wrong type", {"messages": [{"role": "user", "content": 3}]}, "content is a int"),
    (
        "image not an image",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGVsbG8="}}],
                }
            ]
        },
        "which is not an image",
    ),
    (
        "image bad base64",
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}
            ]
        },
        "invalid base64",
    ),
    ("negative max_tokens", {"params": {"max_tokens": -5}}, "max_tokens=-5 is invalid"),
    ("zero max_tokens", {"params": {"max_tokens": 0}}, "max_tokens=0 is invalid"),
    ("tool without name", {"tools": [{"type": "function", "function": {}}]}, "not an OpenAI function tool"),
    (
        "tool schema not an object",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]},
        "expected a JSON Schema object",
    ),
    (
        "tool schema not JSON Schema",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": "not a schema"}}]},
        "expected a JSON Schema object",
    ),
    ("unknown named tool", {"tools": TOOLS, "tool_choice": "div"}, "not among the tools given (add, mul)"),
    ("tool_choice without tools", {"tool_choice": "required"}, "without tools"),
]


@pytest.mark.parametrize(("case", "kwargs", "message"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused(case: str, kwargs: dict[str, Any], message: str) -> None:
    """Each bad input raises InputError naming the problem; nothing would be sent."""
    messages = kwargs.pop("messages", None)
    with pytest.raises(InputError) as info:
        _body(messages, **kwargs)
    assert message in str(info.value)


def test_embedding_input_must_be_strings() -> None:
    """Token ids are refused (LM Studio answers 400 to them)."""
    with pytest.raises(InputError, match="only strings"):
        build_embeddings_body([[1, 2, 3]], model="e")  # type: ignore[list-item]
    with pytest.raises(InputError, match="Nothing to embed"):
        build_embeddings_body([], model="e")
    assert build_embeddings_body("one", model="e") == {"model": "e", "input": "one"}


def test_values_that_are_not_json() -> None:
    """A value JSON cannot carry is an InputError, not a TypeError from deep inside."""
    with pytest.raises(InputError, match="cannot be sent as JSON"):
        dumps({"x": object()})
    with pytest.raises(InputError, match="cannot be sent as JSON"):
        dumps({"x": float("nan")})
