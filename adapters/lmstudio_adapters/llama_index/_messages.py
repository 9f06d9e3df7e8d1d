"""LlamaIndex chat messages to LM Studio wire dicts, and replies back to LlamaIndex messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.program.utils import FlexibleModel

from lmstudio_adapters._errors import InputError, ToolCallError
from lmstudio_adapters._requests import WireMessages, normalise_message
from lmstudio_adapters._schemas import ChatCompletionChunk, Usage
from lmstudio_adapters._schemas import ChatMessage as WireMessage
from lmstudio_adapters._schemas import ToolCall as WireToolCall
from lmstudio_adapters._tool_calls import ToolCallAssembler, open_json, parse_arguments, tool_call_problem

__all__ = [
    "StreamState",
    "no_tool_call_error",
    "parse_partial_json",
    "partial_object",
    "raise_for_invalid_calls",
    "reply_to_message",
    "to_wire_messages",
    "tool_call_parts",
    "usage_dict",
]

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
    stack, in_string, _ = open_json(text)
    closers = ["}" if bracket == "{" else "]" for bracket in stack]
    candidate = text + ('"' if in_string else "")
    for trim in (candidate, candidate.rstrip().rstrip(",:")):
        try:
            value = json.loads(trim + "".join(reversed(closers)))
            return value if isinstance(value, dict) else {}
        except (ValueError, RecursionError):  # nested too deep is unparseable too
            continue
    return {}


def tool_call_parts(
    calls: Sequence[WireToolCall], *, as_text: bool = False
) -> tuple[list[ToolCallBlock], dict[str, Any]]:
    """Blocks for the usable calls, and ``additional_kwargs``: ``tool_calls`` and ``invalid_tool_calls``.

    A call cut off by ``max_tokens`` or with arguments that are not a JSON object gets no
    block (nothing runs it, nothing sends it back); it is listed, with the reason, under
    ``invalid_tool_calls``, where :meth:`LMStudioLLM.get_tool_calls_from_response` finds it.
    ``as_text`` keeps a usable call's arguments as the model wrote them (streams, as before).
    """
    blocks: list[ToolCallBlock] = []
    usable: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for call in calls:
        kwargs = parse_arguments(call.function.arguments) if call.error is None else None
        if kwargs is None:
            error = call.error or tool_call_problem(call.function.name, call.function.arguments, cut_off=False)
            invalid.append(
                {"id": call.id, "name": call.function.name, "arguments": call.function.arguments, "error": error}
            )
            continue
        arguments: dict[str, Any] | str = call.function.arguments if as_text else kwargs
        blocks.append(ToolCallBlock(tool_call_id=call.id or None, tool_name=call.function.name, tool_kwargs=arguments))
        usable.append(call.model_dump())
    additional: dict[str, Any] = {}
    if usable:
        additional["tool_calls"] = usable
    if invalid:
        additional["invalid_tool_calls"] = invalid
    return blocks, additional


def raise_for_invalid_calls(message: ChatMessage) -> None:
    """Raise :class:`ToolCallError` when ``message`` holds calls that cannot be run (see :func:`tool_call_parts`)."""
    invalid = message.additional_kwargs.get("invalid_tool_calls")
    if invalid:
        reasons = " ".join(str(call.get("error")) for call in invalid)
        raise ToolCallError(f"{len(invalid)} of the model's tool calls cannot be run. {reasons}")


def no_tool_call_error(response: ChatResponse) -> ValueError:
    """The error LlamaIndex expects when a reply that should call a tool does not."""
    return ValueError(f"Expected at least one tool call, but the model answered: {response.message.content!r}")


def partial_object(flexible: type[FlexibleModel], text: str) -> FlexibleModel:
    """A partial structured object from JSON text that may still be arriving."""
    return flexible.model_validate(parse_partial_json(text))


def reply_to_message(message: WireMessage) -> ChatMessage:
    """A whole reply: thinking block, text block, tool-call blocks (and OpenAI-style ``tool_calls``)."""
    blocks: list[Any] = []
    additional: dict[str, Any] = {}
    if message.reasoning_content:
        blocks.append(ThinkingBlock(content=message.reasoning_content))
        additional["reasoning_content"] = message.reasoning_content
    blocks.append(TextBlock(text=message.content))
    calls, parts = tool_call_parts(message.tool_calls)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks + calls, additional_kwargs={**additional, **parts})


class StreamState:
    """Accumulates a streamed reply into cumulative LlamaIndex messages.

    Mid-stream, tool calls carry their arguments as received (text, parsed leniently by
    ``get_tool_calls_from_response``); from the chunk with the finish reason on, the message
    is built as a whole reply is, by :func:`tool_call_parts`.
    """

    def __init__(self) -> None:
        self.content = ""
        self.reasoning = ""
        self.calls = ToolCallAssembler()
        self.finish_reason: str | None = None
        self.extra: dict[str, Any] = {}

    def add(self, chunk: ChatCompletionChunk) -> ChatResponse | None:
        """The response after ``chunk``, or None when it adds nothing."""
        delta_text = ""
        thinking = ""
        finishing = False
        for choice in chunk.choices[:1]:
            delta = choice.delta
            delta_text = delta.content
            thinking = delta.reasoning_content
            self.calls.add_all(delta.tool_calls)
            if choice.finish_reason and self.finish_reason is None:
                self.finish_reason = choice.finish_reason
                finishing = bool(self.calls)
        if chunk.usage is not None:
            self.extra.update(usage_dict(chunk.usage))
        if chunk.stats is not None:
            self.extra["stats"] = chunk.stats.as_dict()
        has_calls = bool(chunk.choices and chunk.choices[0].delta.tool_calls)
        if not (delta_text or thinking or has_calls or finishing or chunk.usage):
            return None
        self.content += delta_text
        self.reasoning += thinking
        blocks: list[Any] = []
        if self.reasoning:
            blocks.append(ThinkingBlock(content=self.reasoning))
        blocks.append(TextBlock(text=self.content))
        additional: dict[str, Any] = {}
        if self.finish_reason is not None:
            calls, additional = tool_call_parts(self.calls.calls(self.finish_reason), as_text=True)
            blocks += calls
        elif self.calls:
            partial = self.calls.calls()
            blocks += [
                ToolCallBlock(tool_call_id=c.id or None, tool_name=c.function.name, tool_kwargs=c.function.arguments)
                for c in partial
            ]
            additional["tool_calls"] = [c.model_dump() for c in partial]
        message = ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=additional)
        extra = {**self.extra, "thinking_delta": thinking} if thinking else dict(self.extra)
        return ChatResponse(message=message, delta=delta_text, raw=chunk, additional_kwargs=extra)


def usage_dict(usage: Usage | None) -> dict[str, Any]:
    """Token counts under the names LlamaIndex token counters read."""
    if usage is None:
        return {}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
