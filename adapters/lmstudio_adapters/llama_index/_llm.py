"""``LMStudioLLM``: a LlamaIndex function-calling LLM over the shared LM Studio client."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import BaseModel, Field, PrivateAttr, SecretStr
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.program.utils import create_flexible_model
from llama_index.core.prompts import PromptTemplate

from lmstudio_adapters._adapter_base import AdapterModel
from lmstudio_adapters._errors import APIConnectionError, LMStudioAdapterError
from lmstudio_adapters._model_config import refuse_unknown
from lmstudio_adapters._requests import split_call_options
from lmstudio_adapters._schemas import ChatCompletion, ModelInfo
from lmstudio_adapters.llama_index._messages import (
    StreamState,
    no_tool_call_error,
    parse_partial_json,
    partial_object,
    raise_for_invalid_calls,
    reply_to_message,
    to_wire_messages,
    usage_dict,
)

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = ["LMStudioLLM", "no_tool_call_error"]

_SAMPLING = ("temperature", "max_tokens", "top_p", "top_k", "min_p", "repeat_penalty", "seed", "ttl")


class LMStudioLLM(AdapterModel, FunctionCallingLLM):
    """LLM served by LM Studio, for LlamaIndex: use it as ``Settings.llm`` or in any engine or agent.

    Tool calling (``FunctionAgent``, ``predict_and_call``), structured output through LM
    Studio's ``json_schema`` mode, streaming, async, reasoning kept in ``ThinkingBlock``s.
    ``context_window`` and ``is_function_calling_model`` are read from the server once (its
    native model API) unless you set them.

    Example:
        .. code-block:: python

            from llama_index.core import Settings
            from lmstudio_adapters.llama_index import LMStudioLLM

            Settings.llm = LMStudioLLM(model="qwen/qwen3-4b", temperature=0)
            print(Settings.llm.complete("Name a prime number.").text)
    """

    model: str = Field(default="", description="Model id as LM Studio lists it (LM_STUDIO_MODEL).")
    base_url: str = Field(default="", description="Server root, with or without /v1 (LM_STUDIO_URL).")
    api_key: SecretStr | None = Field(default=None, exclude=True, description="Token (LM_STUDIO_API_KEY).")
    temperature: float | None = Field(default=None, description="Sampling temperature.")
    max_tokens: int | None = Field(default=None, description="Most tokens to generate.")
    top_p: float | None = Field(default=None, description="Nucleus sampling.")
    top_k: int | None = Field(default=None, description="Top-k sampling (LM Studio).")
    min_p: float | None = Field(default=None, description="Min-p sampling (LM Studio).")
    repeat_penalty: float | None = Field(default=None, description="Repeat penalty (LM Studio).")
    seed: int | None = Field(default=None, description="Random seed.")
    ttl: int | None = Field(default=None, description="Seconds LM Studio keeps a just-in-time loaded model.")
    context_window: int | None = Field(default=None, description="Context size; default: from the server.")
    is_chat_model: bool = Field(default=True, description="Whether prompts go through the chat template.")
    is_function_calling_model: bool | None = Field(
        default=None, description="Whether the model calls tools; default: from the server, else True."
    )
    request_timeout: float | None = Field(default=None, description="Seconds per request (LM_STUDIO_TIMEOUT/1000).")
    max_retries: int | None = Field(default=None, description="Retries on connection errors, 429 and 5xx.")
    max_connections: int | None = Field(
        default=None, ge=1, description="Most connections open at once (LM_STUDIO_MAX_CONNECTIONS, 1000)."
    )
    additional_kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra request fields, sent as is.")

    _model_info: tuple[ModelInfo | None] | None = PrivateAttr(default=None)  # (the answer,) once asked
    # to_dict()'s class_name; `timeout` and `model_name` (llama-index-llms-lmstudio's name) are taken as aliases.
    _also_accepted: ClassVar[tuple[str, ...]] = ("class_name",)

    @classmethod
    def _take_unknown(cls, values: Any) -> Any:
        # LlamaIndex models take only their fields, and pydantic would drop a typo silently.
        refuse_unknown(
            values, cls._accepted, owner=cls.__name__, hint="Pass request fields in additional_kwargs={...}."
        )
        return values

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "LMStudioLLM"

    # --- server facts -----------------------------------------------------------------

    def model_info(self) -> ModelInfo | None:
        """What the server says about this model (asked once); None if it cannot say.

        Raises:
            APIConnectionError: the server cannot be reached. LlamaIndex reads ``metadata``
                before every call, so the call fails here, once, instead of failing this lookup
                (with its retries) and then again (with its own); the next call asks again.
        """
        if self._model_info is None:
            try:
                # Discover afresh (api="auto"), not from the shared client's memory, so this LLM
                # makes the same requests whatever ran before it (cassettes replay the same).
                info = self.client.get_model(self.model, api=self._discovery_api())
            except APIConnectionError:
                raise
            except LMStudioAdapterError:
                info = None  # not listed, or no model API: the defaults apply
            self._model_info = (info,)
        return self._model_info[0]

    def _discovery_api(self) -> str:
        from lmstudio_adapters._config import current_settings  # pydantic-settings, on first use

        return str(current_settings().api)

    @property
    def metadata(self) -> LLMMetadata:
        """Context window, output size and capabilities; constructor values win over the server's.

        Raises:
            APIConnectionError: the server is needed for a value not given and cannot be reached.
        """
        info = None
        if self.context_window is None or self.is_function_calling_model is None:
            info = self.model_info()
        context = self.context_window or (info.context_length if info else None) or DEFAULT_CONTEXT_WINDOW
        calls_tools = self.is_function_calling_model
        if calls_tools is None:
            calls_tools = info.supports_tools if info is not None and info.supports_tools is not None else True
        return LLMMetadata(
            context_window=context,
            num_output=self.max_tokens if self.max_tokens and self.max_tokens > 0 else DEFAULT_NUM_OUTPUTS,
            is_chat_model=self.is_chat_model,
            is_function_calling_model=calls_tools,
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    # --- requests ---------------------------------------------------------------------

    def _request(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> dict[str, Any]:
        fields, extra, options = split_call_options({**self.additional_kwargs, **kwargs})
        request: dict[str, Any] = {name: getattr(self, name) for name in _SAMPLING if getattr(self, name) is not None}
        request.update(fields)
        request["model"] = fields.get("model") or self.model
        request.update(options)
        request["extra_body"] = extra or None
        request["messages"] = to_wire_messages(messages)
        return request

    @staticmethod
    def _response(completion: ChatCompletion) -> ChatResponse:
        extra: dict[str, Any] = usage_dict(completion.usage)
        if completion.stats is not None:
            extra["stats"] = completion.stats.as_dict()
        return ChatResponse(message=reply_to_message(completion.message), raw=completion, additional_kwargs=extra)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat; ``tools``, ``tool_choice``, ``response_format`` and sampling fields may be given."""
        return self._response(self.client.chat(**self._request(messages, kwargs)))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`."""
        return self._response(await self.async_client.chat(**self._request(messages, kwargs)))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream a chat: each response has the ``delta`` and the whole message so far."""
        request = self._request(messages, kwargs)

        def gen() -> Generator[ChatResponse, None, None]:
            state = StreamState()
            with self.client.stream_chat(**request) as stream:
                for chunk in stream:
                    response = state.add(chunk)
                    if response is not None:
                        yield response

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`: await it, then ``async for``."""
        request = self._request(messages, kwargs)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            state = StreamState()
            stream = await self.async_client.stream_chat(**request)
            async with stream:
                async for chunk in stream:
                    response = state.add(chunk)
                    if response is not None:
                        yield response

        return gen()

    # --- completion: through the chat template unless is_chat_model=False ---------------

    def _completion_request(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        request = self._request([], kwargs)
        for name in ("messages", "tools", "tool_choice", "response_format"):
            request.pop(name, None)
        return request

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete ``prompt`` (as a user message for chat models, raw text otherwise)."""
        if self.is_chat_model:
            return chat_to_completion_decorator(self.chat)(prompt, **kwargs)
        reply = self.client.complete(prompt, **self._completion_request(kwargs))
        return CompletionResponse(text=reply.text, raw=reply, additional_kwargs=usage_dict(reply.usage))

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Async :meth:`complete`."""
        if self.is_chat_model:
            return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)
        reply = await self.async_client.complete(prompt, **self._completion_request(kwargs))
        return CompletionResponse(text=reply.text, raw=reply, additional_kwargs=usage_dict(reply.usage))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """Stream a completion: ``delta`` and the text so far."""
        if self.is_chat_model:
            return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)
        request = self._completion_request(kwargs)

        def from_text() -> Generator[CompletionResponse, None, None]:
            text = ""
            with self.client.stream_complete(prompt, **request) as stream:
                for chunk in stream:
                    if chunk.text:
                        text += chunk.text
                        yield CompletionResponse(text=text, delta=chunk.text, raw=chunk)

        return from_text()

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`."""
        if self.is_chat_model:
            return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)
        request = self._completion_request(kwargs)

        async def from_text() -> AsyncGenerator[CompletionResponse, None]:
            text = ""
            stream = await self.async_client.stream_complete(prompt, **request)
            async with stream:
                async for chunk in stream:
                    if chunk.text:
                        text += chunk.text
                        yield CompletionResponse(text=text, delta=chunk.text, raw=chunk)

        return from_text()

    # --- tools ------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Messages and tool fields for :meth:`chat`: ``tool_required`` → ``required``, else ``auto``.

        A tool name (or the OpenAI object form) as ``tool_choice`` is emulated by sending only
        that tool with ``required``, since LM Studio ignores the object form.
        """
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        specs = [tool.metadata.to_openai_tool() for tool in tools]
        if isinstance(tool_choice, dict):
            function = tool_choice.get("function")
            tool_choice = function.get("name") if isinstance(function, dict) else None
        if tool_choice is None:
            tool_choice = "required" if tool_required else "auto"
        return {
            "messages": messages,
            "tools": specs or None,
            "tool_choice": tool_choice if specs else None,
            "parallel_tool_calls": allow_parallel_tool_calls if specs else None,
            **kwargs,
        }

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            calls = [block for block in response.message.blocks if isinstance(block, ToolCallBlock)]
            if len(calls) > 1:
                response.message.blocks = [
                    block for block in response.message.blocks if not isinstance(block, ToolCallBlock)
                ] + calls[:1]
                if response.message.additional_kwargs.get("tool_calls"):
                    response.message.additional_kwargs["tool_calls"] = response.message.additional_kwargs["tool_calls"][
                        :1
                    ]
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The tool calls in a reply, also mid-stream (partial arguments are parsed leniently).

        Raises:
            ToolCallError: a call was cut off by ``max_tokens`` or is not JSON (a ``ValueError``).
            ValueError: there is no call and ``error_on_no_tool_call`` is True.
        """
        raise_for_invalid_calls(response.message)
        selections = []
        for index, block in enumerate(b for b in response.message.blocks if isinstance(b, ToolCallBlock)):
            arguments = block.tool_kwargs
            kwargs_dict = parse_partial_json(arguments) if isinstance(arguments, str) else dict(arguments)
            call_id = block.tool_call_id or f"call_{index}"
            selections.append(ToolSelection(tool_id=call_id, tool_name=block.tool_name, tool_kwargs=kwargs_dict))
        if not selections and error_on_no_tool_call:
            raise no_tool_call_error(response)
        return selections

    # --- structured output through LM Studio's json_schema ----------------------------------

    def _schema_format(self, output_cls: type[BaseModel]) -> dict[str, Any]:
        schema = output_cls.model_json_schema()
        return {"type": "json_schema", "json_schema": {"name": output_cls.__name__, "schema": schema}}

    def structured_predict(
        self,
        output_cls: type[Any],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Fill ``output_cls`` from the prompt with LM Studio's grammar-constrained ``json_schema`` output."""
        messages = prompt.format_messages(**prompt_args)
        response = self.chat(messages, response_format=self._schema_format(output_cls), **(llm_kwargs or {}))
        return output_cls.model_validate_json(response.message.content or "")

    async def astructured_predict(
        self,
        output_cls: type[Any],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Async :meth:`structured_predict`."""
        messages = prompt.format_messages(**prompt_args)
        response = await self.achat(messages, response_format=self._schema_format(output_cls), **(llm_kwargs or {}))
        return output_cls.model_validate_json(response.message.content or "")

    def stream_structured_predict(
        self,
        output_cls: type[Any],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        """Stream partial objects (``FlexibleModel``) and end with a complete ``output_cls`` instance."""
        messages = prompt.format_messages(**prompt_args)
        stream = self.stream_chat(messages, response_format=self._schema_format(output_cls), **(llm_kwargs or {}))

        def gen() -> Generator[Any, None, None]:
            flexible = create_flexible_model(output_cls)
            text = ""
            for response in stream:
                text = response.message.content or ""
                yield partial_object(flexible, text)
            yield output_cls.model_validate_json(text)

        return gen()

    async def astream_structured_predict(
        self,
        output_cls: type[Any],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        """Async :meth:`stream_structured_predict`."""
        messages = prompt.format_messages(**prompt_args)
        stream = await self.astream_chat(
            messages, response_format=self._schema_format(output_cls), **(llm_kwargs or {})
        )

        async def gen() -> AsyncGenerator[Any, None]:
            flexible = create_flexible_model(output_cls)
            text = ""
            async for response in stream:
                text = response.message.content or ""
                yield partial_object(flexible, text)
            yield output_cls.model_validate_json(text)

        return gen()
