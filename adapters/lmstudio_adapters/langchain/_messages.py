"""LangChain messages to LM Studio wire dicts, and LM Studio replies back to LangChain messages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

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

from lmstudio_adapters._requests import WireMessages, normalise_message
from lmstudio_adapters._schemas import ChatCompletion, ChatCompletionChunk, GenerationStats, Usage
from lmstudio_adapters._schemas import ToolCall as WireToolCall

__all__ = ["PROVIDER", "chunk_to_message", "completion_to_message", "to_wire_messages", "usage_metadata"]

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
            and no_reserved(fields["additional_kwargs"])
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
        try:
            args = json.loads(raw)
        except (ValueError, RecursionError):  # nested too deep is unparseable too
            args = None
        if isinstance(args, dict):
            valid.append(ToolCall(name=call.function.name, args=args, id=call_id, type="tool_call"))
        else:
            invalid.append(
                InvalidToolCall(
                    name=call.function.name,
                    args=raw,
                    id=call_id,
                    error=f"Tool arguments are not a JSON object: {raw[:200]!r}",
                    type="invalid_tool_call",
                )
            )
    return valid, invalid


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


def chunk_to_message(chunk: ChatCompletionChunk, *, first: bool) -> AIMessageChunk:
    """One streamed chunk as an ``AIMessageChunk``.

    The model name and finish reason ride on the chunk that finishes the answer, and usage on
    the usage chunk, so each appears exactly once in the merged message. Only the fields a
    chunk carries are passed: most chunks are a few characters of text, and every empty
    field would cost LangChain validation and merging work.
    """
    fields: dict[str, Any] = {"id": chunk.id or None}
    content = ""
    metadata: dict[str, Any] = {"model_provider": PROVIDER} if first else {}
    if chunk.choices:
        choice = chunk.choices[0]
        delta = choice.delta
        content = delta.content
        if delta.reasoning_content:
            fields["additional_kwargs"] = {"reasoning_content": delta.reasoning_content}
        if delta.tool_calls:
            fields["tool_call_chunks"] = [
                ToolCallChunk(
                    name=call.function.name,
                    args=call.function.arguments,
                    id=call.id or None,
                    index=call.index,
                    type="tool_call_chunk",
                )
                for call in delta.tool_calls
            ]
        if choice.finish_reason:
            metadata.update(
                model_name=chunk.model, finish_reason=choice.finish_reason, system_fingerprint=chunk.system_fingerprint
            )
    if chunk.usage is not None:
        fields["usage_metadata"] = usage_metadata(chunk.usage)
    if chunk.stats is not None:
        metadata.update(_stats(chunk.stats))
    if metadata:
        fields["response_metadata"] = metadata
    return AIMessageChunk(content=content, **fields)
