"""What the framework models share for configuration, without importing pydantic-settings.

``LM_STUDIO_*`` defaults are filled in at construction, and a ``ConfigError`` raised inside
pydantic validation reaches the user as itself. The settings class is imported only when a
default is actually needed, which keeps the framework entry points quick to import.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from lmstudio_adapters._checks import check_api_key, check_max_retries, check_timeout, environment_api_key
from lmstudio_adapters._errors import ConfigError
from lmstudio_adapters._urls import normalize_base_url

__all__ = [
    "accepted_names",
    "move_unknown",
    "raise_config_error",
    "refuse_unknown",
    "with_settings_defaults",
]


def accepted_names(model_fields: dict[str, Any], extra: Iterable[str] = ()) -> frozenset[str]:
    """Every constructor argument a framework model takes: field names, their aliases, and ``extra``."""
    names = set(model_fields) | set(extra)
    for info in model_fields.values():
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
    return frozenset(names)


def unknown_arguments(values: Any, accepted: frozenset[str]) -> dict[str, str | None]:
    """The constructor arguments a model does not take, each with the closest name it does take."""
    if not isinstance(values, dict) or values.keys() <= accepted:
        return {}
    return {
        name: next(iter(difflib.get_close_matches(name, accepted, n=1, cutoff=0.75)), None)
        for name in values
        if isinstance(name, str) and name not in accepted
    }


def describe_unknown(unknown: dict[str, str | None]) -> str:
    """``'temprature' (did you mean 'temperature'?)``, for each unknown argument."""
    return ", ".join(f"{name!r} (did you mean {close!r}?)" if close else repr(name) for name, close in unknown.items())


def move_unknown(values: Any, accepted: frozenset[str], *, owner: str, into: str) -> Any:
    """LangChain's convention (``ChatOpenAI``): an unknown argument moves to ``into``, with a warning."""
    unknown = unknown_arguments(values, accepted)
    if not unknown:
        return values
    warnings.warn(
        f"{owner} does not take {describe_unknown(unknown)}: moved to {into}, so it is sent to the server "
        "as a request field (LM Studio ignores fields it does not know). Check the spelling.",
        UserWarning,
        stacklevel=7,  # the caller's line: past our validator and its hook, pydantic's and our __init__
    )
    moved = dict(values.get(into) or {})
    moved.update((name, values[name]) for name in unknown)
    return {**{key: value for key, value in values.items() if key not in unknown}, into: moved}


def refuse_unknown(values: Any, accepted: frozenset[str], *, owner: str, hint: str) -> None:
    """A ``ConfigError`` for arguments the model does not take, for frameworks without a catch-all field.

    Raises:
        ConfigError: naming each unknown argument and the closest known one.
    """
    unknown = unknown_arguments(values, accepted)
    if unknown:
        raise ConfigError(f"{owner} does not take {describe_unknown(unknown)}. {hint}")


def raise_config_error(exc: ValidationError) -> None:
    """Re-raise the ``ConfigError`` that a framework model's validation wrapped, if there is one.

    Framework models validate with pydantic, which wraps the ``ConfigError`` raised by our
    settings; users should see ours, with its message, not pydantic's wrapper.
    """
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ConfigError):
            raise cause from None


def with_settings_defaults(values: Any, *, model_key: str, aliases: dict[str, str] | None = None) -> Any:
    """Constructor values with ``model``, ``base_url`` and ``api_key`` filled from ``LM_STUDIO_*``.

    ``aliases`` maps each framework's conventional names (``timeout`` → ``request_timeout``,
    ``model`` → ``model_name``) onto the model's field names first. Explicit values win; a
    ``base_url`` given as a string is normalised (no trailing ``/`` or ``/v1``).

    Raises:
        ConfigError: if ``base_url``, ``api_key`` (or ``LM_STUDIO_API_KEY``), ``timeout`` or
            ``max_retries`` is invalid (the rules of ``lmstudio_adapters._checks`` and ``_urls``).
    """
    if not isinstance(values, dict):
        return values
    values = dict(values)
    _check_numbers(values)  # before the aliases: the message names the argument as the user spelled it
    for alias, name in (aliases or {}).items():
        if values.get(alias) is not None and values.get(name) is None:
            values[name] = values.pop(alias)
    base_url = values.get("base_url")
    if base_url and isinstance(base_url, str):
        values["base_url"] = normalize_base_url(base_url)
    if values.get("api_key") is not None:
        values["api_key"] = check_api_key(values["api_key"])
    if values.get(model_key) and base_url:
        # Only the key can come from the environment: one lookup, no settings parse.
        if values.get("api_key") is None:
            api_key = environment_api_key()
            if api_key is not None:
                values["api_key"] = api_key
        return values
    from lmstudio_adapters._config import current_settings

    settings = current_settings()
    if not values.get(model_key):
        values[model_key] = settings.model
    if not values.get("base_url"):
        values["base_url"] = settings.base_url
    if values.get("api_key") is None and settings.api_key is not None:
        values["api_key"] = settings.api_key
    return values


def _check_numbers(values: dict[str, Any]) -> None:
    # Numbers only: strings are left to pydantic's coercion, and the client checks the result.
    for name in ("timeout", "request_timeout"):
        value = values.get(name)
        if isinstance(value, (int, float)):
            values[name] = check_timeout(value, source=name)
    retries = values.get("max_retries")
    if isinstance(retries, (int, float)):
        check_max_retries(retries)
