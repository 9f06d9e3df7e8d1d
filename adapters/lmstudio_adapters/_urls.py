"""Server URLs: the one place where ``LM_STUDIO_URL`` and ``base_url`` values are checked and normalised."""

from __future__ import annotations

import functools
from urllib.parse import SplitResult, urlsplit

from lmstudio_adapters._errors import ConfigError

__all__ = ["URL_EXPECTED", "normalize_base_url"]

URL_EXPECTED = "an http(s) URL such as http://localhost:1234"


def normalize_base_url(url: str, *, source: str = "base_url") -> str:
    """Return the server root for ``url``: no trailing ``/`` and no trailing ``/v1``.

    Users copy ``http://localhost:1234/v1`` from OpenAI-style guides; every route this
    library calls is built from the root, so both spellings work. Surrounding whitespace
    (a newline from a file) is dropped.

    Refused, because each would send requests somewhere other than intended: a query or
    fragment (routes are appended to the URL, so they would land inside it), control
    characters or spaces, a bad port, and credentials (``http://user:password@host``): LM
    Studio authenticates with a bearer token, and the URL's Basic auth would silently replace
    it and put the password in every repr, log and error that shows the URL.

    Raises:
        ConfigError: naming ``source``, saying what is wrong; a password is never shown.
    """
    if not isinstance(url, str):
        raise ConfigError(f"{source}={url!r} is invalid: expected {URL_EXPECTED}.")
    return _normalized(url, source)


@functools.lru_cache(maxsize=64)
def _normalized(url: str, source: str) -> str:
    # Every model construction checks its URL, nearly always the same few: checked once each.
    text = url.strip()
    parts = urlsplit(text)
    if "@" in parts.netloc:
        shown = f"{parts.scheme}://<credentials>@{parts.netloc.rpartition('@')[2]}"
        raise ConfigError(
            f"{source}={shown!r} is invalid: credentials in the URL are not used. Pass the LM Studio "
            "token as api_key=... or LM_STUDIO_API_KEY, and the URL without user:password@."
        )
    problem = _problem(text, parts)
    if problem:
        raise ConfigError(f"{source}={url!r} is invalid: expected {URL_EXPECTED}, not a valid server URL ({problem}).")
    text = text.rstrip("/")
    if text.endswith("/v1"):
        text = text[: -len("/v1")]
    return text


def _problem(text: str, split: SplitResult) -> str:
    if split.scheme not in ("http", "https") or not split.netloc:
        return "the scheme http:// or https:// and a host are required"
    # Not printable: control characters and every separator but the ASCII space, checked apart.
    if not text.isprintable() or " " in text:
        return "it contains a space or control character"
    if "?" in text or "#" in text:
        return "a query (?...) or fragment (#...) cannot be part of the server root"
    try:
        split.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError as exc:
        return f"bad port: {exc}"
    return ""
