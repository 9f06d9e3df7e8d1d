"""What a provider is: ``Provider`` (how to build each kind of model) and its ``Availability``."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from lmstudio_adapters._errors import ConfigError, MissingDependencyError

__all__ = ["Availability", "Builder", "Framework", "Provider"]

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
