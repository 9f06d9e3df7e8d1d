"""``LMStudioEmbeddings``: LangChain embeddings over the shared LM Studio client."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from lmstudio_adapters._errors import LMStudioAdapterError
from lmstudio_adapters._model_config import RaisesConfigErrors, with_settings_defaults
from lmstudio_adapters._pool import AdapterClients, ClientKey, SharedClientsMixin
from lmstudio_adapters.langchain._errors import as_langchain_error

__all__ = ["LMStudioEmbeddings"]


class LMStudioEmbeddings(RaisesConfigErrors, SharedClientsMixin, BaseModel, Embeddings):
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

    model_config = ConfigDict(populate_by_name=True)

    model: str = Field(default="", alias="model_name")
    base_url: str = ""
    api_key: SecretStr | None = None
    timeout: float | None = Field(default=None, alias="request_timeout")
    max_retries: int | None = None
    max_connections: int | None = Field(default=None, ge=1)
    """Most connections open at once; default ``LM_STUDIO_MAX_CONNECTIONS`` (1000)."""
    batch_size: int = Field(default=64, gt=0)
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields, sent as they are."""

    _clients: AdapterClients = PrivateAttr(default_factory=AdapterClients)

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_settings(cls, values: Any) -> Any:
        return with_settings_defaults(
            values, model_key="model", aliases={"model_name": "model", "request_timeout": "timeout"}
        )

    def _client_key(self) -> ClientKey:
        clients = AdapterClients.of(self)
        return clients.key(
            self.base_url, self.api_key, self.timeout, self.max_retries, max_connections=self.max_connections
        )

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
