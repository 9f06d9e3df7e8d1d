"""``select_llm`` / ``select_embedding``: LM Studio when it can serve, else the official cloud integration."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.bridge.pydantic import SerializeAsAny
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import LLM, ToolSelection

from lmstudio_adapters import providers
from lmstudio_adapters._config import LMStudioSettings
from lmstudio_adapters._errors import APIConnectionError, ConfigError
from lmstudio_adapters._selector import decide_backend
from lmstudio_adapters.llama_index._embedding import LMStudioEmbedding
from lmstudio_adapters.llama_index._llm import LMStudioLLM, no_tool_call_error

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = ["LMStudioFallbackLLM", "select_embedding", "select_llm"]

logger = logging.getLogger("lmstudio_adapters.selector")


class LMStudioFallbackLLM(FunctionCallingLLM):
    """An LLM that uses LM Studio and switches to a cloud LLM when a call cannot reach LM Studio.

    Only connection failures before any output switch over (``APIConnectionError``); every
    other error is raised as it is. Made by ``select_llm(..., runtime_fallback=True)``.
    """

    primary: SerializeAsAny[LLM]
    fallback: SerializeAsAny[LLM]

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "LMStudioFallbackLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """The local model's metadata; the cloud model's while LM Studio cannot be reached."""
        try:
            return self.primary.metadata
        except APIConnectionError:
            return self.fallback.metadata

    def _switch(self, exc: Exception) -> None:
        logger.warning("LM Studio call failed (%s); using the cloud fallback", exc)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat on LM Studio, or on the cloud LLM when LM Studio cannot be reached."""
        try:
            return self.primary.chat(messages, **kwargs)
        except APIConnectionError as exc:
            self._switch(exc)
            return self.fallback.chat(messages, **kwargs)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`."""
        try:
            return await self.primary.achat(messages, **kwargs)
        except APIConnectionError as exc:
            self._switch(exc)
            return await self.fallback.achat(messages, **kwargs)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete on LM Studio, or on the cloud LLM when LM Studio cannot be reached."""
        try:
            return self.primary.complete(prompt, formatted=formatted, **kwargs)
        except APIConnectionError as exc:
            self._switch(exc)
            return self.fallback.complete(prompt, formatted=formatted, **kwargs)

    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Async :meth:`complete`."""
        try:
            return await self.primary.acomplete(prompt, formatted=formatted, **kwargs)
        except APIConnectionError as exc:
            self._switch(exc)
            return await self.fallback.acomplete(prompt, formatted=formatted, **kwargs)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream from LM Studio; switch only if the first chunk cannot be had."""
        return _first_or_fallback(
            lambda: self.primary.stream_chat(messages, **kwargs),
            lambda: self.fallback.stream_chat(messages, **kwargs),
            self._switch,
        )

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """Stream a completion; switch only if the first chunk cannot be had."""
        return _first_or_fallback(
            lambda: self.primary.stream_complete(prompt, formatted=formatted, **kwargs),
            lambda: self.fallback.stream_complete(prompt, formatted=formatted, **kwargs),
            self._switch,
        )

    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`."""

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            try:
                stream = await self.primary.astream_chat(messages, **kwargs)
                first = await stream.__anext__()
            except APIConnectionError as exc:
                self._switch(exc)
                async for item in await self.fallback.astream_chat(messages, **kwargs):
                    yield item
                return
            yield first
            async for item in stream:
                yield item

        return gen()

    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`."""

        async def gen() -> AsyncGenerator[CompletionResponse, None]:
            try:
                stream = await self.primary.astream_complete(prompt, formatted=formatted, **kwargs)
                first = await stream.__anext__()
            except APIConnectionError as exc:
                self._switch(exc)
                async for item in await self.fallback.astream_complete(prompt, formatted=formatted, **kwargs):
                    yield item
                return
            yield first
            async for item in stream:
                yield item

        return gen()

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if not isinstance(self.primary, FunctionCallingLLM):  # pragma: no cover - select_llm builds LMStudioLLM
            raise ConfigError("The primary LLM does not call tools.")
        return self.primary._prepare_chat_with_tools(
            tools,
            user_msg=user_msg,
            chat_history=chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            tool_required=tool_required,
            **kwargs,
        )

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Tool calls from a response of either LLM."""
        for llm in (self.primary, self.fallback):
            if isinstance(llm, FunctionCallingLLM):
                calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False, **kwargs)
                if calls:
                    return calls
        if error_on_no_tool_call:
            raise no_tool_call_error(response)
        return []


def _first_or_fallback(primary: Any, fallback: Any, on_switch: Any) -> Generator[Any, None, None]:
    try:
        stream = primary()
        first = next(stream)
    except APIConnectionError as exc:
        on_switch(exc)
        yield from fallback()
        return
    yield first
    yield from stream


def select_llm(
    model: str | None = None,
    *,
    base_url: str | None = None,
    fallback: str | None = None,
    prefer: str | None = None,
    runtime_fallback: bool = False,
    cloud_kwargs: dict[str, Any] | None = None,
    settings: LMStudioSettings | None = None,
    **kwargs: Any,
) -> LLM:
    """An ``LMStudioLLM`` when LM Studio serves ``model``, else the official LlamaIndex cloud LLM.

    ``openai:…`` builds ``llama_index.llms.openai.OpenAI``, ``anthropic:…`` the Anthropic
    integration, ``openai-compatible:…`` ``OpenAILike`` (with ``cloud_kwargs={"base_url": …}``),
    each imported only when chosen. The decision is logged on ``lmstudio_adapters.selector``.

    Args:
        model: LM Studio model id (``LM_STUDIO_MODEL``).
        base_url: LM Studio URL (``LM_STUDIO_URL``).
        fallback: Cloud model as ``provider:model`` (``LM_STUDIO_FALLBACK``).
        prefer: ``local``, ``cloud`` or ``local-only`` (``LM_STUDIO_PREFER``).
        runtime_fallback: Wrap the local LLM so a later connection failure switches to the cloud LLM.
        cloud_kwargs: Arguments for the cloud LLM (``api_key``, ``base_url``, ``temperature``…).
        settings: Settings to read defaults from instead of the environment.
        **kwargs: Arguments for ``LMStudioLLM``; ``temperature``, ``max_tokens``, ``timeout``
            and ``max_retries`` among them go to the cloud LLM too, unless ``cloud_kwargs`` sets them.

    Raises:
        NoBackendError: LM Studio cannot serve and no cloud fallback is allowed or configured.
        MissingDependencyError: the cloud LLM's integration is not installed (names the pip install).
        ConfigError: the cloud LLM cannot be built (no API key, no ``base_url``).
    """
    decision = decide_backend(
        model, base_url=base_url, fallback=fallback, prefer=prefer, api_key=kwargs.get("api_key"), settings=settings
    )
    if decision.target == "cloud":
        return providers.build_fallback(decision, "llm", cloud_kwargs, shared=kwargs)  # type: ignore[no-any-return]
    local = LMStudioLLM(model=decision.model, base_url=decision.base_url, **kwargs)
    if not runtime_fallback:
        return local
    cloud = providers.build_fallback(decision, "llm", cloud_kwargs, shared=kwargs)
    return LMStudioFallbackLLM(primary=local, fallback=cloud)


def select_embedding(
    model: str | None = None,
    *,
    base_url: str | None = None,
    fallback: str | None = None,
    prefer: str | None = None,
    cloud_kwargs: dict[str, Any] | None = None,
    settings: LMStudioSettings | None = None,
    **kwargs: Any,
) -> BaseEmbedding:
    """``LMStudioEmbedding`` when LM Studio serves ``model``, else the cloud embedding integration.

    ``**kwargs`` go to ``LMStudioEmbedding`` only; the cloud embedding gets ``cloud_kwargs``.
    """
    decision = decide_backend(
        model, base_url=base_url, fallback=fallback, prefer=prefer, api_key=kwargs.get("api_key"), settings=settings
    )
    if decision.target == "cloud":
        return providers.build_fallback(decision, "embedding", cloud_kwargs)  # type: ignore[no-any-return]
    return LMStudioEmbedding(model_name=decision.model, base_url=decision.base_url, **kwargs)
