"""``LangChainClientFields``: the client fields of LangChain's chat model and embeddings, spelled as LangChain does."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["LangChainClientFields"]


class LangChainClientFields(BaseModel):
    """The fields that pick the server, the model and the client, with ``ChatOpenAI``'s aliases.

    ``model`` is also ``model_name`` and ``timeout`` also ``request_timeout``, as in
    langchain-openai. Fields only: the ``LM_STUDIO_*`` defaults and the shared clients come
    from :class:`~lmstudio_adapters._adapter_base.AdapterModel`, the other base of both
    classes (a base of its own here would add a layer to every construction).
    """

    model_config = ConfigDict(populate_by_name=True)

    model: str = Field(default="", alias="model_name")
    """Model id, as LM Studio lists it (``LM_STUDIO_MODEL``)."""
    base_url: str = ""
    """Server root (``LM_STUDIO_URL``)."""
    api_key: SecretStr | None = None
    """Token for servers with authentication on (``LM_STUDIO_API_KEY``)."""
    timeout: float | None = Field(default=None, alias="request_timeout")
    """Seconds per request; default ``LM_STUDIO_TIMEOUT`` / 1000."""
    max_retries: int | None = None
    """Retries on connection errors, 408, 429 and 5xx; default ``LM_STUDIO_MAX_RETRIES`` (2)."""
    max_connections: int | None = Field(default=None, ge=1)
    """Most connections open at once (httpx's name); default ``LM_STUDIO_MAX_CONNECTIONS`` (1000)."""
