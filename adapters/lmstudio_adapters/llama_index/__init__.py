"""LlamaIndex integration: ``LMStudioLLM``, ``LMStudioEmbedding`` and the local-or-cloud selectors.

Needs the ``llama-index`` extra: ``pip install "lmstudio-adapters[llama-index]"``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from lmstudio_adapters._lazy import lazy_exports as _lazy_exports

try:
    from lmstudio_adapters.llama_index._llm import LMStudioLLM
except ModuleNotFoundError as _exc:  # llama-index-core missing: say which extra to install
    from lmstudio_adapters._errors import missing_extra as _missing_extra

    raise _missing_extra(_exc, extra="llama-index", roots=("llama_index",)) from _exc

if _TYPE_CHECKING:
    from lmstudio_adapters.llama_index._embedding import LMStudioEmbedding
    from lmstudio_adapters.llama_index._select import LMStudioFallbackLLM, select_embedding, select_llm

# The LLM loads with the package; the embedding model and the selectors (with the settings
# and provider registry behind them) on first use, so each costs only those who use it.
_LAZY = {
    "LMStudioEmbedding": "lmstudio_adapters.llama_index._embedding",
    **dict.fromkeys(("LMStudioFallbackLLM", "select_embedding", "select_llm"), "lmstudio_adapters.llama_index._select"),
}


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY)

__all__ = ["LMStudioEmbedding", "LMStudioFallbackLLM", "LMStudioLLM", "select_embedding", "select_llm"]
