"""LlamaIndex chat messages to LM Studio wire dicts, and replies back to LlamaIndex messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from lmstudio_adapters._errors import InputError
from lmstudio_adapters._requests import WireMessages, normalise_message
from lmstudio_adapters._schemas import ChatMessage as WireMessage
from lmstudio_adapters._schemas import ToolCall as WireToolCall
from lmstudio_adapters._schemas import Usage

__all__ = ["parse_partial_json", "reply_to_message", "to_wire_messages", "usage_dict"]

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


def _image_part(block: ImageBlock) -> dict[str, Any]:
    if block.url is not None and block.image is None and block.path is None:
        return {"type": "image_url", "image_url": {"url": str(block.url)}}
    try:
        data = block.resolve_image(as_base64=True).read().decode()
    except Exception as exc:
        raise InputError(f"An ImageBlock could not be read ({exc}). Pass image bytes, a path or a URL.") from None
    mimetype = block.image_mimetype or "image/png"
    return {"type": "image_url", "image_url": {"url": f"data:{mimetype};base64,{data}"}}


def _wire_tool_call(call: Any) -> dict[str, Any]:
    if isinstance(call, ToolCallBlock):
        arguments = (
            call.tool_kwargs if isinstance(call.tool_kwargs, str) else json.dumps(call.tool_kwargs, ensure_ascii=False)
        )
        return {
            "id": call.tool_call_id or "",
            "type": "function",
            "function": {"name": call.tool_name, "arguments": arguments},
        }
    if hasattr(call, "model_dump"):
        call = call.model_dump()
    return dict(call)


def to_wire_messages(messages: Sequence[ChatMessage]) -> WireMessages:
    """LlamaIndex messages as LM Studio wire dicts: images as ``image_url`` parts, tool calls and results with ids.

    Thinking blocks from earlier turns are not sent back. A message of one text block is made
    here directly; every other one also goes through the core's check, once.
    """
    wire = WireMessages()
    append, wire_role = wire.append, _ROLES.get
    for message in messages:
        # Fields straight from the model's __dict__: this loop runs once per message of a history.
        fields = message.__dict__
        # MessageRole is a str enum: the dict answers for members and their values alike.
        role = wire_role(fields["role"], "user")
        blocks = fields["blocks"]
        if len(blocks) == 1 and type(blocks[0]) is TextBlock and not fields["additional_kwargs"]:
            append({"role": role, "content": blocks[0].text})
        else:
            append(normalise_message(_wire_message(message, role), len(wire)))
    return wire


def _wire_message(message: ChatMessage, role: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    calls: list[Any] = []
    has_image = False
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
            has_image = True
        elif isinstance(block, ToolCallBlock):
            calls.append(block)
        elif isinstance(block, ThinkingBlock):
            continue
    if not calls and message.additional_kwargs.get("tool_calls"):
        calls = list(message.additional_kwargs["tool_calls"])
    content: Any = parts if has_image else "".join(part["text"] for part in parts)
    entry: dict[str, Any] = {"role": role, "content": content}
    if role == "assistant" and calls:
        entry["tool_calls"] = [_wire_tool_call(call) for call in calls]
    if role == "tool":
        call_id = message.additional_kwargs.get("tool_call_id")
        if call_id is not None:
            entry["tool_call_id"] = call_id
    return entry


def parse_partial_json(text: str) -> dict[str, Any]:
    """Parse tool arguments that may still be arriving: close open strings, arrays and objects.

    Returns ``{}`` when nothing usable has arrived yet; never raises.
    """
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
        return value if isinstance(value, dict) else {}
    except (ValueError, RecursionError):  # nested too deep is unparseable too
        pass
    closers: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]" and closers:
            closers.pop()
    candidate = text + ('"' if in_string else "")
    for trim in (candidate, candidate.rstrip().rstrip(",:")):
        try:
            value = json.loads(trim + "".join(reversed(closers)))
            return value if isinstance(value, dict) else {}
        except (ValueError, RecursionError):  # nested too deep is unparseable too
            continue
    return {}


def tool_call_blocks(calls: Sequence[WireToolCall]) -> list[ToolCallBlock]:
    """Complete tool calls as blocks (arguments parsed where they are valid JSON)."""
    blocks = []
    for call in calls:
        try:
            kwargs: dict[str, Any] | str = json.loads(call.function.arguments or "{}")
        except (ValueError, RecursionError):  # nested too deep is unparseable too
            kwargs = call.function.arguments
        blocks.append(ToolCallBlock(tool_call_id=call.id or None, tool_name=call.function.name, tool_kwargs=kwargs))
    return blocks


def reply_to_message(message: WireMessage) -> ChatMessage:
    """A whole reply: thinking block, text block, tool-call blocks (and OpenAI-style ``tool_calls``)."""
    blocks: list[Any] = []
    additional: dict[str, Any] = {}
    if message.reasoning_content:
        blocks.append(ThinkingBlock(content=message.reasoning_content))
        additional["reasoning_content"] = message.reasoning_content
    blocks.append(TextBlock(text=message.content))
    blocks += tool_call_blocks(message.tool_calls)
    if message.tool_calls:
        additional["tool_calls"] = [call.model_dump() for call in message.tool_calls]
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=additional)


def usage_dict(usage: Usage | None) -> dict[str, Any]:
    """Token counts under the names LlamaIndex token counters read."""
    if usage is None:
        return {}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
