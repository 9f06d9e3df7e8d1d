"""LangChain integration: ``LMStudioChatModel``, ``LMStudioEmbeddings`` and the local-or-cloud selectors.

Needs the ``langchain`` extra: ``pip install "lmstudio-adapters[langchain]"``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from lmstudio_adapters._lazy import lazy_exports as _lazy_exports

try:
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
        LMStudioResponseError,
        LMStudioTimeoutError,
    )
except ModuleNotFoundError as _exc:  # langchain-core missing: say which extra to install
    from lmstudio_adapters._errors import missing_extra as _missing_extra

    raise _missing_extra(_exc, extra="langchain", roots=("langchain_core",)) from _exc

if _TYPE_CHECKING:
    from lmstudio_adapters.langchain._embeddings import LMStudioEmbeddings
    from lmstudio_adapters.langchain._select import select_chat_model, select_embeddings

# The chat model and its errors load with the package; the embeddings and the selectors (with
# the settings and provider registry behind them) on first use, so each costs only those who use it.
_LAZY = {
    "LMStudioEmbeddings": "lmstudio_adapters.langchain._embeddings",
    **dict.fromkeys(("select_chat_model", "select_embeddings"), "lmstudio_adapters.langchain._select"),
}


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY)

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
    "LMStudioResponseError",
    "LMStudioTimeoutError",
    "select_chat_model",
    "select_embeddings",
]
