"""``select_chat_model`` / ``select_embeddings``: LM Studio when it can serve, else the cloud."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from lmstudio_adapters import providers
from lmstudio_adapters._config import LMStudioSettings
from lmstudio_adapters._errors import APIConnectionError
from lmstudio_adapters._selector import Decision, decide_backend
from lmstudio_adapters.langchain._chat_model import LMStudioChatModel
from lmstudio_adapters.langchain._embeddings import LMStudioEmbeddings

__all__ = ["select_chat_model", "select_embeddings"]

SELECTION_KEY = "lmstudio_adapters_selection"


def _remember(model: Any, decision: Decision) -> None:
    if isinstance(model, BaseChatModel):
        model.metadata = {**(model.metadata or {}), SELECTION_KEY: str(decision)}


def select_chat_model(
    model: str | None = None,
    *,
    base_url: str | None = None,
    fallback: str | None = None,
    prefer: str | None = None,
    runtime_fallback: bool = False,
    cloud_kwargs: dict[str, Any] | None = None,
    settings: LMStudioSettings | None = None,
    **kwargs: Any,
) -> BaseChatModel | Runnable[Any, Any]:
    """An ``LMStudioChatModel`` when LM Studio serves ``model``, else the cloud model from ``fallback``.

    The cloud model is built by its official integration (``ChatOpenAI`` for ``openai:`` and
    ``openai-compatible:``, ``ChatAnthropic`` for ``anthropic:``, LangChain's ``init_chat_model``
    for any other provider it knows), so the rest of the chain does not change. The decision
    and its reason are logged on ``lmstudio_adapters.selector`` and stored in
    ``result.metadata["lmstudio_adapters_selection"]``; call
    :func:`lmstudio_adapters.decide_backend` to get it as an object.

    Args:
        model: LM Studio model id (``LM_STUDIO_MODEL``).
        base_url: LM Studio URL (``LM_STUDIO_URL``).
        fallback: Cloud model as ``provider:model``, e.g. ``openai:gpt-4o-mini`` (``LM_STUDIO_FALLBACK``).
        prefer: ``local``, ``cloud`` or ``local-only`` (``LM_STUDIO_PREFER``).
        runtime_fallback: Also fall back to the cloud model when a local call fails with a
            connection error later on (LangChain's ``with_fallbacks``; ``bind_tools`` and
            ``with_structured_output`` still work on the result).
        cloud_kwargs: Arguments for the cloud model (``api_key``, ``base_url``, ``temperature``…).
        settings: Settings to read defaults from instead of the environment.
        **kwargs: Arguments for ``LMStudioChatModel``; ``temperature``, ``max_tokens``,
            ``timeout`` and ``max_retries`` among them go to the cloud model too, unless
            ``cloud_kwargs`` sets them.

    Raises:
        NoBackendError: LM Studio cannot serve and no cloud fallback is allowed or configured.
        MissingDependencyError: the cloud model's integration is not installed (names the pip install).
        ConfigError: the cloud model cannot be built (no API key, no ``base_url``).

    Example:
        >>> llm = select_chat_model("qwen/qwen3-4b", fallback="openai:gpt-4o-mini")  # doctest: +SKIP
    """
    decision = decide_backend(
        model, base_url=base_url, fallback=fallback, prefer=prefer, api_key=kwargs.get("api_key"), settings=settings
    )
    if decision.target == "cloud":
        cloud = providers.build_fallback(decision, "chat", cloud_kwargs, shared=kwargs)
        _remember(cloud, decision)
        return cloud  # type: ignore[no-any-return]
    local = LMStudioChatModel(model=decision.model, base_url=decision.base_url, **kwargs)
    _remember(local, decision)
    if not runtime_fallback:
        return local
    cloud_model = providers.build_fallback(decision, "chat", cloud_kwargs, shared=kwargs)
    return local.with_fallbacks([cloud_model], exceptions_to_handle=(APIConnectionError,))


def select_embeddings(
    model: str | None = None,
    *,
    base_url: str | None = None,
    fallback: str | None = None,
    prefer: str | None = None,
    cloud_kwargs: dict[str, Any] | None = None,
    settings: LMStudioSettings | None = None,
    **kwargs: Any,
) -> Embeddings:
    """``LMStudioEmbeddings`` when LM Studio serves ``model``, else cloud embeddings (``OpenAIEmbeddings``…).

    Arguments as for :func:`select_chat_model`; ``fallback`` names an embedding model, such
    as ``openai:text-embedding-3-small``. ``**kwargs`` go to ``LMStudioEmbeddings`` only; the
    cloud embeddings get ``cloud_kwargs``.
    """
    decision = decide_backend(
        model, base_url=base_url, fallback=fallback, prefer=prefer, api_key=kwargs.get("api_key"), settings=settings
    )
    if decision.target == "cloud":
        return providers.build_fallback(decision, "embeddings", cloud_kwargs)  # type: ignore[no-any-return]
    return LMStudioEmbeddings(model=decision.model, base_url=decision.base_url, **kwargs)
