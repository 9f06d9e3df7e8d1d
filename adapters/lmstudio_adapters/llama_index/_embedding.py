"""``LMStudioEmbedding``: LlamaIndex embeddings over the shared LM Studio client."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import Field, SecretStr

from lmstudio_adapters._adapter_base import AdapterModel

__all__ = ["EMBED_BATCH_SIZE", "LMStudioEmbedding"]

#: Texts per request, as ``LMStudioEmbeddings.batch_size`` (LlamaIndex's own default is 10).
EMBED_BATCH_SIZE = 64


class LMStudioEmbedding(AdapterModel, BaseEmbedding):
    """Embeddings from an LM Studio embedding model, batched (``embed_batch_size`` per request).

    ``embed_batch_size`` defaults to 64 texts per request, as ``LMStudioEmbeddings`` in
    LangChain (LlamaIndex's base default is 10): 2,000 chunks go in 32 requests, not 200.

    Example:
        .. code-block:: python

            from llama_index.core import Settings
            from lmstudio_adapters.llama_index import LMStudioEmbedding

            Settings.embed_model = LMStudioEmbedding(model_name="text-embedding-nomic-embed-text-v1.5")
    """

    base_url: str = Field(default="", description="Server root, with or without /v1 (LM_STUDIO_URL).")
    api_key: SecretStr | None = Field(default=None, exclude=True, description="Token (LM_STUDIO_API_KEY).")
    request_timeout: float | None = Field(default=None, description="Seconds per request.")
    max_retries: int | None = Field(default=None, description="Retries on connection errors, 429 and 5xx.")
    max_connections: int | None = Field(
        default=None, ge=1, description="Most connections open at once (LM_STUDIO_MAX_CONNECTIONS, 1000)."
    )
    embed_batch_size: int = Field(
        default=EMBED_BATCH_SIZE, gt=0, le=2048, description="Texts per request (LM Studio takes arrays)."
    )
    additional_kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra request fields.")

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "LMStudioEmbedding"

    def _extra(self) -> dict[str, Any] | None:
        return self.additional_kwargs or None

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return (await self._aget_text_embeddings([query]))[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.client.embed(texts, model=self.model_name, extra_body=self._extra()).embeddings

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return (await self.async_client.embed(texts, model=self.model_name, extra_body=self._extra())).embeddings
