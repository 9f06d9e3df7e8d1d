"""A small registry of model providers: LM Studio and the cloud providers it falls back to.

Each provider says whether it can be used (integration package installed, key present,
server reachable) and builds the LangChain chat model / embeddings and the LlamaIndex LLM /
embedding through the *official* integration packages, imported only when needed. No
provider here speaks HTTP itself, except LM Studio through this package's own client.

Built in: ``lmstudio``, ``openai``, ``anthropic``, ``replicate``, ``openai-compatible`` (any
OpenAI-style endpoint given by ``base_url`` or ``LM_STUDIO_FALLBACK_BASE_URL``), each built
through its integration's own class (``ChatOpenAI``, ``ChatAnthropic``, LlamaIndex ``OpenAI``…),
and, for LangChain, any other provider string that ``langchain.chat_models.init_chat_model``
knows (``google_genai``, ``mistralai``, ``groq``, …; needs the ``langchain`` package).

Example:
    >>> from lmstudio_adapters import providers
    >>> providers.get("openai").availability("langchain").ok  # doctest: +SKIP
    False
    >>> providers.register(providers.Provider(name="mine", ...))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lmstudio_adapters._errors import ConfigError
from lmstudio_adapters.providers._builtin import BUILTINS, langchain_only
from lmstudio_adapters.providers._provider import Availability, Framework, Provider

if TYPE_CHECKING:
    from lmstudio_adapters._selector import Decision

__all__ = [
    "SHARED_ARGUMENTS",
    "Availability",
    "Framework",
    "Provider",
    "available",
    "build_fallback",
    "get",
    "names",
    "register",
]

_registry: dict[str, Provider] = {}


def register(provider: Provider, *, replace: bool = False) -> None:
    """Add a provider (or replace one with ``replace=True``)."""
    if provider.name in _registry and not replace:
        raise ConfigError(f"A provider named {provider.name!r} is already registered; pass replace=True.")
    _registry[provider.name] = provider


def get(name: str) -> Provider:
    """The provider called ``name``; unknown names become LangChain ``init_chat_model`` providers.

    Raises:
        ConfigError: the name is empty.
    """
    if not name:
        raise ConfigError("A provider name is required, as in openai:gpt-4o-mini.")
    provider = _registry.get(name)
    if provider is not None:
        return provider
    return langchain_only(name)


def names() -> list[str]:
    """The registered provider names."""
    return sorted(_registry)


def available(framework: Framework, kind: str | None = None) -> dict[str, Availability]:
    """Each registered provider's availability for a ``kind`` model of ``framework`` (no network).

    ``kind`` defaults to the chat model (``chat`` / ``llm``); LM Studio is not probed. A
    provider reported ready here builds (:meth:`Provider.build`) without an import error.
    """
    return {name: provider.availability(framework, kind) for name, provider in sorted(_registry.items())}


#: Arguments of the local model that a cloud chat model / LLM gets too, unless ``cloud_kwargs``
#: sets them: LangChain's standard chat-model parameters, which every built-in integration takes.
SHARED_ARGUMENTS = ("temperature", "max_tokens", "timeout", "max_retries")
_ALIASES = {"request_timeout": "timeout"}


def build_fallback(
    decision: Decision,
    kind: str,
    cloud_kwargs: dict[str, Any] | None = None,
    *,
    shared: dict[str, Any] | None = None,
) -> Any:
    """Build the cloud model a selector decision names (``decision.fallback``) as a model of ``kind``.

    Args:
        decision: The selector's decision; its ``fallback`` names the cloud model.
        kind: ``chat``, ``embeddings``, ``llm`` or ``embedding``.
        cloud_kwargs: Arguments for the cloud model's class (``api_key``, ``base_url``…).
        shared: The local model's arguments; for ``chat`` and ``llm`` those named in
            :data:`SHARED_ARGUMENTS` are given to the cloud model too (``cloud_kwargs`` wins).

    Raises:
        ConfigError: no cloud model is configured, or it cannot be built (``MissingDependencyError``
            when a package is missing).
    """
    if not decision.fallback:
        raise ConfigError("A cloud model is needed here: pass fallback= or set LM_STUDIO_FALLBACK=provider:model.")
    provider, _, model = decision.fallback.partition(":")
    arguments: dict[str, Any] = {}
    if shared and kind in ("chat", "llm"):
        for name, value in shared.items():
            name = _ALIASES.get(name, name)
            if name in SHARED_ARGUMENTS and value is not None:
                arguments[name] = value
    arguments.update(cloud_kwargs or {})
    return get(provider).build(kind, model, **arguments)


for _provider in BUILTINS:
    register(_provider, replace=True)
del _provider
