"""Every error lmstudio-adapters raises, under one base class.

```
LMStudioAdapterError
├── ConfigError (ValueError)            bad LM_STUDIO_* value or constructor argument
│   └── MissingDependencyError (ImportError)  an extra or integration is not installed (names the pip install)
├── InputError (ValueError)             bad call arguments (messages, tools, max_tokens); nothing sent
├── NoBackendError                      the selector found neither LM Studio nor an allowed cloud model
├── ClientClosedError (RuntimeError)    a call on a client after close() / aclose()
└── APIError                            .method .url
    ├── APIConnectionError              server not running / refused / reset
    │   └── APITimeoutError (TimeoutError)
    ├── APIStatusError                  .status_code .body .server_message
    │   ├── BadRequestError
    │   │   └── ContextLengthError
    │   ├── AuthenticationError
    │   ├── ModelNotFoundError          unknown model id (lists what the server has)
    │   │   └── ModelNotLoadedError     no model loaded / failed to load
    │   ├── RateLimitError
    │   └── ServerError
    │       └── ModelOutputError        the server could not parse the model's own output
    ├── ResponseError                   malformed JSON or SSE, error event mid-stream
    │   └── ToolCallError (ValueError)  a tool call cut off by max_tokens or not JSON
    ├── FeatureNotSupportedError        the server has no route for this (names the version that adds it)
    └── DownloadError                   a model download failed or stalled (.progress)
```

The base is not called ``LMStudioError``: the official ``lmstudio`` SDK owns that name,
and a user with both installed would catch the wrong one.
"""

from __future__ import annotations

from typing import Any

from lmstudio_adapters._secrets import redact

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigError",
    "ContextLengthError",
    "DownloadError",
    "FeatureNotSupportedError",
    "InputError",
    "LMStudioAdapterError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "ModelNotLoadedError",
    "ModelOutputError",
    "NoBackendError",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "ToolCallError",
]

START_SERVER_HINT = (
    "Start the server in LM Studio (Developer tab) or with `lms server start`, or set LM_STUDIO_URL to where it runs."
)


class LMStudioAdapterError(Exception):
    """Base class of every error raised by lmstudio-adapters."""

    #: Whether repeating the same call later can succeed.
    is_retryable: bool = False


class ConfigError(LMStudioAdapterError, ValueError):
    """A configuration value (environment variable or argument) is invalid."""


class MissingDependencyError(ConfigError, ImportError):
    """A package this feature needs is not installed; the message names the ``pip install``.

    An ``ImportError`` too, so ``except ImportError`` around an optional import keeps working.
    """


def missing_extra(exc: ModuleNotFoundError, *, extra: str, roots: tuple[str, ...]) -> BaseException:
    """The error to raise when importing an entry point failed with ``exc``.

    A :class:`MissingDependencyError` naming the extra to install when the missing module is
    the framework itself (a top-level name in ``roots``); ``exc`` unchanged otherwise.
    """
    missing = exc.name or ""
    if missing.split(".")[0] not in roots:
        return exc
    error = MissingDependencyError(
        f"lmstudio_adapters.{extra.replace('-', '_')} needs {missing}, which is not installed: "
        f'pip install "lmstudio-adapters[{extra}]" (from a checkout: pip install -e ".[{extra}]")'
    )
    error.name = missing
    return error


class InputError(LMStudioAdapterError, ValueError):
    """A call's arguments are invalid (empty messages, unknown role, bad tool schema...); nothing was sent."""


class NoBackendError(LMStudioAdapterError):
    """LM Studio cannot serve the request and no cloud fallback is configured or allowed."""


class ClientClosedError(LMStudioAdapterError, RuntimeError):
    """A call was made on a client (or its ``httpx`` client) after it was closed; create a new one."""


class APIError(LMStudioAdapterError):
    """A request to the LM Studio server failed.

    Attributes:
        method: The HTTP method of the failed request.
        url: The URL of the failed request.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        # A server may echo request headers into what it says: never carry a configured key.
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APIConnectionError(APIError):
    """The server could not be reached, or dropped the connection."""

    is_retryable = True

    @classmethod
    def not_reachable(cls, base_url: str, cause: str, *, method: str = "", url: str = "") -> APIConnectionError:
        """Build the standard "server not running" error for ``base_url``."""
        return cls(
            f"LM Studio is not reachable at {base_url} ({cause}). {START_SERVER_HINT}",
            method=method,
            url=url,
        )


class APITimeoutError(APIConnectionError, TimeoutError):
    """The server did not answer within the configured timeout."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        timeout: float | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.timeout = timeout


class APIStatusError(APIError):
    """The server answered with an error (an HTTP error status or an error body).

    Attributes:
        status_code: The HTTP status (LM Studio sends some errors with 200).
        body: The decoded error body, if it was JSON.
        server_message: The server's own error text.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        server_message: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.server_message = redact(server_message)


class BadRequestError(APIStatusError):
    """The server rejected the request as invalid; its own message is kept."""


class ContextLengthError(BadRequestError):
    """The prompt does not fit in the model's loaded context length."""


class AuthenticationError(APIStatusError):
    """The server requires an API token (LM Studio 0.4+) and none or a wrong one was sent."""


class ModelNotFoundError(APIStatusError):
    """The requested model id is unknown to the server.

    Attributes:
        model: The id that was asked for.
        available: The model ids the server listed, when they could be fetched.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        model: str = "",
        available: tuple[str, ...] = (),
        body: Any = None,
        server_message: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            body=body,
            server_message=server_message,
            method=method,
            url=url,
        )
        self.model = model
        self.available = available


class ModelNotLoadedError(ModelNotFoundError):
    """No model is loaded, or the model failed to load (just-in-time loading off or failing)."""


class RateLimitError(APIStatusError):
    """The server asked the client to slow down (HTTP 429)."""

    is_retryable = True


class ServerError(APIStatusError):
    """The server failed while handling the request (HTTP 5xx, model crash)."""

    is_retryable = True


class ModelOutputError(ServerError):
    """The server could not parse what the model generated (tool-call arguments, grammar output).

    It depends on the model's output, not on the connection: at temperature 0 (or with a
    fixed seed) the same request fails the same way, so the client does not retry it; when
    the request samples (temperature > 0 and no seed), it is retried like any server error.
    """

    is_retryable = False


class ResponseError(APIError):
    """The server's answer could not be understood, or a stream broke off with an error."""


class FeatureNotSupportedError(APIError):
    """The server has no route for this operation (for example loading a model before LM Studio 0.4).

    Attributes:
        feature: What was asked for (``load``, ``unload``, ``download``, ``list loaded models``).
        since: The LM Studio version that adds it, such as ``0.4.0``.
    """

    def __init__(self, message: str, *, feature: str, since: str, method: str = "", url: str = "") -> None:
        super().__init__(message, method=method, url=url)
        self.feature = feature
        self.since = since


class DownloadError(APIError):
    """A model download failed, or made no progress for too long.

    Attributes:
        progress: The last state the server reported (a ``DownloadProgress``), if any.
    """

    def __init__(self, message: str, *, progress: Any = None, method: str = "", url: str = "") -> None:
        super().__init__(message, method=method, url=url)
        self.progress = progress


class ToolCallError(ResponseError, ValueError):
    """A tool call in the model's answer is unusable: cut off by ``max_tokens``, or not a JSON object."""


def _set_public_module() -> None:
    # Tracebacks read `lmstudio_adapters.ModelNotFoundError`, not the private module.
    for name in __all__:
        globals()[name].__module__ = "lmstudio_adapters"


_set_public_module()
