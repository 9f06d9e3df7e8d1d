"""Configuration: ``LMStudioSettings``, the ``LM_STUDIO_*`` variables and their defaults.

The rules a value must follow live in ``_checks`` (timeouts, retries, keys, choices) and
``_urls`` (server URLs); the settings apply the same rules as the constructors.
"""

from __future__ import annotations

import functools
import os
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from lmstudio_adapters._checks import (
    API_FLAVORS,
    API_KEY_VARIABLE,
    MAX_TIMEOUT,
    PREFERENCES,
    ApiFlavor,
    Preference,
    check_environment_api_key,
)
from lmstudio_adapters._errors import ConfigError
from lmstudio_adapters._routes import DEFAULT_MODEL
from lmstudio_adapters._urls import URL_EXPECTED, normalize_base_url

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LOAD_TIMEOUT_MS",
    "DEFAULT_MODEL",
    "DEFAULT_TIMEOUT_MS",
    "LMStudioSettings",
    "current_settings",
    "normalize_base_url",
]

DEFAULT_BASE_URL = "http://localhost:1234"
DEFAULT_TIMEOUT_MS = 30_000
#: Loading reads the whole model from disk into (GPU) memory: ~8 s for a 1B model, 15-25 s
#: for a 20B, minutes for a 70B or from a network drive. Ten minutes lets those finish
#: instead of abandoning a load that would have worked; a hung server still ends.
DEFAULT_LOAD_TIMEOUT_MS = 600_000
DEFAULT_MAX_RETRIES = 2
DEFAULT_PROBE_TIMEOUT_MS = 1_000
DEFAULT_PROBE_CACHE_TTL_S = 30.0
_MAX_TIMEOUT_MS = int(MAX_TIMEOUT * 1000)
#: The OpenAI SDK's limit (so ChatOpenAI's and OpenAILike's): enough for hundreds of parallel streams.
DEFAULT_MAX_CONNECTIONS = 1000

# What each field must look like, shown in ConfigError messages next to the variable name.
_EXPECTED = {
    "url": URL_EXPECTED,
    "model": "a model id such as qwen/qwen3-4b",
    "timeout_ms": f"a whole number of milliseconds greater than 0 and at most {_MAX_TIMEOUT_MS} (a day), such as 30000",
    "max_retries": "a whole number, 0 or more, such as 2",
    "max_connections": "a whole number greater than 0, such as 1000",
    "api": f"one of {', '.join(API_FLAVORS)}",
    "prefer": f"one of {', '.join(PREFERENCES)}",
    "fallback": "a provider:model string such as openai:gpt-4o-mini",
    "load_timeout_ms": f"a whole number of milliseconds greater than 0 and at most {_MAX_TIMEOUT_MS}, such as 600000",
    "probe_timeout_ms": f"a whole number of milliseconds greater than 0 and at most {_MAX_TIMEOUT_MS}, such as 1000",
    "probe_cache_ttl": "a number of seconds, 0 or more, such as 30",
    "api_key": "a token string",
    "discover_ports": "comma-separated port numbers, such as 1234,41343",
}


class LMStudioSettings(BaseSettings):
    """Settings for reaching an LM Studio server, read from ``LM_STUDIO_*`` variables.

    Precedence, for every field: explicit argument > environment variable > default.

    Example:
        >>> settings = LMStudioSettings(url="http://localhost:1234/v1", timeout_ms=5000)
        >>> settings.base_url, settings.timeout
        ('http://localhost:1234', 5.0)

    Raises:
        ConfigError: when a value is invalid; the message names the variable and what
            it expects.
    """

    # Case-sensitive, like os.getenv: LM_STUDIO_URL, never lm_studio_url (Windows upper-cases
    # every name, so there it matches whatever the user typed).
    model_config = SettingsConfigDict(env_prefix="LM_STUDIO_", extra="ignore", frozen=True, case_sensitive=True)

    url: str = Field(default=DEFAULT_BASE_URL, validation_alias="LM_STUDIO_URL")
    """Server root (``LM_STUDIO_URL``); a trailing ``/v1`` is accepted. Default ``http://localhost:1234``."""

    model: str = Field(default=DEFAULT_MODEL, min_length=1, validation_alias="LM_STUDIO_MODEL")
    """Model id used when none is given (``LM_STUDIO_MODEL``). Default ``local-model``."""

    timeout_ms: int = Field(default=DEFAULT_TIMEOUT_MS, gt=0, le=_MAX_TIMEOUT_MS, validation_alias="LM_STUDIO_TIMEOUT")
    """Per-request timeout in **milliseconds** (``LM_STUDIO_TIMEOUT``). Default 30000."""

    api_key: SecretStr | None = Field(default=None, validation_alias=API_KEY_VARIABLE)
    """API token for servers with authentication on (``LM_STUDIO_API_KEY``, LM Studio 0.4+)."""

    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0, validation_alias="LM_STUDIO_MAX_RETRIES")
    """Retries on connection errors, 408, 429 and 5xx (``LM_STUDIO_MAX_RETRIES``). Default 2."""

    max_connections: int = Field(default=DEFAULT_MAX_CONNECTIONS, gt=0, validation_alias="LM_STUDIO_MAX_CONNECTIONS")
    """Most connections a client keeps open at once (``LM_STUDIO_MAX_CONNECTIONS``). Default 1000."""

    api: ApiFlavor = Field(default="auto", validation_alias="LM_STUDIO_API")
    """Model-listing API: ``auto`` detects it once per client (``LM_STUDIO_API``)."""

    load_timeout_ms: int = Field(
        default=DEFAULT_LOAD_TIMEOUT_MS, gt=0, le=_MAX_TIMEOUT_MS, validation_alias="LM_STUDIO_LOAD_TIMEOUT"
    )
    """Limit for loading a model in **milliseconds** (``LM_STUDIO_LOAD_TIMEOUT``). Default 600000 (10 min)."""

    probe_timeout_ms: int = Field(
        default=DEFAULT_PROBE_TIMEOUT_MS, gt=0, le=_MAX_TIMEOUT_MS, validation_alias="LM_STUDIO_PROBE_TIMEOUT"
    )
    """Timeout of the reachability probe in milliseconds (``LM_STUDIO_PROBE_TIMEOUT``). Default 1000."""

    probe_cache_ttl: float = Field(
        default=DEFAULT_PROBE_CACHE_TTL_S, ge=0, validation_alias="LM_STUDIO_PROBE_CACHE_TTL"
    )
    """Seconds a probe result is reused by the selector (``LM_STUDIO_PROBE_CACHE_TTL``). Default 30."""

    prefer: Preference = Field(default="local", validation_alias="LM_STUDIO_PREFER")
    """Selector preference (``LM_STUDIO_PREFER``): ``local``, ``cloud`` or ``local-only``."""

    fallback: str | None = Field(default=None, validation_alias="LM_STUDIO_FALLBACK")
    """Cloud model used when LM Studio cannot serve, as ``provider:model`` (``LM_STUDIO_FALLBACK``)."""

    discover_ports: Annotated[tuple[int, ...] | None, NoDecode] = Field(
        default=None, validation_alias="LM_STUDIO_DISCOVER_PORTS"
    )
    """Ports ``discover()`` probes after the URL's own (``LM_STUDIO_DISCOVER_PORTS``, comma-separated).

    Default: LM Studio's and the other local servers' usual ports.
    """

    def __init__(self, **values: Any) -> None:
        # Accept field names as arguments (url=..., timeout_ms=...) as well as the aliases.
        try:
            super().__init__(**_by_alias(values))
        except ValidationError as exc:
            raise _config_error(exc) from None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        normalize_base_url(value, source="LM_STUDIO_URL")
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _check_api_key(cls, value: str | SecretStr | None) -> str | None:
        # An empty variable means no key, as for every other LM_STUDIO_* variable.
        return check_environment_api_key(value)

    @field_validator("fallback")
    @classmethod
    def _check_fallback(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and ":" not in value:
            raise ValueError("missing provider prefix")
        return value or None

    @field_validator("discover_ports", mode="before")
    @classmethod
    def _parse_ports(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [item for item in value.replace(" ", "").split(",") if item]
            if not value:
                raise ValueError("no ports")
        if isinstance(value, (list, tuple)) and not all(map(_is_port, value)):
            raise ValueError("not port numbers")
        return value

    @functools.cached_property
    def base_url(self) -> str:
        """The server root, normalised (no trailing ``/`` or ``/v1``)."""
        return normalize_base_url(self.url, source="LM_STUDIO_URL")

    @property
    def timeout(self) -> float:
        """The request timeout in seconds."""
        return self.timeout_ms / 1000

    @property
    def timeout_source(self) -> str:
        """Where :attr:`timeout` comes from, as error messages name it: ``LM_STUDIO_TIMEOUT=30000 (ms)``."""
        return f"LM_STUDIO_TIMEOUT={self.timeout_ms} (ms)"

    @property
    def load_timeout(self) -> float:
        """The model-loading timeout in seconds."""
        return self.load_timeout_ms / 1000

    @property
    def probe_timeout(self) -> float:
        """The reachability-probe timeout in seconds."""
        return self.probe_timeout_ms / 1000


def _is_port(value: Any) -> bool:
    return type(value) in (int, str) and str(value).isdigit() and 0 < int(value) < 65536


def _by_alias(values: dict[str, Any]) -> dict[str, Any]:
    fields = LMStudioSettings.model_fields
    renamed: dict[str, Any] = {}
    for key, value in values.items():
        field = fields.get(key)
        alias = field.validation_alias if field is not None else None
        renamed[alias if isinstance(alias, str) else key] = value
    return renamed


def _config_error(exc: ValidationError) -> ConfigError:
    lines = []
    for error in exc.errors():
        loc = str(error["loc"][0]) if error["loc"] else ""
        field = next(
            (name for name, info in LMStudioSettings.model_fields.items() if loc in (name, info.validation_alias)),
            loc,
        )
        variable = (
            LMStudioSettings.model_fields[field].validation_alias if field in LMStudioSettings.model_fields else loc
        )
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ConfigError):
            lines.append(str(cause))  # our own check already named the variable and hid what must be hidden
            continue
        shown = "<hidden>" if field == "api_key" else repr(error.get("input"))
        lines.append(f"{variable}={shown} is invalid: expected {_EXPECTED.get(field, 'a valid value')}.")
    return ConfigError(" ".join(lines))


@functools.lru_cache(maxsize=16)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> LMStudioSettings:
    return LMStudioSettings()


def current_settings() -> LMStudioSettings:
    """``LMStudioSettings()`` for the current ``LM_STUDIO_*`` environment, parsed once per distinct value set.

    Settings are frozen, so one instance can be shared; constructing a model then costs
    microseconds instead of a full environment parse.
    """
    environ = os.environ
    # Names first, then values: os.environ decodes every item it hands out, and few are ours.
    environment = tuple(sorted((key, environ[key]) for key in environ if key.startswith("LM_STUDIO_")))
    return _settings_for(environment)
