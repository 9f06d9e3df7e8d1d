"""A small registry of model providers: LM Studio and the cloud providers it falls back to.

Each provider says whether it can be used (integration package installed, key present,
server reachable) and builds the LangChain chat model / embeddings and the LlamaIndex LLM /
embedding through the *official* integration packages, imported only when needed. No
provider here speaks HTTP itself, except LM Studio through this package's own client.

Built in: ``lmstudio``, ``openai``, ``anthropic``, ``replicate``, ``openai-compatible`` (any
OpenAI-style endpoint given by ``base_url``), and, for LangChain, any provider string that
``langchain.chat_models.init_chat_model`` knows (``google_genai``, ``mistralai``, ``groq``, …).

Example:
    >>> from lmstudio_adapters import providers
    >>> providers.get("openai").availability("langchain").ok  # doctest: +SKIP
    False
    >>> providers.register(providers.Provider(name="mine", ...))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lmstudio_adapters._errors import ConfigError

if TYPE_CHECKING:
    from lmstudio_adapters._selector import Decision

__all__ = ["Availability", "Framework", "Provider", "available", "build_fallback", "get", "names", "register"]

Framework = Literal["langchain", "llama_index"]
Builder = Callable[..., Any]


@dataclass(frozen=True)
class Availability:
    """Whether a provider can be used, and if not, what to do."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@dataclass(frozen=True)
class Provider:
    """A named way to build models for each framework.

    Attributes:
        name: The name used in ``provider:model`` strings.
        key_env: Environment variable holding the API key, if one is needed.
        modules: Module to import per framework, to check the integration is installed.
        packages: What to ``pip install`` per framework, for the error message.
        builders: Callables ``(model, **kwargs)`` per kind: ``chat`` and ``embeddings``
            (LangChain), ``llm`` and ``embedding`` (LlamaIndex).
        needs_base_url: Whether ``base_url`` must be given (custom endpoints).
    """

    name: str
    key_env: str | None = None
    modules: dict[str, str] | None = None
    packages: dict[str, str] | None = None
    builders: dict[str, Builder] | None = None
    needs_base_url: bool = False

    def availability(self, framework: Framework, **kwargs: Any) -> Availability:
        """Whether this provider can build models for ``framework`` with these arguments (no network)."""
        module = (self.modules or {}).get(framework)
        if module and not _installed(module):
            package = (self.packages or {}).get(framework, module)
            return Availability(False, f"{self.name}: the integration is not installed (pip install {package})")
        if self.key_env and not kwargs.get("api_key") and not os.environ.get(self.key_env):
            return Availability(False, f"{self.name}: no API key (set {self.key_env} or pass api_key=)")
        if self.needs_base_url and not kwargs.get("base_url"):
            return Availability(False, f"{self.name}: base_url= is required")
        return Availability(True, f"{self.name}: ready")

    def build(self, kind: str, model: str, **kwargs: Any) -> Any:
        """Build a model of ``kind`` (``chat``, ``embeddings``, ``llm``, ``embedding``).

        Raises:
            ConfigError: the provider has no builder for that kind, or cannot be used.
        """
        builder = (self.builders or {}).get(kind)
        if builder is None:
            raise ConfigError(f"Provider {self.name!r} cannot build a {kind} model; register a builder for it.")
        framework: Framework = "langchain" if kind in ("chat", "embeddings") else "llama_index"
        ready = self.availability(framework, **kwargs)
        if not ready:
            raise ConfigError(f"Cannot build {self.name}:{model}: {ready.reason}.")
        return builder(model, **kwargs)


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
    from lmstudio_adapters.providers._builtin import langchain_only

    return langchain_only(name)


def names() -> list[str]:
    """The registered provider names."""
    return sorted(_registry)


def available(framework: Framework) -> dict[str, Availability]:
    """Each registered provider's availability for ``framework`` (no network; LM Studio is not probed)."""
    return {name: provider.availability(framework) for name, provider in sorted(_registry.items())}


def build_fallback(decision: Decision, kind: str, cloud_kwargs: dict[str, Any] | None = None) -> Any:
    """Build the cloud model a selector decision names (``decision.fallback``) as a model of ``kind``.

    Raises:
        ConfigError: no cloud model is configured.
    """
    if not decision.fallback:
        raise ConfigError("A cloud model is needed here: pass fallback= or set LM_STUDIO_FALLBACK=provider:model.")
    provider, _, model = decision.fallback.partition(":")
    return get(provider).build(kind, model, **(cloud_kwargs or {}))


def _register_builtins() -> None:
    from lmstudio_adapters.providers._builtin import BUILTINS

    for provider in BUILTINS:
        register(provider, replace=True)


_register_builtins()
