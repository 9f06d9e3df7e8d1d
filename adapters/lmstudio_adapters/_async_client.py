"""``AsyncLMStudioClient``: the asyncio client, with the methods of ``LMStudioClient``, awaited.

httpx async connections belong to the event loop that opened them, so the client keeps one
pool per running loop: a client made in one loop keeps working when the next loop runs
(LangChain's standard tests run each test in a fresh loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from lmstudio_adapters._attempts import Retry, Steps
from lmstudio_adapters._core import Call, T, core_options, logger
from lmstudio_adapters._deadline import Deadline, async_deadline_transport, current
from lmstudio_adapters._errors import APIConnectionError, ClientClosedError, LMStudioAdapterError
from lmstudio_adapters._lifecycle import Wait
from lmstudio_adapters._lifecycle_clients import AsyncLifecycleMethods
from lmstudio_adapters._limits import MAX_BODY_BYTES, body_too_large
from lmstudio_adapters._loop_pools import LoopPools
from lmstudio_adapters._schemas import ChatCompletion, ChatCompletionChunk, Completion, EmbeddingResponse, ModelInfo

if TYPE_CHECKING:
    from lmstudio_adapters._config import LMStudioSettings

from lmstudio_adapters._stream import AsyncStream

__all__ = ["AsyncLMStudioClient"]


class AsyncLMStudioClient(AsyncLifecycleMethods):
    """Asyncio client for an LM Studio server; the arguments are those of :class:`LMStudioClient`.

    Safe to share across tasks. Use ``async with`` or ``await client.aclose()`` to release
    its connections.

    Example:
        >>> from lmstudio_adapters import AsyncLMStudioClient
        >>> async def main() -> None:  # doctest: +SKIP
        ...     async with AsyncLMStudioClient() as client:
        ...         reply = await client.chat([{"role": "user", "content": "Say hi"}])
        ...         print(reply.message.content)
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        model: str | None = None,
        api_key: str | SecretStr | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        api: str | None = None,
        parse_think_tags: bool = True,
        stream_usage: bool = True,
        headers: Mapping[str, str] | None = None,
        settings: LMStudioSettings | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_connections: int | None = None,
    ) -> None:
        super().__init__(**core_options(locals()))
        self._given_http = http_client
        self._pools = LoopPools(
            lambda: httpx.AsyncClient(
                timeout=self._timeouts(),
                transport=async_deadline_transport(verify=self._verify(), limits=self._limits()),
            )
        )
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------

    async def _http_client(self) -> httpx.AsyncClient:
        if self._closed:
            raise ClientClosedError(
                "This AsyncLMStudioClient was closed (aclose() or the end of its async with block); create a new one."
            )
        if self._given_http is not None:
            return self._given_http
        return await self._pools.pool()

    async def _detection_lock(self) -> asyncio.Lock:
        return await self._pools.lock()

    async def aclose(self) -> None:
        """Close the connection pool of the running loop (pools of finished loops are dropped)."""
        self._closed = True
        await self._pools.close_running()

    async def __aenter__(self) -> AsyncLMStudioClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- transport --------------------------------------------------------------------

    async def _send(self, call: Call, *, stream: bool) -> tuple[httpx.Response, bytes, Deadline]:
        """Send with retries; see :meth:`LMStudioClient._send`."""
        http = await self._http_client()
        attempt = 0
        while True:
            request = self._request(call)
            logger.debug("%s %s (attempt %d)", call.method, request.url, attempt + 1)
            deadline = Deadline(call.timeout)
            token = current.set(deadline)
            try:
                try:
                    with self._guard(call):
                        response = await http.send(request, stream=True)
                except APIConnectionError as exc:
                    step = self._after_error(call, attempt, exc)
                else:
                    if response.status_code < 300:
                        return response, b"" if stream else await self._read(call, response, deadline), deadline
                    content = await self._read(call, response, deadline)
                    step = self._after_refusal(call, attempt, response.status_code, content, response.headers)
            finally:
                current.reset(token)
            if isinstance(step, Retry):
                await asyncio.sleep(step.delay)
                attempt += 1
            else:
                call = await self._run(step)  # raises the error, explained, or gives the call to send instead

    async def _read(self, call: Call, response: httpx.Response, deadline: Deadline) -> bytes:
        """The whole decoded body; see :meth:`LMStudioClient._read`."""
        parts: list[bytes] = []
        size = 0
        try:
            with self._guard(call):
                async for part in response.aiter_bytes():
                    size += len(part)
                    if size > MAX_BODY_BYTES:
                        raise body_too_large(method=call.method, url=call.url(self.base_url))
                    parts.append(part)
                    if deadline.expired():
                        raise httpx.ReadTimeout("the answer did not complete in time")
        finally:
            await response.aclose()
        return b"".join(parts)

    async def _fetch(self, call: Call) -> bytes:
        """Send a call that is not streamed; return the body of its 2xx answer."""
        return (await self._send(call, stream=False))[1]

    async def _run(self, plan: Steps[T]) -> T:
        """Run a plan from the core; see :meth:`LMStudioClient._run`."""
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Call):
                        answer = self._json(step, await self._fetch(step))
                    elif isinstance(step, Wait):
                        await asyncio.sleep(step.seconds)
                        answer = None
                    else:
                        from lmstudio_adapters._discovery import adescribe_server  # needs pydantic-settings

                        answer = await adescribe_server(self.base_url, timeout=step.timeout)
                except LMStudioAdapterError as exc:
                    step = plan.throw(exc)
                    continue
                step = plan.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    # --- models -----------------------------------------------------------------------

    async def list_models(
        self, *, api: str | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> list[ModelInfo]:
        """List the models the server knows; see :meth:`LMStudioClient.list_models`."""
        if api is None and self._detected is None:
            async with await self._detection_lock():
                return await self._run(self._models_plan(api=api, timeout=timeout, max_retries=max_retries))
        return await self._run(self._models_plan(api=api, timeout=timeout, max_retries=max_retries))

    async def get_model(self, model: str | None = None, *, api: str | None = None) -> ModelInfo:
        """Details of one model; see :meth:`LMStudioClient.get_model`."""
        return await self._run(self._model_plan(model, api=api))

    async def ping(self, *, timeout: float | None = None) -> bool:
        """Whether the server answers; see :meth:`LMStudioClient.ping`."""
        try:
            await self._run(
                self._models_plan(api="openai", timeout=timeout or self.settings.probe_timeout, max_retries=0)
            )
        except LMStudioAdapterError:
            return False
        return True

    # --- inference --------------------------------------------------------------------

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: Any = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> ChatCompletion:
        """Send a chat completion; see :meth:`LMStudioClient.chat`."""
        call = self._chat_call(
            messages,
            model=model,
            stream=False,
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            params=params,
        )
        return self._finish_chat(self._parse(call, ChatCompletion, await self._fetch(call)))

    async def stream_chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: Any = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> AsyncStream[ChatCompletionChunk]:
        """Stream a chat completion; see :meth:`LMStudioClient.stream_chat`."""
        call = self._chat_call(
            messages,
            model=model,
            stream=True,
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            params=params,
        )
        response, _, deadline = await self._send(call, stream=True)
        return AsyncStream(response, self._chunk_parser(call, ChatCompletionChunk), lambda: self._guard(call), deadline)

    async def complete(
        self,
        prompt: str,
        *,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> Completion:
        """Text completion; see :meth:`LMStudioClient.complete`."""
        call = self._completion_call(
            prompt,
            model=model,
            stream=False,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            params=params,
        )
        return self._parse(call, Completion, await self._fetch(call))

    async def stream_complete(
        self,
        prompt: str,
        *,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> AsyncStream[Completion]:
        """Stream a text completion; see :meth:`LMStudioClient.stream_complete`."""
        call = self._completion_call(
            prompt,
            model=model,
            stream=True,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            params=params,
        )
        response, _, deadline = await self._send(call, stream=True)
        return AsyncStream(response, self._chunk_parser(call, Completion), lambda: self._guard(call), deadline)

    async def embed(
        self,
        texts: str | Sequence[str],
        *,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> EmbeddingResponse:
        """Embed one string or many; see :meth:`LMStudioClient.embed`."""
        call = self._embeddings_call(
            texts, model=model, extra_body=extra_body, timeout=timeout, max_retries=max_retries
        )
        sent = 1 if isinstance(texts, str) else len(texts)
        return self._check_embeddings(call, self._parse(call, EmbeddingResponse, await self._fetch(call)), sent)
