"""What a configuration value must look like: one rule per value, for every entry point.

Both clients, the four framework classes, the selector and ``LMStudioSettings`` call these
at construction, so a bad value fails where it is given, as a ``ConfigError`` that names the
argument or variable and never shows a key.
"""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

from pydantic import SecretStr

from lmstudio_adapters._errors import ConfigError
from lmstudio_adapters._secrets import remember_secret

__all__ = [
    "API_FLAVORS",
    "API_KEY_VARIABLE",
    "MAX_TIMEOUT",
    "PREFERENCES",
    "ApiFlavor",
    "Preference",
    "check_api_key",
    "check_choice",
    "check_environment_api_key",
    "check_max_connections",
    "check_max_retries",
    "check_timeout",
    "environment_api_key",
]

#: The longest timeout accepted, in seconds (one day). A just-in-time model load plus a long
#: generation takes minutes; the OS timers under httpx overflow near 24.8 days (2**31 ms), and
#: ``inf`` or ``1e12`` would overflow there instead of meaning "wait forever".
MAX_TIMEOUT = 86_400.0

#: Which model-listing API a client asks (``api=``, ``LM_STUDIO_API``); ``auto`` detects it.
ApiFlavor = Literal["auto", "openai", "v0", "v1"]
API_FLAVORS: tuple[str, ...] = get_args(ApiFlavor)
#: What the selector prefers (``prefer=``, ``LM_STUDIO_PREFER``).
Preference = Literal["local", "cloud", "local-only"]
PREFERENCES: tuple[str, ...] = get_args(Preference)

#: The variable holding the API token.
API_KEY_VARIABLE = "LM_STUDIO_API_KEY"


def check_timeout(value: Any, *, source: str = "timeout") -> float:
    """``value`` as seconds, if it is a finite number in (0, ``MAX_TIMEOUT``].

    Raises:
        ConfigError: naming ``source`` and what it expects.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT:
        # `not 0 < nan` is True, so NaN lands here too.
        raise ConfigError(
            f"{source}={value!r} is invalid: expected a number of seconds greater than 0 and at most "
            f"{MAX_TIMEOUT:g} (one day), such as 30."
        )
    return float(value)


def check_choice(value: Any, choices: tuple[str, ...], *, source: str) -> str:
    """``value`` if it is one of ``choices`` (``API_FLAVORS``, ``PREFERENCES``).

    Raises:
        ConfigError: naming ``source`` and the choices.
    """
    if value not in choices:
        raise ConfigError(f"{source}={value!r} is invalid: expected one of {', '.join(choices)}.")
    return str(value)


def check_max_connections(value: Any, *, source: str = "max_connections") -> int:
    """``value`` if it is a whole number, 1 or more.

    Raises:
        ConfigError: naming ``source``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{source}={value!r} is invalid: expected a whole number, 1 or more.")
    return value


def check_max_retries(value: Any, *, source: str = "max_retries") -> int:
    """``value`` if it is a whole number, 0 or more.

    Raises:
        ConfigError: naming ``source``; ``2.5`` and ``-1`` are refused, not rounded.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{source}={value!r} is invalid: expected a whole number, 0 or more, such as 2.")
    return value


def check_api_key(value: str | SecretStr | None, *, source: str = "api_key", empty_is_none: bool = False) -> str | None:
    r"""The key as it is sent, after the checks a bearer token must pass.

    One trailing line ending (``\n`` or ``\r\n``) is dropped: a key read with
    ``Path(...).read_text()`` ends with one, and it is never part of a token (the ``gh`` and
    ``docker login --password-stdin`` CLIs drop it too). Anything else that cannot be in an
    HTTP header is refused, not repaired, so a mangled key is not sent. ``empty_is_none``
    makes ``""`` mean "no key", the convention for environment variables
    (``LM_STUDIO_API_KEY=`` clears it). Accepted keys are remembered, so error messages hide them.

    Raises:
        ConfigError: the key is blank, or contains whitespace, a control character or a
            non-ASCII character; the message says which and where, never the key.
    """
    if value is None:
        return None
    key = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(key, str):
        raise ConfigError(f"{source} is invalid: expected a string token, got {type(key).__name__}.")
    if key == "" and empty_is_none:
        return None
    if key.endswith("\r\n"):
        key = key[:-2]
    elif key.endswith("\n"):
        key = key[:-1]
    if not key.strip():
        raise ConfigError(
            f"{source} is blank: pass the token from LM Studio (Developer > Server Settings > Manage Tokens), "
            "or leave it unset when the server does not require one."
        )
    for position, char in enumerate(key):
        if not char.isascii():
            problem = "a non-ASCII character"
        elif char.isspace():
            problem = "whitespace"
        elif not char.isprintable():
            problem = "a control character"
        else:
            continue
        raise ConfigError(
            f"{source} contains {problem} at position {position} (the key itself is not shown): an API "
            "token is printable ASCII without spaces. Copy it again from LM Studio."
        )
    remember_secret(key)
    return key


def check_environment_api_key(value: str | SecretStr | None) -> str | None:
    """The rule of ``LM_STUDIO_API_KEY``: ``""`` means no key, anything else as :func:`check_api_key`.

    ``LMStudioSettings`` validates its ``api_key`` field with it.
    """
    return check_api_key(value, source=API_KEY_VARIABLE, empty_is_none=True)


def environment_api_key() -> str | None:
    """``LM_STUDIO_API_KEY`` as the settings read it, without parsing the other variables.

    For the framework models given a model and a URL: the key is the one default they still need.
    """
    return check_environment_api_key(os.environ.get(API_KEY_VARIABLE))
