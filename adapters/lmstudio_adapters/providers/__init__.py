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

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lmstudio_adapters._errors import ConfigError, MissingDependencyError

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

Framework = Literal["langchain", "llama_index"]
Builder = Callable[..., Any]


@dataclass(frozen=True)
class Availability:
    """Whether a provider can build a model, and if not, what to do.

    Attributes:
        ok: A model of that kind can be built with these arguments.
        reason: Why not, with the fix, or ``"<name>: ready"``.
        install: What to ``pip install`` when a package is missing (empty otherwise).
    """

    ok: bool
    reason: str
    install: str = ""

    def __bool__(self) -> bool:
        return self.ok


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


_MAIN_KIND: dict[str, str] = {"langchain": "chat", "llama_index": "llm"}
_FRAMEWORK_OF: dict[str, Framework] = {
    "chat": "langchain",
    "embeddings": "langchain",
    "llm": "llama_index",
    "embedding": "llama_index",
}


@dataclass(frozen=True)
class Provider:
    """A named way to build models for each framework.

    Attributes:
        name: The name used in ``provider:model`` strings.
        key_env: Environment variable holding the API key, if one is needed.
        modules: Modules a builder imports, keyed by kind (``chat``, ``embeddings``, ``llm``,
            ``embedding``) or by framework (``langchain``, ``llama_index``) for every kind of it;
            a value is one module name or a tuple of them.
        packages: What to ``pip install`` for those modules, keyed the same way.
        builders: Callables ``(model, **kwargs)`` per kind: ``chat`` and ``embeddings``
            (LangChain), ``llm`` and ``embedding`` (LlamaIndex).
        needs_base_url: Whether ``base_url`` must be given (custom endpoints).
        base_url_env: Environment variable read for ``base_url`` when it is not passed.
    """

    name: str
    key_env: str | None = None
    modules: dict[str, str | tuple[str, ...]] | None = None
    packages: dict[str, str] | None = None
    builders: dict[str, Builder] | None = None
    needs_base_url: bool = False
    base_url_env: str | None = None

    def availability(self, framework: Framework, kind: str | None = None, **kwargs: Any) -> Availability:
        """Whether this provider can build a ``kind`` model for ``framework`` with these arguments.

        ``kind`` defaults to the framework's chat model (``chat`` for LangChain, ``llm`` for
        LlamaIndex). Nothing is imported and no request is made: the answer comes from the
        builders registered, the packages installed, the key and the base URL.
        """
        kind = kind or _MAIN_KIND[framework]
        if _FRAMEWORK_OF.get(kind) != framework:
            kinds = ", ".join(k for k, f in _FRAMEWORK_OF.items() if f == framework)
            raise ConfigError(f"kind={kind!r} is not a {framework} kind: expected one of {kinds}.")
        if kind not in (self.builders or {}):
            return Availability(False, f"{self.name}: no {kind} builder is registered for {framework}")
        missing = [module for module in self._modules(kind, framework) if not _installed(module)]
        if missing:
            packages = self.packages or {}
            install = packages.get(kind) or packages.get(framework) or " ".join(m.replace("_", "-") for m in missing)
            return Availability(False, f"{self.name}: {missing[0]} is not installed (pip install {install})", install)
        if self.key_env and not kwargs.get("api_key") and not os.environ.get(self.key_env):
            return Availability(False, f"{self.name}: no API key (set {self.key_env} or pass api_key=)")
        if self.needs_base_url and not self._base_url(kwargs):
            where = f" or set {self.base_url_env}" if self.base_url_env else ""
            return Availability(
                False, f"{self.name}: no endpoint: pass base_url= (cloud_kwargs={{'base_url': ...}}){where}"
            )
        return Availability(True, f"{self.name}: ready")

    def build(self, kind: str, model: str, **kwargs: Any) -> Any:
        """Build a model of ``kind`` (``chat``, ``embeddings``, ``llm``, ``embedding``).

        Raises:
            MissingDependencyError: a package the builder needs is not installed (names the pip install).
            ConfigError: the provider has no builder for that kind, or cannot be used.
        """
        framework = _FRAMEWORK_OF.get(kind)
        if framework is None:
            raise ConfigError(f"kind={kind!r} is invalid: expected one of chat, embeddings, llm, embedding.")
        ready = self.availability(framework, kind, **kwargs)
        if not ready:
            error = MissingDependencyError if ready.install else ConfigError
            raise error(f"Cannot build {self.name}:{model}: {ready.reason}.")
        base_url = self._base_url(kwargs)
        if base_url and "base_url" not in kwargs:
            kwargs["base_url"] = base_url
        try:
            return (self.builders or {})[kind](model, **kwargs)
        except ModuleNotFoundError as exc:  # a builder importing more than its provider declared
            package = (exc.name or "").split(".")[0].replace("_", "-")
            raise MissingDependencyError(
                f"Cannot build {self.name}:{model}: {exc.name} is not installed (pip install {package})."
            ) from exc

    def _modules(self, kind: str, framework: Framework) -> tuple[str, ...]:
        modules = self.modules or {}
        found = modules.get(kind) or modules.get(framework) or ()
        return (found,) if isinstance(found, str) else found

    def _base_url(self, kwargs: dict[str, Any]) -> str | None:
        given = kwargs.get("base_url")
        if given:
            return str(given)
        return os.environ.get(self.base_url_env) if self.base_url_env else None


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


def _register_builtins() -> None:
    from lmstudio_adapters.providers._builtin import BUILTINS

    for provider in BUILTINS:
        register(provider, replace=True)


_register_builtins()
