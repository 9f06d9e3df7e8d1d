"""Failures to typed errors, in one place: transport errors and error bodies/statuses.

LM Studio's wording changed across versions; each pattern below names where it was seen
(docs/lmstudio-api.md, section 3). Classification uses the code and the message, never the
status alone: a missing model was 404 in 0.3.5 and 400 in 0.4.25, and some errors come
with HTTP 200.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from lmstudio_adapters._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ContextLengthError,
    ModelNotFoundError,
    ModelNotLoadedError,
    ModelOutputError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from lmstudio_adapters._routes import DEFAULT_MODEL
from lmstudio_adapters._secrets import redact, redact_bytes

__all__ = [
    "error_message_of",
    "is_model_not_found",
    "is_unknown_route",
    "map_transport_errors",
    "model_not_found",
    "not_lm_studio",
    "status_error",
]

_CONTEXT_PATTERNS = (
    "context length",  # 0.2.x-0.3.x "...loaded with context length of only M tokens"; 0.4.21 stream error
    "context the overflows",  # 0.2.x-0.3.x "Trying to keep the first N tokens when context the overflows"
    "available context size",  # llama.cpp server "exceeds the available context size"
    "context window",
    "maximum context",
)
_NOT_LOADED_PATTERNS = ("no models loaded", "failed to load model", "model is not loaded", "loading model")
_UNKNOWN_ROUTE = "unexpected endpoint or method"
# The server could not parse what the model generated (llama.cpp and LM Studio wording; the
# issue-16 trace: HTTP 500 "Failed to parse tool call arguments as JSON").
_MODEL_OUTPUT_PATTERNS = ("failed to parse tool call", "tool call arguments", "failed to parse input at")
_GRAMMAR_PATTERN = (
    "grammar"  # a 400 with it is about the request's schema, not the output  # every LM Studio version, with HTTP 200
)


#: How much of a server's error text an exception shows: LM Studio's longest messages (a
#: chat template failing to render) fit; a server that sends megabytes is cut.
MAX_MESSAGE_CHARS = 1000
#: The same for a body that is not JSON (a proxy's page, a stack trace): its start says enough.
MAX_TEXT_CHARS = 300


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def error_message_of(body: Any, raw: bytes) -> tuple[str, str]:
    """The server's error text and code (or type) from either LM Studio body shape, cut to a readable size."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, str):
            return _cut(error, MAX_MESSAGE_CHARS), ""
        if isinstance(error, dict):
            message = error.get("message") or body.get("message") or ""
            code = error.get("code") or error.get("type") or ""
            return _cut(_text_of(message), MAX_MESSAGE_CHARS), _cut(_text_of(code), 100)
        if isinstance(body.get("message"), str):
            return _cut(body["message"], MAX_MESSAGE_CHARS), ""
    text = raw[: MAX_TEXT_CHARS * 4].decode("utf-8", "replace").strip()
    if text.lstrip().startswith("<"):
        return "an HTML page instead of JSON (is LM_STUDIO_URL pointing at LM Studio?)", ""
    return text[:MAX_TEXT_CHARS], ""


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except RecursionError:  # str() recurses as deep as the server nested the value
        return f"a {type(value).__name__} nested too deeply to show"


def decode_body(raw: bytes) -> Any:
    """Parse a body as JSON when it is JSON; None otherwise (nesting too deep to parse included)."""
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None


def is_model_not_found(message: str, code: str) -> bool:
    """Whether an error names an unknown model (LM Studio 0.3.5 404 / 0.4.25 400; llama.cpp 400)."""
    lowered = message.lower()
    return (
        code == "model_not_found"
        or "invalid model identifier" in lowered
        or ("model" in lowered and "not found" in lowered)
    )


def is_unknown_route(body: Any) -> bool:
    """Whether a body is LM Studio's own answer to a route it does not have (sent with HTTP 200)."""
    return _UNKNOWN_ROUTE in error_message_of(body, b"")[0].lower()


def not_lm_studio(base_url: str, seen: str, **common: Any) -> BadRequestError:
    """The error for a server that answers HTTP but not as LM Studio; ``seen`` is what it answered."""
    return BadRequestError(
        f"The server at {base_url} answers but is not LM Studio ({seen}). Check LM_STUDIO_URL: it must be "
        "the root of LM Studio's server, such as http://localhost:1234 (LM Studio shows it in the Developer tab).",
        **common,
    )


def status_error(
    status_code: int,
    raw: bytes,
    *,
    method: str,
    url: str,
    base_url: str,
    model: str = "",
    available: tuple[str, ...] = (),
    location: str = "",
) -> APIStatusError:
    """Build the typed error for an error answer (any status, 200 included).

    A redirect (3xx) is reported as one, naming ``location``: the client does not follow
    redirects, because LM Studio never sends them and a proxy's login page is not an answer.
    """
    raw = redact_bytes(raw)  # before anything is decoded or cut: a server may echo our headers
    if 300 <= status_code < 400:
        where = redact(location) if location else "no Location given"
        return APIStatusError(
            f"The server at {base_url} answered {method} {httpx.URL(url).path} with a redirect "
            f"(HTTP {status_code} to {where}). LM Studio does not redirect: set LM_STUDIO_URL (or "
            "base_url=) to the address the server really runs at.",
            status_code=status_code,
            body=decode_body(raw),
            method=method,
            url=url,
        )
    body = decode_body(raw)
    server_message, code = error_message_of(body, raw)
    lowered = server_message.lower()
    common: dict[str, Any] = {
        "status_code": status_code,
        "body": body,
        "server_message": server_message,
        "method": method,
        "url": url,
    }
    said = f"(HTTP {status_code}: {server_message})" if server_message else f"(HTTP {status_code})"
    if status_code in (401, 403) or code == "invalid_api_key":
        return AuthenticationError(
            f"LM Studio at {base_url} refused the request {said}. The server requires an API token: "
            "set LM_STUDIO_API_KEY or pass api_key=... (create a token in LM Studio under "
            "Developer > Server Settings > Manage Tokens).",
            **common,
        )
    if any(pattern in lowered for pattern in _CONTEXT_PATTERNS) or code == "exceed_context_size_error":
        return ContextLengthError(
            f"The prompt does not fit in the model's context {said}. Shorten the messages, or load "
            "the model with a larger context length in LM Studio.",
            **common,
        )
    if any(pattern in lowered for pattern in _NOT_LOADED_PATTERNS):
        return ModelNotLoadedError(
            f"LM Studio could not use model {model!r} {said}. Load it in LM Studio or with "
            f"`lms load {model or '<model>'}`, or turn on Just-in-Time model loading.",
            model=model,
            available=available,
            **common,
        )
    if is_model_not_found(server_message, code):
        return model_not_found(model, base_url=base_url, available=available, said=said, **common)
    if body is None and raw.lstrip().startswith(b"<") and status_code in (404, 405, 501):
        # LM Studio answers in JSON, unknown routes included: an HTML error page is another server.
        return not_lm_studio(base_url, f"{method} {httpx.URL(url).path}: HTTP {status_code}, an HTML page", **common)
    if _UNKNOWN_ROUTE in lowered or (status_code == 404 and "file not found" in lowered):
        return BadRequestError(
            f"The server at {base_url} does not serve {method} {httpx.URL(url).path} {said}. "
            "Check LM_STUDIO_URL: it must be the server root, such as http://localhost:1234.",
            **common,
        )
    if any(pattern in lowered for pattern in _MODEL_OUTPUT_PATTERNS) or (
        _GRAMMAR_PATTERN in lowered and (status_code >= 500 or status_code == 200)
    ):
        return ModelOutputError(
            f"LM Studio could not parse the model's own output {said}: the model wrote a tool call or "
            "structured answer that does not fit its format, often because max_tokens cut it off. At "
            "temperature 0 the same request fails the same way, so it is not retried (with temperature > 0 "
            "and no seed it is). Raise max_tokens, force the tool with tool_choice=<its name> (or "
            "response_format with a json_schema), or use a model trained for tool use.",
            **common,
        )
    if status_code == 429:
        return RateLimitError(f"LM Studio asked to slow down {said}. Retry later or lower the concurrency.", **common)
    if status_code >= 500 or "crashed" in lowered:
        return ServerError(
            f"LM Studio failed while handling the request {said}. Check the server log in LM Studio "
            "(Developer tab); the request is retried automatically where that is safe.",
            **common,
        )
    if status_code == 413:
        return BadRequestError(f"The request is too large for the server {said}. Send less data per call.", **common)
    return BadRequestError(f"LM Studio rejected the request {said}. Check the call's arguments.", **common)


def model_not_found(
    model: str, *, base_url: str, available: tuple[str, ...], said: str = "", **common: Any
) -> ModelNotFoundError:
    """The error for a model the server does not have: from its answer, or from its model lists.

    ``said`` quotes the answer (``(HTTP 404: ...)``); without one, the lists were searched,
    which is reported as the not-found answer the server gives.
    """
    if not said:
        said = "(HTTP 404: model not found)"
        common = {"status_code": 404, "server_message": "model not found", **common}
    listed = ", ".join(available) if available else "none listed"
    default = (
        f" No model was named, and {DEFAULT_MODEL!r} stands for the server's chat model only when it "
        "has exactly one (or exactly one loaded)."
        if model == DEFAULT_MODEL
        else ""
    )
    return ModelNotFoundError(
        f"Model {model!r} is not available on LM Studio at {base_url} {said}.{default} Models the server "
        f"has: {listed}. Set LM_STUDIO_MODEL or model= to one of them, or download it "
        "in LM Studio (`lms get <model>`).",
        model=model,
        available=available,
        **common,
    )


def _connect_cause(exc: BaseException) -> str:
    # The async transport wraps the OSError ("All connection attempts failed"): look inside.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return f"cannot connect: {exc}"


# What OpenSSL says when the answer to its hello is not TLS (1.1/3.0, 3.2+), i.e. plain HTTP.
_PLAIN_HTTP_SIGNS = ("wrong_version_number", "wrong version number", "record layer failure", "http_request")


def _tls_failure(exc: BaseException) -> str | None:
    """The TLS error inside a connect failure, if the handshake is what failed."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "handshake" in str(seen):
            return str(seen) or type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_error(base_url: str, cause: str, *, plain_http: bool, method: str, url: str) -> APIConnectionError:
    if plain_http:
        plain = "http://" + base_url.removeprefix("https://")
        message = (
            f"The TLS handshake with {base_url} failed ({cause}): the server speaks plain HTTP, not HTTPS. "
            f"LM Studio serves http:// unless you put a TLS proxy in front of it: set LM_STUDIO_URL to {plain}."
        )
    else:
        message = (
            f"The TLS connection to {base_url} failed ({cause}). Check the server's certificate, or use "
            "http:// if the server does not serve HTTPS."
        )
    error = APIConnectionError(message, method=method, url=url)
    error.is_retryable = False  # the same handshake fails the same way every time
    return error


@contextmanager
def map_transport_errors(
    *, method: str, url: str, base_url: str, timeout: float, timeout_source: str, max_connections: int | None = None
) -> Iterator[None]:
    """Turn httpx transport failures into our connection and timeout errors (``from exc``)."""
    try:
        yield
    except httpx.PoolTimeout as exc:
        raise APITimeoutError(
            f"No connection to LM Studio at {base_url} became free: all {max_connections} of this client's "
            "connections stayed busy. Raise max_connections= (or LM_STUDIO_MAX_CONNECTIONS), or close "
            "streams you no longer read.",
            method=method,
            url=url,
            timeout=timeout,
        ) from exc
    except httpx.TransportError as exc:
        raise _transport_error(
            exc, method=method, url=url, base_url=base_url, timeout=timeout, timeout_source=timeout_source
        ) from exc
    except httpx.TooManyRedirects as exc:
        # Only an http_client of the user's with follow_redirects=True follows them.
        raise ResponseError(
            f"The server at {base_url} redirected {method} {httpx.URL(url).path} in a loop ({exc}). "
            "LM Studio does not redirect: set LM_STUDIO_URL (or base_url=) to the address it really runs at.",
            method=method,
            url=url,
        ) from exc
    except RuntimeError as exc:
        if "client has been closed" not in str(exc):  # httpx's words for a closed http_client
            raise
        raise ClientClosedError(
            f"The httpx client given as http_client= was closed before {method} {httpx.URL(url).path}; "
            "pass an open one, or none to let lmstudio-adapters manage its own."
        ) from exc


def _transport_error(
    exc: httpx.TransportError, *, method: str, url: str, base_url: str, timeout: float, timeout_source: str
) -> APIConnectionError:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) and url.startswith("https://"):
        cause = _tls_failure(exc)
        if cause is not None:
            # A plain HTTP server either answers the TLS hello with an HTTP error (OpenSSL: wrong
            # version number) or waits for the end of a request line that never comes (a timeout).
            timed_out = isinstance(exc, httpx.ConnectTimeout)
            plain_http = timed_out or any(sign in cause.lower() for sign in _PLAIN_HTTP_SIGNS)
            if timed_out:
                cause = "no answer to the TLS handshake, as from a plain HTTP server waiting for a request"
            return _tls_error(base_url, cause, plain_http=plain_http, method=method, url=url)
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting")
        return APITimeoutError(
            f"LM Studio at {base_url} did not answer within {timeout:g} s ({phase}; limit from "
            f"{timeout_source}). A first request can wait for just-in-time model loading: raise "
            "LM_STUDIO_TIMEOUT (milliseconds) or pass a larger timeout= (seconds).",
            method=method,
            url=url,
            timeout=timeout,
        )
    if isinstance(exc, httpx.ConnectError):
        return APIConnectionError.not_reachable(base_url, _connect_cause(exc), method=method, url=url)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return APIConnectionError(
            f"The connection to LM Studio at {base_url} broke off ({type(exc).__name__}: {exc}). "
            "The server closed it or crashed; check that it is still running.",
            method=method,
            url=url,
        )
    return APIConnectionError.not_reachable(base_url, f"{type(exc).__name__}: {exc}", method=method, url=url)
