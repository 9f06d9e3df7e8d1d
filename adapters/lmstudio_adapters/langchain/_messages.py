"""LangChain messages to LM Studio wire dicts, and LM Studio replies back to LangChain messages."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    HumanMessageChunk,
    InvalidToolCall,
    SystemMessage,
    SystemMessageChunk,
    ToolCall,
    ToolCallChunk,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.utils import convert_to_openai_messages
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils.json import parse_partial_json

from lmstudio_adapters._requests import WireMessages, normalise_message
from lmstudio_adapters._schemas import ChatCompletion, ChatCompletionChunk, GenerationStats, Usage
from lmstudio_adapters._schemas import ToolCall as WireToolCall
from lmstudio_adapters._tool_calls import ToolCallAssembler, open_json, parse_arguments

__all__ = [
    "PROVIDER",
    "chunk_to_message",
    "completion_to_message",
    "streamed_result",
    "to_wire_messages",
    "usage_metadata",
]

PROVIDER = "lmstudio"


# Message types whose plain-text form is one dict with nothing to check (a known role, string content).
_PLAIN_ROLES: dict[type, str] = {
    HumanMessage: "user",
    HumanMessageChunk: "user",
    AIMessage: "assistant",
    AIMessageChunk: "assistant",
    SystemMessage: "system",
    SystemMessageChunk: "system",
}
# additional_kwargs that convert_to_openai_messages turns into fields of the message.
_RESERVED_KWARGS = frozenset({"refusal", "__openai_role__"})


def to_wire_messages(messages: Sequence[BaseMessage]) -> WireMessages:
    """LangChain messages as LM Studio wire dicts (images as ``image_url`` parts, tool calls with JSON args).

    Anthropic-style ``tool_use`` blocks in AI content are dropped (the ``tool_calls`` carry
    them); reasoning from earlier turns is not sent back. Plain text messages are made here
    directly; every other message goes through ``convert_to_openai_messages`` and the core's
    check, so each message is converted and checked once.
    """
    wire = WireMessages()
    append, plain_role, no_reserved = wire.append, _PLAIN_ROLES.get, _RESERVED_KWARGS.isdisjoint
    for message in messages:
        # Fields straight from the model's __dict__: this loop runs once per message of a history.
        fields = message.__dict__
        role = plain_role(type(message))
        content = fields["content"]
        if (
            role is not None
            and type(content) is str
            and not fields["name"]
            and not fields.get("tool_calls")
            and (not (extra := fields["additional_kwargs"]) or no_reserved(extra))
        ):
            append({"role": role, "content": content})
        elif type(message) is ToolMessage and type(content) is str and message.tool_call_id and not message.name:
            append({"role": "tool", "tool_call_id": message.tool_call_id, "content": content})
        else:
            for converted in convert_to_openai_messages([message]):
                append(normalise_message(converted, len(wire)))
    return wire


def stable_call_id(index: int, name: str, arguments: str) -> str:
    """An id for a tool call the server sent without one: derived, never random, so replays match."""
    digest = hashlib.sha256(f"{index}:{name}:{arguments}".encode()).hexdigest()[:24]
    return f"call_{digest}"


def _tool_calls(calls: Sequence[WireToolCall]) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for index, call in enumerate(calls):
        raw = call.function.arguments or "{}"
        call_id = call.id or stable_call_id(index, call.function.name, raw)
        args = parse_arguments(call.function.arguments) if call.error is None else None
        if args is not None:
            valid.append(ToolCall(name=call.function.name, args=args, id=call_id, type="tool_call"))
        else:
            error = call.error or f"Tool arguments are not a JSON object: {raw[:200]!r}"
            invalid.append(
                InvalidToolCall(
                    name=call.function.name,
                    args=call.function.arguments,
                    id=call_id,
                    error=error,
                    type="invalid_tool_call",
                )
            )
    return valid, invalid


def unparseable_suffix(arguments: str) -> str:
    """Text that, appended to ``arguments``, makes LangChain's lenient chunk parser reject them.

    LangChain assembles streamed tool calls itself and reads ``{"a": 2`` as ``{"a": 2}``. The
    chunk that ends a stream adds this to an incomplete call's arguments, so the merged
    message lists the call in ``invalid_tool_calls`` (the non-streamed reply does the same).
    It closes an open string, then adds a bracket that matches nothing.
    """
    stack, in_string, escaped = open_json(arguments)
    closing = ("\\" if escaped else "") + '"' if in_string else ""
    return closing + ("}" if stack and stack[-1] == "[" else "]")


def _finish_tool_calls(
    assembler: ToolCallAssembler, finish_reason: str
) -> tuple[list[ToolCallChunk], list[InvalidToolCall]]:
    closers: list[ToolCallChunk] = []
    invalid: list[InvalidToolCall] = []
    for index, call in zip(assembler.indexes(), assembler.calls(finish_reason), strict=True):
        if call.error is None:
            continue
        try:
            lenient = parse_partial_json(call.function.arguments) if call.function.arguments else {}
        except RecursionError:  # nested too deep: langchain-core cannot parse it either
            lenient = None
        if isinstance(lenient, dict):
            suffix = unparseable_suffix(call.function.arguments)
            closers.append(ToolCallChunk(name=None, args=suffix, id=None, index=index, type="tool_call_chunk"))
        invalid.append(
            InvalidToolCall(
                name=call.function.name,
                args=call.function.arguments,
                id=call.id or None,
                error=call.error,
                type="invalid_tool_call",
            )
        )
    return closers, invalid


def usage_metadata(usage: Usage) -> UsageMetadata:
    """Token usage in LangChain's shape (reasoning tokens where LM Studio reports them)."""
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
    )
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
        metadata["input_token_details"] = InputTokenDetails()
    return metadata


def _stats(stats: GenerationStats | None) -> dict[str, Any]:
    return {"stats": stats.as_dict()} if stats is not None and stats.as_dict() else {}


def completion_to_message(completion: ChatCompletion) -> AIMessage:
    """A whole reply as an ``AIMessage``; reasoning goes to ``additional_kwargs["reasoning_content"]``."""
    choice = completion.choices[0]
    message = choice.message
    fields: dict[str, Any] = {"id": completion.id or None}
    if message.tool_calls:
        fields["tool_calls"], fields["invalid_tool_calls"] = _tool_calls(message.tool_calls)
    if message.reasoning_content:
        fields["additional_kwargs"] = {"reasoning_content": message.reasoning_content}
    if completion.usage:
        fields["usage_metadata"] = usage_metadata(completion.usage)
    return AIMessage(
        content=message.content,
        response_metadata={
            "model_name": completion.model,
            "model_provider": PROVIDER,
            "finish_reason": choice.finish_reason,
            "system_fingerprint": completion.system_fingerprint,
            **_stats(completion.stats),
        },
        **fields,
    )


def chunk_to_message(
    chunk: ChatCompletionChunk, *, first: bool, calls: ToolCallAssembler | None = None
) -> AIMessageChunk:
    """One streamed chunk as an ``AIMessageChunk``.

    The model name and finish reason ride on the chunk that finishes the answer, and usage on
    the usage chunk, so each appears exactly once in the merged message. Only the fields a
    chunk carries are passed: most chunks are a few characters of text, and every empty
    field would cost LangChain validation and merging work.

    ``calls`` collects the stream's tool calls: a call's id and name go on its first fragment
    only, and the finishing chunk marks incomplete calls (see :func:`unparseable_suffix`); it
    lists them, with the reason, in its own ``invalid_tool_calls``.
    """
    fields: dict[str, Any] = {"id": chunk.id or None}
    content = ""
    metadata: dict[str, Any] = {"model_provider": PROVIDER} if first else {}
    invalid: list[InvalidToolCall] = []
    if chunk.choices:
        choice = chunk.choices[0]
        delta = choice.delta
        content = delta.content
        if delta.reasoning_content:
            fields["additional_kwargs"] = {"reasoning_content": delta.reasoning_content}
        if delta.tool_calls:
            fragments = []
            for call in delta.tool_calls:
                starts = calls.add(call) if calls is not None else True
                fragments.append(
                    ToolCallChunk(
                        name=call.function.name if starts else None,
                        args=call.function.arguments,
                        id=(call.id or None) if starts else None,
                        index=call.index,
                        type="tool_call_chunk",
                    )
                )
            fields["tool_call_chunks"] = fragments
        if choice.finish_reason:
            metadata.update(
                model_name=chunk.model, finish_reason=choice.finish_reason, system_fingerprint=chunk.system_fingerprint
            )
            if calls:
                closers, invalid = _finish_tool_calls(calls, choice.finish_reason)
                if closers:
                    fields["tool_call_chunks"] = [*fields.get("tool_call_chunks", ()), *closers]
    if chunk.usage is not None:
        fields["usage_metadata"] = usage_metadata(chunk.usage)
    if chunk.stats is not None:
        metadata.update(_stats(chunk.stats))
    if metadata:
        fields["response_metadata"] = metadata
    message = AIMessageChunk(content=content, **fields)
    if invalid:
        message.invalid_tool_calls = invalid
    return message


def streamed_result(chunks: list[ChatGenerationChunk]) -> ChatResult:
    """The merged result of a stream, with incomplete tool calls listed as the finishing chunk says.

    LangChain's merge keeps an invalid call's arguments but drops its reason; the finishing
    chunk (see :func:`chunk_to_message`) has both, so ``invoke`` with ``streaming=True``
    gives the same ``invalid_tool_calls`` as without streaming.
    """
    result = generate_from_stream(iter(chunks))
    finished = [
        call for chunk in chunks for call in getattr(chunk.message, "invalid_tool_calls", ()) if call.get("error")
    ]
    if finished:
        message = result.generations[0].message
        if isinstance(message, AIMessage):
            message.invalid_tool_calls = finished
    return result
