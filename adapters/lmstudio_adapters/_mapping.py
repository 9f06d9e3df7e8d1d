"""Failures to typed errors, in one place: transport errors and error bodies/statuses.

LM Studio's wording changed across versions; each pattern below names where it was seen
(docs/lmstudio-api.md, section 3). Classification uses the code and the message, never the
status alone: a missing model was 404 in 0.3.5 and 400 in 0.4.25, and some errors come
with HTTP 200.
"""

from __future__ import annotations

import json
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
from lmstudio_adapters._secrets import redact, redact_bytes

__all__ = ["error_message_of", "is_model_not_found", "map_transport_errors", "status_error"]

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


def error_message_of(body: Any, raw: bytes) -> tuple[str, str]:
    """The server's error text and code (or type) from either LM Studio body shape."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, str):
            return error, ""
        if isinstance(error, dict):
            message = error.get("message") or body.get("message") or ""
            code = error.get("code") or error.get("type") or ""
            return str(message), str(code)
        if isinstance(body.get("message"), str):
            return body["message"], ""
    text = raw.decode("utf-8", "replace").strip()
    if text.lstrip().startswith("<"):
        return "an HTML page instead of JSON (is LM_STUDIO_URL pointing at LM Studio?)", ""
    return text[:300], ""


def decode_body(raw: bytes) -> Any:
    """Parse an error body as JSON when it is JSON; None otherwise."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def is_model_not_found(message: str, code: str) -> bool:
    """Whether an error names an unknown model (LM Studio 0.3.5 404 / 0.4.25 400; llama.cpp 400)."""
    lowered = message.lower()
    return (
        code == "model_not_found"
        or "invalid model identifier" in lowered
        or ("model" in lowered and "not found" in lowered)
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
        listed = ", ".join(available) if available else "none listed"
        return ModelNotFoundError(
            f"Model {model!r} is not available on LM Studio at {base_url} {said}. Models the server "
            f"has: {listed}. Set LM_STUDIO_MODEL or model= to one of them, or download it "
            "in LM Studio (`lms get <model>`).",
            model=model,
            available=available,
            **common,
        )
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


def _connect_cause(exc: BaseException) -> str:
    # The async transport wraps the OSError ("All connection attempts failed"): look inside.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return f"cannot connect: {exc}"


@contextmanager
def map_transport_errors(
    *, method: str, url: str, base_url: str, timeout: float, timeout_source: str
) -> Iterator[None]:
    """Turn httpx transport failures into our connection and timeout errors (``from exc``)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting")
        raise APITimeoutError(
            f"LM Studio at {base_url} did not answer within {timeout:g} s ({phase}; limit from "
            f"{timeout_source}). A first request can wait for just-in-time model loading: raise "
            "LM_STUDIO_TIMEOUT (milliseconds) or pass a larger timeout= (seconds).",
            method=method,
            url=url,
            timeout=timeout,
        ) from exc
    except httpx.TooManyRedirects as exc:
        # Only an http_client of the user's with follow_redirects=True follows them.
        raise ResponseError(
            f"The server at {base_url} redirected {method} {httpx.URL(url).path} in a loop ({exc}). "
            "LM Studio does not redirect: set LM_STUDIO_URL (or base_url=) to the address it really runs at.",
            method=method,
            url=url,
        ) from exc
    except httpx.ConnectError as exc:
        raise APIConnectionError.not_reachable(base_url, _connect_cause(exc), method=method, url=url) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError) as exc:
        raise APIConnectionError(
            f"The connection to LM Studio at {base_url} broke off ({type(exc).__name__}: {exc}). "
            "The server closed it or crashed; check that it is still running.",
            method=method,
            url=url,
        ) from exc
    except httpx.TransportError as exc:
        raise APIConnectionError.not_reachable(
            base_url, f"{type(exc).__name__}: {exc}", method=method, url=url
        ) from exc
    except RuntimeError as exc:
        if "client has been closed" not in str(exc):  # httpx's words for a closed http_client
            raise
        raise ClientClosedError(
            f"The httpx client given as http_client= was closed before {method} {httpx.URL(url).path}; "
            "pass an open one, or none to let lmstudio-adapters manage its own."
        ) from exc
