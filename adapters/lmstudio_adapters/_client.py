"""``LMStudioClient``: the synchronous client. Thread-safe; one connection pool per client."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from lmstudio_adapters._attempts import Retry, Steps
from lmstudio_adapters._core import Call, T, core_options, logger
from lmstudio_adapters._deadline import Deadline, current, deadline_transport
from lmstudio_adapters._errors import APIConnectionError, ClientClosedError, LMStudioAdapterError
from lmstudio_adapters._lifecycle import Wait
from lmstudio_adapters._lifecycle_clients import SyncLifecycleMethods
from lmstudio_adapters._limits import MAX_BODY_BYTES, body_too_large
from lmstudio_adapters._schemas import ChatCompletion, ChatCompletionChunk, Completion, EmbeddingResponse, ModelInfo

if TYPE_CHECKING:
    from lmstudio_adapters._config import LMStudioSettings

from lmstudio_adapters._stream import Stream

__all__ = ["LMStudioClient"]


class LMStudioClient(SyncLifecycleMethods):
    """Synchronous client for an LM Studio server (any version from 0.2.8).

    Inference goes to the OpenAI-compatible ``/v1`` routes that every version serves;
    model details come from the native ``/api/v1`` or ``/api/v0`` routes where the server
    has them. Safe to share across threads; use it as a context manager or call
    :meth:`close` to release its connections.

    Args:
        base_url: Server root, with or without ``/v1``. Default: ``LM_STUDIO_URL``.
        model: Default model id. Default: ``LM_STUDIO_MODEL``.
        api_key: Token for servers with authentication on. Default: ``LM_STUDIO_API_KEY``.
        timeout: Seconds each attempt has for its whole answer (a stream: for its first chunk,
            then between chunks that carry something). Default: ``LM_STUDIO_TIMEOUT`` (ms) / 1000.
        max_retries: Retries on connection errors, 408, 429 and 5xx. Default 2.
        api: ``auto`` (detect once), or force ``v1``, ``v0``, ``openai`` for model listing.
        parse_think_tags: Move inline ``<think>`` blocks into ``reasoning_content``.
        stream_usage: Ask for token usage at the end of streams (LM Studio 0.3.18+).
        headers: Extra headers for every request.
        settings: Settings to read defaults from instead of the environment.
        http_client: An ``httpx.Client`` to use instead of the client's own pool.
        max_connections: Most connections open at once (``httpx.Limits(max_connections=...)``);
            more concurrent requests wait for a free one. Default: ``LM_STUDIO_MAX_CONNECTIONS`` (1000).

    Example:
        >>> from lmstudio_adapters import LMStudioClient
        >>> with LMStudioClient() as client:  # doctest: +SKIP
        ...     reply = client.chat([{"role": "user", "content": "Say hi"}], max_tokens=16)
        ...     print(reply.message.content)
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
        http_client: httpx.Client | None = None,
        max_connections: int | None = None,
    ) -> None:
        super().__init__(**core_options(locals()))
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self._timeouts(), transport=deadline_transport(verify=self._verify(), limits=self._limits())
        )
        self._detect_lock = threading.Lock()
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        self._closed = True
        if self._owns_http:
            self._http.close()

    def __del__(self) -> None:
        # A client dropped without close() still releases its own pooled sockets; interpreter
        # teardown may already have removed what close() needs, hence the suppress.
        if getattr(self, "_owns_http", False) and not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):
                self._http.close()

    def __enter__(self) -> LMStudioClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _http_client(self) -> httpx.Client:
        if self._closed:
            raise ClientClosedError("This LMStudioClient was closed (close() or its with block); create a new one.")
        return self._http

    def _detection_lock(self) -> threading.Lock:
        return self._detect_lock

    # --- transport --------------------------------------------------------------------

    def _send(self, call: Call, *, stream: bool) -> tuple[httpx.Response, bytes, Deadline]:
        """Send with retries; return a 2xx response, its body (empty when ``stream``) and its deadline.

        Each attempt has ``call.timeout`` for the whole answer (the head, then the body or the
        first chunk). What follows an attempt that failed is the core's decision (``_attempts``):
        this loop only sends, reads, sleeps before a retry, and runs the failure's plan.
        """
        http = self._http_client()
        attempt = 0
        while True:
            request = self._request(call)
            logger.debug("%s %s (attempt %d)", call.method, request.url, attempt + 1)
            deadline = Deadline(call.timeout)
            token = current.set(deadline)
            try:
                try:
                    with self._guard(call):
                        response = http.send(request, stream=True)
                except APIConnectionError as exc:
                    step = self._after_error(call, attempt, exc)
                else:
                    if response.status_code < 300:
                        return response, b"" if stream else self._read(call, response, deadline), deadline
                    content = self._read(call, response, deadline)
                    step = self._after_refusal(call, attempt, response.status_code, content, response.headers)
            finally:
                current.reset(token)
            if isinstance(step, Retry):
                time.sleep(step.delay)
                attempt += 1
            else:
                call = self._run(step)  # raises the error, explained, or gives the call to send instead

    def _read(self, call: Call, response: httpx.Response, deadline: Deadline) -> bytes:
        """The whole decoded body, within the deadline and ``MAX_BODY_BYTES``; closes the response."""
        parts: list[bytes] = []
        size = 0
        try:
            with self._guard(call):
                for part in response.iter_bytes():
                    size += len(part)
                    if size > MAX_BODY_BYTES:
                        raise body_too_large(method=call.method, url=call.url(self.base_url))
                    parts.append(part)
                    if deadline.expired():  # a given http_client's sockets do not see the deadline
                        raise httpx.ReadTimeout("the answer did not complete in time")
        finally:
            response.close()
        return b"".join(parts)

    def _fetch(self, call: Call) -> bytes:
        """Send a call that is not streamed; return the body of its 2xx answer."""
        return self._send(call, stream=False)[1]

    def _run(self, plan: Steps[T]) -> T:
        """Run a plan from the core: answer each of its steps, throw each package error into it."""
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Call):
                        answer = self._json(step, self._fetch(step))
                    elif isinstance(step, Wait):
                        time.sleep(step.seconds)
                        answer = None
                    else:
                        from lmstudio_adapters._discovery import describe_server  # needs pydantic-settings

                        answer = describe_server(self.base_url, timeout=step.timeout)
                except LMStudioAdapterError as exc:
                    step = plan.throw(exc)
                    continue
                step = plan.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    # --- models -----------------------------------------------------------------------

    def list_models(
        self, *, api: str | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> list[ModelInfo]:
        """List the models the server knows, with type, state, context and capabilities when it says.

        The first call on a client finds the richest model API the server has (``/api/v1``,
        then ``/api/v0``, then ``/v1``) and remembers it, so later calls make one request;
        ``api="auto"`` discovers again, and ``LM_STUDIO_API`` or ``api="v1" | "v0" | "openai"``
        skips discovery.

        Raises:
            APIConnectionError: the server is not reachable.
            AuthenticationError: the server requires a token.
        """
        if api is None and self._detected is None:
            with self._detection_lock():
                return self._run(self._models_plan(api=api, timeout=timeout, max_retries=max_retries))
        return self._run(self._models_plan(api=api, timeout=timeout, max_retries=max_retries))

    def get_model(self, model: str | None = None, *, api: str | None = None) -> ModelInfo:
        """Details of one model (default: the client's model); ``api`` as for :meth:`list_models`.

        ``model`` may be any name LM Studio accepts: the key, a loaded instance id (``my-qwen``,
        ``key:2``), a variant (``key@4bit``) or an ``/api/v0`` id. When the first model list
        lacks it, the server's older model APIs are asked too.

        Raises:
            ModelNotFoundError: the server does not list it; the message lists what it has.
        """
        return self._run(self._model_plan(model, api=api))

    def ping(self, *, timeout: float | None = None) -> bool:
        """Whether the server answers ``GET /v1/models`` within ``timeout`` (default: the probe timeout).

        Never retries and never raises for an unreachable server: it answers in milliseconds
        when the port is closed, and within the probe timeout when the host is silent.
        """
        try:
            self._run(self._models_plan(api="openai", timeout=timeout or self.settings.probe_timeout, max_retries=0))
        except LMStudioAdapterError:
            return False
        return True

    # --- inference --------------------------------------------------------------------

    def chat(
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
        """Send a chat completion and return the whole reply.

        Args:
            messages: OpenAI-style messages (``role`` and ``content``; tool calls and
                results as in the OpenAI API). ``content: None`` is sent as ``""``.
            model: Model id; default the client's.
            tools: OpenAI function tools.
            tool_choice: ``auto``, ``none``, ``required`` (or ``any``), or a tool name
                (emulated: only that tool is sent, with ``required``).
            response_format: ``{"type": "json_schema", ...}``; ``{"type": "json_object"}``
                is sent as a schema of ``{"type": "object"}`` (LM Studio rejects JSON mode).
            extra_body: Fields sent as they are (server-specific options).
            timeout: Seconds for this call.
            max_retries: Retries for this call.
            **params: Sampling fields: ``temperature``, ``top_p``, ``top_k``, ``min_p``,
                ``max_tokens``, ``stop``, ``seed``, ``presence_penalty``,
                ``frequency_penalty``, ``repeat_penalty``, ``logit_bias``, ``logprobs``,
                ``top_logprobs``, ``parallel_tool_calls``, ``ttl``, ``draft_model``.

        Raises:
            InputError: the arguments are invalid (nothing was sent).
            APIError: a subclass naming what went wrong and how to fix it.
        """
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
        return self._finish_chat(self._parse(call, ChatCompletion, self._fetch(call)))

    def stream_chat(
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
    ) -> Stream[ChatCompletionChunk]:
        """Stream a chat completion; takes the same arguments as :meth:`chat`.

        Retries happen only before the first byte arrives. The last chunk carries the
        usage (empty ``choices``) when the server reports it.
        """
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
        response, _, deadline = self._send(call, stream=True)
        return Stream(response, self._chunk_parser(call, ChatCompletionChunk), lambda: self._guard(call), deadline)

    def complete(
        self,
        prompt: str,
        *,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> Completion:
        """Text completion (``/v1/completions``, no chat template), for base models."""
        call = self._completion_call(
            prompt,
            model=model,
            stream=False,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            params=params,
        )
        return self._parse(call, Completion, self._fetch(call))

    def stream_complete(
        self,
        prompt: str,
        *,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> Stream[Completion]:
        """Stream a text completion; takes the same arguments as :meth:`complete`."""
        call = self._completion_call(
            prompt,
            model=model,
            stream=True,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            params=params,
        )
        response, _, deadline = self._send(call, stream=True)
        return Stream(response, self._chunk_parser(call, Completion), lambda: self._guard(call), deadline)

    def embed(
        self,
        texts: str | Sequence[str],
        *,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> EmbeddingResponse:
        """Embed one string or many (strings only: LM Studio rejects token ids)."""
        call = self._embeddings_call(
            texts, model=model, extra_body=extra_body, timeout=timeout, max_retries=max_retries
        )
        sent = 1 if isinstance(texts, str) else len(texts)
        return self._check_embeddings(call, self._parse(call, EmbeddingResponse, self._fetch(call)), sent)
