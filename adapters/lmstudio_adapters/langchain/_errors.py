"""Errors that are both ours and langchain-core's, so LangChain's retry and fallback logic sees them.

``except lmstudio_adapters.ContextLengthError`` and ``except
langchain_core.exceptions.ContextOverflowError`` both catch
:class:`LMStudioContextOverflowError`.
"""

from __future__ import annotations

from langchain_core import exceptions as lc

from lmstudio_adapters._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    LMStudioAdapterError,
    ModelNotFoundError,
    ModelNotLoadedError,
    ModelOutputError,
    RateLimitError,
    ResponseError,
    ServerError,
)

__all__ = [
    "LMStudioAPIServerError",
    "LMStudioAuthenticationError",
    "LMStudioBadRequestError",
    "LMStudioConnectionError",
    "LMStudioContextOverflowError",
    "LMStudioModelNotFoundError",
    "LMStudioModelNotLoadedError",
    "LMStudioModelOutputError",
    "LMStudioRateLimitError",
    "LMStudioResponseError",
    "LMStudioTimeoutError",
    "as_langchain_error",
]


class LMStudioContextOverflowError(ContextLengthError, lc.ContextOverflowError):
    """The prompt does not fit in the loaded context (also a LangChain ``ContextOverflowError``)."""


class LMStudioModelNotFoundError(ModelNotFoundError, lc.ModelNotFoundError):
    """Unknown or unloaded model (also a LangChain ``ModelNotFoundError``)."""


class LMStudioModelNotLoadedError(ModelNotLoadedError, lc.ModelNotFoundError):
    """No model loaded, or it failed to load (also a LangChain ``ModelNotFoundError``)."""


class LMStudioConnectionError(APIConnectionError, lc.ModelConnectionError):
    """LM Studio not reachable (also a LangChain ``ModelConnectionError``)."""


class LMStudioTimeoutError(APITimeoutError, lc.ModelTimeoutError):
    """No answer within the timeout (also a LangChain ``ModelTimeoutError``)."""


class LMStudioAuthenticationError(AuthenticationError, lc.ModelAuthenticationError):
    """A token is required (also a LangChain ``ModelAuthenticationError``)."""


class LMStudioRateLimitError(RateLimitError, lc.ModelRateLimitError):
    """HTTP 429 (also a LangChain ``ModelRateLimitError``)."""


class LMStudioAPIServerError(ServerError, lc.ModelAPIError):
    """HTTP 5xx or a crashed model (also a LangChain ``ModelAPIError``)."""


class LMStudioModelOutputError(ModelOutputError, lc.ModelAPIError):
    """The server could not parse the model's own output (also a LangChain ``ModelAPIError``)."""


class LMStudioBadRequestError(BadRequestError, lc.ModelInvalidRequestError):
    """The server rejected the request (also a LangChain ``ModelInvalidRequestError``)."""


class LMStudioResponseError(ResponseError, lc.ModelAPIError):
    """A malformed answer or a stream that broke off with an error (also a LangChain ``ModelAPIError``)."""


# Most specific first: APITimeoutError is an APIConnectionError, ContextLengthError a BadRequestError.
_LADDER: tuple[tuple[type[LMStudioAdapterError], type[LMStudioAdapterError]], ...] = (
    (ContextLengthError, LMStudioContextOverflowError),
    (ModelNotLoadedError, LMStudioModelNotLoadedError),
    (ModelNotFoundError, LMStudioModelNotFoundError),
    (APITimeoutError, LMStudioTimeoutError),
    (APIConnectionError, LMStudioConnectionError),
    (AuthenticationError, LMStudioAuthenticationError),
    (RateLimitError, LMStudioRateLimitError),
    (ModelOutputError, LMStudioModelOutputError),
    (ServerError, LMStudioAPIServerError),
    (BadRequestError, LMStudioBadRequestError),
    (ResponseError, LMStudioResponseError),
)


def as_langchain_error(exc: LMStudioAdapterError) -> LMStudioAdapterError:
    """The same error as an instance of the class that is also langchain-core's (or ``exc`` itself)."""
    for ours, dual in _LADDER:
        if isinstance(exc, ours) and not isinstance(exc, dual):
            twin = dual.__new__(dual)
            Exception.__init__(twin, *exc.args)
            twin.__dict__.update(exc.__dict__)
            if isinstance(exc, APIStatusError):
                twin.__dict__.setdefault("status_code", exc.status_code)
            return twin
    return exc
