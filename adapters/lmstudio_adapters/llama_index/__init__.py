"""LlamaIndex integration: ``LMStudioLLM``, ``LMStudioEmbedding`` and the local-or-cloud selectors.

Needs the ``llama-index`` extra: ``pip install "lmstudio-adapters[llama-index]"``.
"""

from lmstudio_adapters.llama_index._embedding import LMStudioEmbedding
from lmstudio_adapters.llama_index._llm import LMStudioLLM
from lmstudio_adapters.llama_index._select import LMStudioFallbackLLM, select_embedding, select_llm

__all__ = ["LMStudioEmbedding", "LMStudioFallbackLLM", "LMStudioLLM", "select_embedding", "select_llm"]
