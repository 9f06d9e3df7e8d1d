"""LangChain integration: ``LMStudioChatModel``, ``LMStudioEmbeddings`` and the local-or-cloud selectors.

Needs the ``langchain`` extra: ``pip install "lmstudio-adapters[langchain]"``.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from lmstudio_adapters.langchain._chat_model import LMStudioChatModel
from lmstudio_adapters.langchain._errors import (
    LMStudioAPIServerError,
    LMStudioAuthenticationError,
    LMStudioBadRequestError,
    LMStudioConnectionError,
    LMStudioContextOverflowError,
    LMStudioModelNotFoundError,
    LMStudioModelNotLoadedError,
    LMStudioRateLimitError,
    LMStudioTimeoutError,
)

if _TYPE_CHECKING:
    from lmstudio_adapters.langchain._embeddings import LMStudioEmbeddings
    from lmstudio_adapters.langchain._select import select_chat_model, select_embeddings

# The chat model and its errors load with the package; the embeddings and the selectors (with
# the settings and provider registry behind them) on first use, so each costs only those who use it.
_LAZY = {
    "LMStudioEmbeddings": "lmstudio_adapters.langchain._embeddings",
    **dict.fromkeys(("select_chat_model", "select_embeddings"), "lmstudio_adapters.langchain._select"),
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lmstudio_adapters.langchain' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "LMStudioAPIServerError",
    "LMStudioAuthenticationError",
    "LMStudioBadRequestError",
    "LMStudioChatModel",
    "LMStudioConnectionError",
    "LMStudioContextOverflowError",
    "LMStudioEmbeddings",
    "LMStudioModelNotFoundError",
    "LMStudioModelNotLoadedError",
    "LMStudioRateLimitError",
    "LMStudioTimeoutError",
    "select_chat_model",
    "select_embeddings",
]
