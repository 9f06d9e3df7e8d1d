"""``LMStudioEmbeddings``: LangChain embeddings over the shared LM Studio client."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import Field

from lmstudio_adapters._adapter_base import AdapterModel
from lmstudio_adapters._errors import LMStudioAdapterError
from lmstudio_adapters.langchain._base import LangChainClientFields
from lmstudio_adapters.langchain._errors import as_langchain_error

__all__ = ["LMStudioEmbeddings"]


class LMStudioEmbeddings(AdapterModel, LangChainClientFields, Embeddings):
    """Embeddings from an LM Studio embedding model; texts are sent as strings, never token ids.

    Example:
        .. code-block:: python

            from lmstudio_adapters.langchain import LMStudioEmbeddings

            embeddings = LMStudioEmbeddings(model="text-embedding-nomic-embed-text-v1.5")
            vectors = embeddings.embed_documents(["local", "cloud"])
            query = embeddings.embed_query("where does it run?")

    Args:
        model: Embedding model id (``LM_STUDIO_MODEL`` when not given).
        base_url, api_key, timeout, max_retries, max_connections: As for ``LMStudioChatModel``.
        batch_size: Texts per request in ``embed_documents``.
    """

    # model, base_url, api_key, timeout, max_retries, max_connections: from LangChainClientFields.
    batch_size: int = Field(default=64, gt=0)
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields, sent as they are."""

    def _batches(self, texts: list[str]) -> list[list[str]]:
        return [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts, ``batch_size`` per request."""
        vectors: list[list[float]] = []
        try:
            for batch in self._batches(texts):
                vectors += self.client.embed(batch, model=self.model, extra_body=self.model_kwargs or None).embeddings
        except LMStudioAdapterError as exc:
            raise as_langchain_error(exc) from exc
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one text."""
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts asynchronously, ``batch_size`` per request."""
        vectors: list[list[float]] = []
        try:
            for batch in self._batches(texts):
                reply = await self.async_client.embed(batch, model=self.model, extra_body=self.model_kwargs or None)
                vectors += reply.embeddings
        except LMStudioAdapterError as exc:
            raise as_langchain_error(exc) from exc
        return vectors

    async def aembed_query(self, text: str) -> list[float]:
        """Embed one text asynchronously."""
        return (await self.aembed_documents([text]))[0]
