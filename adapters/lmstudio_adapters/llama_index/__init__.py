"""LlamaIndex integration: ``LMStudioLLM``, ``LMStudioEmbedding`` and the local-or-cloud selectors.

Needs the ``llama-index`` extra: ``pip install "lmstudio-adapters[llama-index]"``.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from lmstudio_adapters.llama_index._llm import LMStudioLLM

if _TYPE_CHECKING:
    from lmstudio_adapters.llama_index._embedding import LMStudioEmbedding
    from lmstudio_adapters.llama_index._select import LMStudioFallbackLLM, select_embedding, select_llm

# The LLM loads with the package; the embedding model and the selectors (with the settings
# and provider registry behind them) on first use, so each costs only those who use it.
_LAZY = {
    "LMStudioEmbedding": "lmstudio_adapters.llama_index._embedding",
    **dict.fromkeys(("LMStudioFallbackLLM", "select_embedding", "select_llm"), "lmstudio_adapters.llama_index._select"),
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lmstudio_adapters.llama_index' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["LMStudioEmbedding", "LMStudioFallbackLLM", "LMStudioLLM", "select_embedding", "select_llm"]
