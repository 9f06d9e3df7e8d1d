"""Typed wire models for what LM Studio sends back (and llama.cpp, which it runs).

Unknown fields are ignored; fields that changed name across LM Studio versions are read
under every name (see the comments). Parsing goes through ``model_validate_json``, the
pydantic-core fast path.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "ChoiceDelta",
    "Completion",
    "EmbeddingResponse",
    "FunctionCall",
    "GenerationStats",
    "ModelInfo",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


class _Wire(BaseModel):
    # Schemas are built on first use, not at import (import time matters for CLIs and notebooks).
    model_config = ConfigDict(extra="ignore", defer_build=True)


class Usage(_Wire):
    """Token counts. LM Studio reports 0 for embeddings on every version."""

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int | None = Field(default=None, ge=0)
    """From ``completion_tokens_details.reasoning_tokens`` (LM Studio 0.4.25+)."""

    @model_validator(mode="before")
    @classmethod
    def _details(cls, data: Any) -> Any:
        if isinstance(data, dict):
            details = data.get("completion_tokens_details")
            if isinstance(details, dict) and "reasoning_tokens" in details:
                data = {**data, "reasoning_tokens": details["reasoning_tokens"]}
        return data


class GenerationStats(_Wire):
    """Generation statistics, when the server reports them.

    LM Studio's native ``/api/v0`` replies carry ``stats``; llama.cpp servers carry
    ``timings``, which are mapped onto the same names.
    """

    tokens_per_second: float | None = None
    time_to_first_token: float | None = Field(
        default=None, validation_alias=AliasChoices("time_to_first_token", "time_to_first_token_seconds")
    )
    """Seconds from request to first token."""
    generation_time: float | None = None
    """Seconds spent generating."""
    stop_reason: str | None = None

    @classmethod
    def from_llama_cpp(cls, timings: dict[str, Any]) -> GenerationStats:
        """Map a llama.cpp ``timings`` object (milliseconds) onto these fields."""
        prompt_ms = timings.get("prompt_ms")
        predicted_ms = timings.get("predicted_ms")
        return cls(
            tokens_per_second=timings.get("predicted_per_second"),
            time_to_first_token=prompt_ms / 1000 if isinstance(prompt_ms, (int, float)) else None,
            generation_time=predicted_ms / 1000 if isinstance(predicted_ms, (int, float)) else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, for framework metadata."""
        return self.model_dump(exclude_none=True)


def _arguments_as_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


#: Tool-call arguments as the JSON text OpenAI sends; some servers send an object, or null.
_Arguments = Annotated[str, BeforeValidator(_arguments_as_text)]


class FunctionCall(_Wire):
    """The function part of a tool call; ``arguments`` is a JSON string."""

    name: str = ""
    arguments: _Arguments = ""


class ToolCall(_Wire):
    """A tool call from the model; ``error`` says why it is unusable (None for a complete call)."""

    id: str = ""
    type: str = "function"
    function: FunctionCall
    error: str | None = Field(default=None, exclude=True)
    """Set by the client, never sent back: the call was cut off by ``max_tokens``, or its arguments
    are not a JSON object (see ``lmstudio_adapters._tool_calls``)."""

    @property
    def is_complete(self) -> bool:
        """Whether the call's arguments are a whole JSON object (safe to run and to send back)."""
        return self.error is None


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


# Field-level converters keep parsing in pydantic-core's fast path (no model-level dict copies).
_Text = Annotated[str, BeforeValidator(_none_to_empty)]


class _MessageFields(_Wire):
    content: _Text = ""
    reasoning_content: _Text = Field(default="", validation_alias=AliasChoices("reasoning_content", "reasoning"))
    """Reasoning kept apart from the answer: LM Studio's ``reasoning_content`` (0.3.9+ with
    separation on), ``reasoning`` (gpt-oss, 0.3.23+), or ``<think>`` tags split off by the client."""


class ChatMessage(_MessageFields):
    """The assistant message of a non-streaming reply."""

    role: str = "assistant"
    tool_calls: Annotated[list[ToolCall], BeforeValidator(_none_to_list)] = Field(default_factory=list)


class _ChatChoice(_Wire):
    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None


_STATS_KEYS = frozenset(
    ("tokens_per_second", "time_to_first_token", "time_to_first_token_seconds", "generation_time", "stop_reason")
)
_LLAMA_CPP_TIMING_KEYS = frozenset(("predicted_per_second", "predicted_ms", "prompt_ms"))


def _stats(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if not _LLAMA_CPP_TIMING_KEYS.isdisjoint(value):
        return GenerationStats.from_llama_cpp(value)
    return None if _STATS_KEYS.isdisjoint(value) else value


class _ReplyMeta(_Wire):
    id: str = ""
    model: str = ""
    created: int = 0
    system_fingerprint: str | None = None
    usage: Usage | None = None
    stats: Annotated[GenerationStats | None, BeforeValidator(_stats)] = Field(
        default=None, validation_alias=AliasChoices("stats", "timings")
    )
    """LM Studio's ``stats``, or else llama.cpp's ``timings`` (milliseconds) read onto the same names."""


class ChatCompletion(_ReplyMeta):
    """A non-streaming chat completion (at least one choice: an answer without one is malformed)."""

    choices: list[_ChatChoice] = Field(min_length=1)

    @property
    def message(self) -> ChatMessage:
        """The first choice's message."""
        return self.choices[0].message

    @property
    def finish_reason(self) -> str | None:
        """The first choice's finish reason (``stop``, ``length``, ``tool_calls``)."""
        return self.choices[0].finish_reason


class FunctionDelta(_Wire):
    """A fragment of a streamed function call."""

    name: str | None = None
    arguments: _Arguments = ""


class ToolCallDelta(_Wire):
    """A fragment of a streamed tool call; only the first fragment carries ``id`` and name."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: FunctionDelta = Field(default_factory=FunctionDelta)


class ChoiceDelta(_MessageFields):
    """What one streamed chunk adds to the message."""

    role: str | None = None
    tool_calls: Annotated[list[ToolCallDelta], BeforeValidator(_none_to_list)] = Field(default_factory=list)


class _ChunkChoice(_Wire):
    index: int = 0
    delta: ChoiceDelta = Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None


class ChatCompletionChunk(_ReplyMeta):
    """One chunk of a streamed chat completion. The usage chunk has no choices."""

    choices: list[_ChunkChoice] = Field(default_factory=list)


class _CompletionChoice(_Wire):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else value


class Completion(_ReplyMeta):
    """A text completion, or one chunk of a streamed one."""

    choices: list[_CompletionChoice]

    @property
    def text(self) -> str:
        """The first choice's text ("" for a usage-only chunk)."""
        return self.choices[0].text if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        """The first choice's finish reason."""
        return self.choices[0].finish_reason if self.choices else None


class _Embedding(_Wire):
    index: int = Field(default=0, ge=0)
    embedding: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(min_length=1)


class EmbeddingResponse(_Wire):
    """Embeddings, one per input, in input order."""

    data: list[_Embedding]
    model: str = ""
    usage: Usage | None = None

    @property
    def embeddings(self) -> list[list[float]]:
        """The vectors ordered by input index."""
        return [item.embedding for item in sorted(self.data, key=lambda item: item.index)]


ModelType = Literal["llm", "vlm", "embeddings"]


class ModelInfo(_Wire):
    """A model the server knows, with as much detail as its API gives.

    On LM Studio 0.2.x (``/v1/models`` only) just ``id`` is known; the native APIs
    (``/api/v0``, 0.3.6+; ``/api/v1``, 0.4.0+) add type, state, context and capabilities.
    """

    id: str
    type: ModelType | None = None
    state: Literal["loaded", "not-loaded"] | None = None
    max_context_length: int | None = None
    loaded_context_length: int | None = None
    quantization: str | None = None
    arch: str | None = None
    publisher: str | None = None
    format: str | None = None
    capabilities: tuple[str, ...] = ()
    """Normalised names: ``tool_use``, ``vision``, ``reasoning``."""
    instances: tuple[str, ...] = ()
    """Ids of the loaded instances (``/api/v1``): the key, ``key:2``, or a custom ``lms load --identifier``."""
    variants: tuple[str, ...] = ()
    """Other names of this model (``/api/v1``), such as ``google/gemma-4-e4b@4bit``."""

    @property
    def is_loaded(self) -> bool | None:
        """True or False when the server says; None when it does not (0.2.x)."""
        return None if self.state is None else self.state == "loaded"

    @property
    def is_embedding_model(self) -> bool:
        """Whether this is an embeddings model (by type, else LM Studio's id convention)."""
        if self.type is not None:
            return self.type == "embeddings"
        return "embed" in self.id.lower()

    @property
    def supports_tools(self) -> bool | None:
        """Whether the model was trained for tool use; None when the server does not say."""
        if self.type is None:
            return None
        return "tool_use" in self.capabilities

    @property
    def supports_vision(self) -> bool | None:
        """Whether the model takes images; None when the server does not say."""
        if self.type is None:
            return None
        return self.type == "vlm" or "vision" in self.capabilities

    @property
    def context_length(self) -> int | None:
        """The context to budget prompts with: the loaded one if known, else the maximum."""
        return self.loaded_context_length or self.max_context_length
