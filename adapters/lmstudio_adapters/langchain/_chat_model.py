"""``LMStudioChatModel``: a LangChain chat model over the shared LM Studio client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput, ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field

from lmstudio_adapters._adapter_base import AdapterModel
from lmstudio_adapters._errors import LMStudioAdapterError
from lmstudio_adapters._model_config import move_unknown
from lmstudio_adapters._requests import SAMPLING_FIELDS, split_call_options
from lmstudio_adapters._tool_calls import ToolCallAssembler
from lmstudio_adapters.langchain._base import LangChainClientFields
from lmstudio_adapters.langchain._errors import as_langchain_error
from lmstudio_adapters.langchain._messages import (
    PROVIDER,
    chunk_to_message,
    completion_to_message,
    streamed_result,
    to_wire_messages,
)
from lmstudio_adapters.langchain._structured import structured_output

__all__ = ["LMStudioChatModel"]

_SAMPLING_KEYS = tuple(name for name in SAMPLING_FIELDS if name != "stop")  # `stop` is LangChain's own argument
# Per-call keyword arguments LangChain passes for itself, never sent.
_LANGCHAIN_ONLY = frozenset({"ls_structured_output_format", "stream"})


class LMStudioChatModel(AdapterModel, LangChainClientFields, BaseChatModel):
    """Chat model served by LM Studio (or any OpenAI-compatible local server).

    Drop it in wherever you used ``ChatOpenAI`` or ``ChatOllama``. Defaults come from the
    ``LM_STUDIO_*`` environment (see ``LMStudioSettings``); arguments win.

    Setup:
        .. code-block:: bash

            pip install "lmstudio-adapters[langchain]"
            export LM_STUDIO_URL=http://localhost:1234   # the default
            export LM_STUDIO_MODEL=qwen/qwen3-4b

    Key init args (completion params):
        model: Model id (``LM_STUDIO_MODEL``).
        temperature, max_tokens, top_p, top_k, min_p, repeat_penalty, seed, stop: Sampling.
        ttl: Seconds LM Studio keeps a just-in-time loaded model.
        model_kwargs: Extra request fields, sent as they are.

    Key init args (client params):
        base_url: Server root, with or without ``/v1`` (``LM_STUDIO_URL``).
        api_key: Token for servers with authentication on (``LM_STUDIO_API_KEY``).
        timeout: Seconds per request (``LM_STUDIO_TIMEOUT`` is in milliseconds).
        max_retries: Retries on connection errors, 429 and 5xx.
        max_connections: Most connections open at once (``LM_STUDIO_MAX_CONNECTIONS``, 1000).

    Instantiate:
        .. code-block:: python

            from lmstudio_adapters.langchain import LMStudioChatModel

            llm = LMStudioChatModel(model="qwen/qwen3-4b", temperature=0, max_tokens=256)

    Invoke:
        .. code-block:: python

            llm.invoke("Name a prime number.").content  # '7'

    Stream:
        .. code-block:: python

            for chunk in llm.stream("Count to three."):
                print(chunk.content, end="")

    Async:
        .. code-block:: python

            await llm.ainvoke("Hi")
            async for chunk in llm.astream("Hi"):
                ...

    Tool calling:
        .. code-block:: python

            def add(a: int, b: int) -> int:
                \"\"\"Add two integers.\"\"\"
                return a + b

            msg = llm.bind_tools([add], tool_choice="add").invoke("What is 2 + 3?")
            msg.tool_calls  # [{'name': 'add', 'args': {'a': 2, 'b': 3}, 'id': '...', 'type': 'tool_call'}]

    Structured output:
        .. code-block:: python

            from pydantic import BaseModel

            class Person(BaseModel):
                name: str
                age: int

            llm.with_structured_output(Person).invoke("Alice is 30.")  # Person(name='Alice', age=30)

    Reasoning models:
        The reasoning text is kept out of ``content``, in
        ``additional_kwargs["reasoning_content"]`` (a ``reasoning`` content block in
        ``content_blocks``), whether LM Studio separates it or leaves ``<think>`` tags inline.

    Response metadata:
        ``model_name``, ``finish_reason`` and, when the server reports them, ``stats``
        (``tokens_per_second``, ``time_to_first_token``); ``usage_metadata`` on the message.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    # model, base_url, api_key, timeout, max_retries, max_connections: from LangChainClientFields.
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    ttl: int | None = None
    """Seconds LM Studio keeps a model it loaded just in time for this request."""
    streaming: bool = False
    """Whether ``invoke`` streams under the hood."""
    stream_usage: bool = True
    """Ask for token usage at the end of streams (LM Studio 0.3.18+)."""
    parse_think_tags: bool = True
    """Move inline ``<think>`` blocks out of the answer into the reasoning."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields, sent as they are."""

    @classmethod
    def _take_unknown(cls, values: Any) -> Any:
        return move_unknown(values, cls._accepted, owner=cls.__name__, into="model_kwargs")

    # --- LangChain plumbing -----------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "lmstudio-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """The model can be saved with ``dumpd`` (the API key as a secret reference)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Where ``load`` finds this class."""
        return ["lmstudio_adapters", "langchain"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Secrets and the environment variables they come from."""
        return {"api_key": "LM_STUDIO_API_KEY"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, **self._sampling()}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = PROVIDER
        params["ls_model_name"] = kwargs.get("model") or self.model
        params["ls_model_type"] = "chat"
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stop = stop or kwargs.get("stop") or self.stop
        if stop:
            params["ls_stop"] = stop
        return params

    # --- requests ---------------------------------------------------------------------

    def _sampling(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _SAMPLING_ATTRIBUTES if getattr(self, key) is not None}

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs = {k: v for k, v in kwargs.items() if k not in _LANGCHAIN_ONLY}
        fields, extra, options = split_call_options(kwargs)
        request: dict[str, Any] = self._sampling()
        request.update(fields)
        request["model"] = fields.get("model") or self.model
        stop = stop if stop is not None else fields.get("stop") or self.stop
        request.pop("stop", None)
        if stop:
            request["stop"] = stop
        request.update(options)
        request["extra_body"] = {**self.model_kwargs, **extra} or None
        request["messages"] = to_wire_messages(messages)
        return request

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return streamed_result(list(self._stream(messages, stop=stop, run_manager=run_manager, **kwargs)))
        request = self._request(messages, stop, kwargs)
        try:
            completion = self.client.chat(**request)
        except LMStudioAdapterError as exc:
            raise as_langchain_error(exc) from exc
        return _result(completion_to_message(completion))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return streamed_result(
                [c async for c in self._astream(messages, stop=stop, run_manager=run_manager, **kwargs)]
            )
        request = self._request(messages, stop, kwargs)
        try:
            completion = await self.async_client.chat(**request)
        except LMStudioAdapterError as exc:
            raise as_langchain_error(exc) from exc
        return _result(completion_to_message(completion))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        try:
            with self.client.stream_chat(**request) as stream:
                first, calls = True, ToolCallAssembler()
                for chunk in stream:
                    generation = ChatGenerationChunk(message=chunk_to_message(chunk, first=first, calls=calls))
                    first = False
                    if run_manager is not None and isinstance(generation.message.content, str):
                        run_manager.on_llm_new_token(generation.message.content, chunk=generation)
                    yield generation
        except LMStudioAdapterError as exc:
            raise as_langchain_error(exc) from exc

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        try:
            stream = await self.async_client.stream_chat(**request)
            async with stream:
                first, calls = True, ToolCallAssembler()
                async for chunk in stream:
                    generation = ChatGenerationChunk(message=chunk_to_message(chunk, first=first, calls=calls))
                    first = False
                    if run_manager is not None and isinstance(generation.message.content, str):
                        await run_manager.on_llm_new_token(generation.message.content, chunk=generation)
                    yield generation
        except LMStudioAdapterError as exc:
            raise as_langchain_error(exc) from exc

    # --- tools and structured output ----------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (functions, pydantic models, ``BaseTool`` or OpenAI dicts) to the model.

        Args:
            tools: The tools.
            tool_choice: ``"auto"``, ``"none"``, ``"required"``/``"any"``/``True`` (a call is
                forced), or a tool name. LM Studio ignores the OpenAI object form, so a named
                tool is sent alone with ``"required"``.
            strict: Ask for arguments that follow the schema exactly.
            parallel_tool_calls: Allow several calls in one turn.
            **kwargs: Further request fields bound with the tools.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        if tool_choice is True or tool_choice == "any":
            tool_choice = "required"
        elif isinstance(tool_choice, dict):
            function = tool_choice.get("function")
            tool_choice = function.get("name") if isinstance(function, dict) else tool_choice.get("name")
        elif tool_choice is False:
            tool_choice = None
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Return output parsed into ``schema`` (a pydantic class, TypedDict or JSON Schema).

        Args:
            schema: The output schema.
            method: ``json_schema`` (LM Studio's grammar-constrained structured output, the
                default), ``function_calling`` (a forced tool call) or ``json_mode`` (any
                JSON object; sent as a ``json_schema`` of ``{"type": "object"}``).
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising on
                a parse failure.
            strict: Passed on with the schema.
            **kwargs: Must be empty.
        """
        if kwargs:
            raise ValueError(f"Unexpected arguments: {sorted(kwargs)}")
        return structured_output(self, schema, method=method, include_raw=include_raw, strict=strict)

    # --- server facts -----------------------------------------------------------------

    def fetch_profile(self) -> ModelProfile:
        """Ask the server what this model can do and store it in ``profile``.

        Uses LM Studio's native model API where the server has it (tool use, vision,
        context length); on older servers only the defaults are known.
        """
        try:
            from lmstudio_adapters._config import current_settings  # pydantic-settings, on first use

            info = self.client.get_model(self.model, api=current_settings().api)
        except LMStudioAdapterError as exc:
            raise as_langchain_error(exc) from exc
        profile = ModelProfile(text_inputs=True, text_outputs=True, structured_output=True, tool_choice=True)
        if info.supports_tools is not None:
            profile["tool_calling"] = info.supports_tools
        if info.supports_vision is not None:
            profile["image_inputs"] = info.supports_vision
        if info.context_length:
            profile["max_input_tokens"] = info.context_length
        if "reasoning" in info.capabilities:
            profile["reasoning_output"] = True
        self.profile = profile
        return profile


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(
        generations=[ChatGeneration(message=message)],
        llm_output={"model_name": message.response_metadata.get("model_name")},
    )


# The sampling fields that are also model attributes (the others are per-call only); probing
# missing attributes would cost pydantic an AttributeError per name and per call.
_SAMPLING_ATTRIBUTES = tuple(name for name in _SAMPLING_KEYS if name in LMStudioChatModel.model_fields)
