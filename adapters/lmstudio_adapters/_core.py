"""What the sync and async clients share: configuration, request building, parsing, errors.

Only the I/O differs between ``LMStudioClient`` and ``AsyncLMStudioClient``; everything a
request or a response goes through lives here, so both behave the same byte for byte.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import ssl
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import certifi
import httpx
from pydantic import SecretStr

from lmstudio_adapters._answers import AnswerReader
from lmstudio_adapters._call import Call
from lmstudio_adapters._checks import (
    API_FLAVORS,
    check_api_key,
    check_choice,
    check_max_connections,
    check_max_retries,
    check_timeout,
)
from lmstudio_adapters._errors import APIStatusError, AuthenticationError
from lmstudio_adapters._mapping import (
    is_unknown_route,
    map_transport_errors,
    model_not_found,
    not_lm_studio,
)
from lmstudio_adapters._requests import (
    SAMPLING_FIELDS,
    build_chat_body,
    build_completion_body,
    build_embeddings_body,
    dumps,
)
from lmstudio_adapters._routes import (
    DEFAULT_MODEL,
    MODELS_ROUTES,
    DetectedApi,
    find_model,
    parse_models,
    sole_chat_model,
)
from lmstudio_adapters._schemas import ModelInfo
from lmstudio_adapters._urls import normalize_base_url
from lmstudio_adapters._version import __version__

if TYPE_CHECKING:
    from lmstudio_adapters._config import LMStudioSettings

__all__ = [
    "CONNECT_TIMEOUT",
    "EXPLAIN_TIMEOUT",
    "KEEPALIVE_EXPIRY",
    "POOL_TIMEOUT",
    "Call",
    "ClientCore",
    "Plan",
    "core_options",
]

logger = logging.getLogger("lmstudio_adapters")

#: A local server answers a connect at once or is not there; LAN servers still fit in this.
CONNECT_TIMEOUT = 5.0
#: LM Studio (Express) drops idle keep-alive sockets after 5 s: release ours before that.
KEEPALIVE_EXPIRY = 4.0
#: Idle connections kept for reuse (the OpenAI SDK's figure; httpx keeps 20).
MAX_KEEPALIVE = 100
#: Seconds a request may wait for a free connection when all ``max_connections`` are busy. Kept
#: apart from the request's own timeout (never shorter), which starts once it has a connection:
#: with a deliberately small limit, queued requests wait for whole generations ahead of them.
POOL_TIMEOUT = 600.0
#: Seconds at most (never retried) for the listing that explains a failed call: a timeout
#: (was the model loading?) or an unknown model (which ones does the server have?).
EXPLAIN_TIMEOUT = 5.0

T = TypeVar("T")
#: A request plan: yields calls, receives each answer's JSON (or has the error thrown in).
Plan = Generator["Call", Any, T]


class ClientCore(AnswerReader):
    """Configuration and sans-I/O logic shared by both clients."""

    #: Where ``timeout`` came from, as error messages name it (``timeout=5``, ``LM_STUDIO_TIMEOUT=30 (ms)``).
    timeout_source: str

    def __init__(
        self,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | SecretStr | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        api: str | None = None,
        parse_think_tags: bool = True,
        stream_usage: bool = True,
        headers: Mapping[str, str] | None = None,
        settings: LMStudioSettings | None = None,
        max_connections: int | None = None,
    ) -> None:
        if settings is None:
            # Imported on first construction: pydantic-settings is not needed to import the package.
            from lmstudio_adapters._config import current_settings

            settings = current_settings()
        self.settings = settings
        self.base_url = normalize_base_url(base_url) if base_url is not None else settings.base_url
        self.model = model or settings.model
        if timeout is not None:
            self.timeout = check_timeout(timeout)
            self.timeout_source = f"timeout={timeout:g}"
        else:
            self.timeout = settings.timeout
            self.timeout_source = settings.timeout_source
        self.max_retries = settings.max_retries if max_retries is None else check_max_retries(max_retries)
        self.max_connections = (
            settings.max_connections if max_connections is None else check_max_connections(max_connections)
        )
        self.api = settings.api if api is None else check_choice(api, API_FLAVORS, source="api")
        if api_key is not None:
            self._api_key: SecretStr | None = SecretStr(check_api_key(api_key))  # type: ignore[arg-type]
        else:
            self._api_key = settings.api_key  # checked by the settings
        self.parse_think_tags = parse_think_tags
        self.stream_usage = stream_usage
        self._extra_headers = dict(headers or {})
        self._headers = self._build_headers()  # the same for every request: built once
        self._detected: DetectedApi | None = None if self.api == "auto" else self.api  # type: ignore[assignment]
        self._stand_in: str | None = None  # what DEFAULT_MODEL means on this server, once learned

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}, timeout={self.timeout:g})"

    @property
    def api_key(self) -> SecretStr | None:
        """The API token, if one is configured (shown masked)."""
        return self._api_key

    @property
    def detected_api(self) -> DetectedApi | None:
        """The API generation found by the last model listing (``v1``, ``v0``, ``openai``)."""
        return self._detected

    def _build_headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"lmstudio-adapters/{__version__}",
        }
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        headers.update(self._extra_headers)
        return headers

    def _timeouts(self) -> httpx.Timeout:
        return _timeouts(self.timeout)

    @staticmethod
    def _verify() -> ssl.SSLContext:
        return shared_tls_context()

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=min(MAX_KEEPALIVE, self.max_connections),
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        model: str = "",
        timeout: float | None,
        max_retries: int | None,
    ) -> Call:
        return Call(
            method=method,
            path=path,
            content=dumps(body) if body is not None else None,
            model=model,
            timeout=self.timeout if timeout is None else check_timeout(timeout),
            max_retries=self.max_retries if max_retries is None else check_max_retries(max_retries),
        )

    def _request(self, call: Call) -> httpx.Request:
        return httpx.Request(
            call.method,
            call.url(self.base_url),
            content=call.content,
            headers=self._headers,
            extensions={"timeout": _timeouts(call.timeout).as_dict()},
        )

    def _guard(self, call: Call) -> Any:
        source = self.timeout_source if call.timeout == self.timeout else f"timeout={call.timeout:g}"
        return map_transport_errors(
            method=call.method,
            url=call.url(self.base_url),
            base_url=self.base_url,
            timeout=call.timeout,
            timeout_source=source,
            max_connections=self.max_connections,
        )

    # --- the default model ------------------------------------------------------------

    def _model_for(self, model: str | None) -> str:
        model = model or self.model
        return self._stand_in if model == DEFAULT_MODEL and self._stand_in is not None else model

    # --- request builders -------------------------------------------------------------

    def _chat_call(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None,
        stream: bool,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: Any = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Call:
        model = self._model_for(model)
        body = build_chat_body(
            messages,
            model=model,
            stream=stream,
            stream_usage=self.stream_usage,
            params=_sampling(params or {}),
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            extra_body=extra_body,
        )
        return self._call("POST", "/v1/chat/completions", body, model=model, timeout=timeout, max_retries=max_retries)

    def _completion_call(
        self,
        prompt: str,
        *,
        model: str | None,
        stream: bool,
        extra_body: Mapping[str, Any] | None,
        timeout: float | None,
        max_retries: int | None,
        params: Mapping[str, Any],
    ) -> Call:
        model = self._model_for(model)
        body = build_completion_body(
            prompt,
            model=model,
            stream=stream,
            stream_usage=self.stream_usage,
            params=_sampling(params),
            extra_body=extra_body,
        )
        return self._call("POST", "/v1/completions", body, model=model, timeout=timeout, max_retries=max_retries)

    def _embeddings_call(
        self,
        texts: str | Sequence[str],
        *,
        model: str | None,
        extra_body: Mapping[str, Any] | None,
        timeout: float | None,
        max_retries: int | None,
    ) -> Call:
        model = model or self.model
        body = build_embeddings_body(texts, model=model, extra_body=extra_body)
        return self._call("POST", "/v1/embeddings", body, model=model, timeout=timeout, max_retries=max_retries)

    # --- model listing (a plan, so sync and async share it) ----------------------------

    def _models_plan(self, *, api: str | None, timeout: float | None, max_retries: int | None) -> Plan[list[ModelInfo]]:
        flavour = api or self._detected
        routes = dict(MODELS_ROUTES)
        candidates: list[tuple[DetectedApi, str]] = (
            list(MODELS_ROUTES) if flavour is None or flavour == "auto" else [(flavour, routes[flavour])]  # type: ignore[index,list-item]
        )
        seen: list[str] = []  # what each route answered, for the error if none lists models
        last: APIStatusError | None = None
        for candidate, path in candidates:
            call = self._call("GET", path, None, timeout=timeout, max_retries=max_retries)
            try:
                body = yield call
            except AuthenticationError:
                raise
            except APIStatusError as exc:
                # Only "no such route" (a 4xx) means: try the next API. A busy or failing
                # server (5xx, 429) or a redirect is the answer, whatever the route.
                if len(candidates) == 1 or exc.is_retryable or not 400 <= exc.status_code < 500:
                    raise
                seen.append(f"{call.method} {path}: HTTP {exc.status_code}")
                last = exc
                continue
            models = parse_models(candidate, body)
            if models is not None:
                if flavour in (None, "auto"):
                    self._detected = candidate
                    logger.debug("server at %s speaks the %s model API", self.base_url, candidate)
                return models
            if len(candidates) == 1 or (path == "/v1/models" and is_unknown_route(body)):
                # LM Studio itself, without even /v1/models here: LM_STUDIO_URL has a wrong path.
                raise self._error(call, 200, json.dumps(body).encode())
            seen.append(f"{call.method} {path}: HTTP 200, not a model list")
            last = None
        raise not_lm_studio(
            self.base_url,
            "; ".join(seen),
            status_code=last.status_code if last is not None else 200,
            body=last.body if last is not None else None,
            method="GET",
            url=self.base_url + candidates[-1][1],
        )

    def _model_plan(self, wanted: str | None, *, api: str | None) -> Plan[ModelInfo]:
        """Find one model by any of its names; when a listing lacks it, ask the next model API."""
        wanted = wanted or self.model
        models = yield from self._models_plan(api=api, timeout=None, max_retries=None)
        found = find_model(models, wanted)
        if found is None and wanted == DEFAULT_MODEL:
            found = sole_chat_model(models)  # what a request for it would be served by
        listed = [info.id for info in models]
        used = api if api not in (None, "auto") else self._detected
        order = [flavour for flavour, _ in MODELS_ROUTES]
        later = order[order.index(used) + 1 :] if used in order else []
        for flavour in later:
            if found is not None:
                break
            try:
                more = yield from self._models_plan(api=flavour, timeout=None, max_retries=None)
            except APIStatusError as exc:
                if isinstance(exc, AuthenticationError):
                    raise
                continue  # this server does not have that API
            found = find_model(more, wanted)
            listed += [info.id for info in more if info.id not in listed]
        if found is not None:
            return found
        raise model_not_found(
            wanted, base_url=self.base_url, available=tuple(listed), method="GET", url=self.base_url + "/v1/models"
        )


#: The parameters of ``ClientCore.__init__``, which both public constructors forward.
_CORE_OPTIONS = tuple(inspect.signature(ClientCore.__init__).parameters)[1:]


def core_options(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of a client's ``__init__`` (its ``locals()``) that ``ClientCore`` takes.

    The public constructors spell their parameters out for IDEs and ``help()``; their values
    are forwarded from here by name, so a new option is added to ``ClientCore.__init__`` and
    to the two signatures, nowhere else (``tests/test_client_twins.py`` checks they agree).
    """
    return {name: arguments[name] for name in _CORE_OPTIONS}


def _timeouts(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT), pool=max(seconds, POOL_TIMEOUT))


@functools.lru_cache(maxsize=1)
def shared_tls_context() -> ssl.SSLContext:
    """One TLS context for every client (loading CA certificates costs ~20 ms; do it once)."""
    return ssl.create_default_context(cafile=certifi.where())


def _sampling(params: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(params) - set(SAMPLING_FIELDS)
    if unknown:
        raise TypeError(
            f"Unknown argument(s) {', '.join(sorted(unknown))}; pass server-specific fields in extra_body={{...}}."
        )
    return {name: params[name] for name in SAMPLING_FIELDS if params.get(name) is not None}
