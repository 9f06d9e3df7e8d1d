"""LlamaIndex integration: ``LMStudioLLM``, ``LMStudioEmbedding`` and the local-or-cloud selectors.

Needs the ``llama-index`` extra: ``pip install "lmstudio-adapters[llama-index]"``.
"""

from lmstudio_adapters.llama_index._embedding import LMStudioEmbedding
from lmstudio_adapters.llama_index._llm import LMStudioLLM

__all__ = ["LMStudioEmbedding", "LMStudioLLM"]
