"""LangChain integration: ``LMStudioChatModel``, ``LMStudioEmbeddings`` and the local-or-cloud selectors.

Needs the ``langchain`` extra: ``pip install "lmstudio-adapters[langchain]"``.
"""

from lmstudio_adapters.langchain._chat_model import LMStudioChatModel
from lmstudio_adapters.langchain._embeddings import LMStudioEmbeddings
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
from lmstudio_adapters.langchain._select import select_chat_model, select_embeddings

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
