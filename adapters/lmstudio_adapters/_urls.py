"""Server URLs: the one place where ``LM_STUDIO_URL`` and ``base_url`` values are normalised."""

from __future__ import annotations

from urllib.parse import urlsplit

from lmstudio_adapters._errors import ConfigError

__all__ = ["URL_EXPECTED", "normalize_base_url"]

URL_EXPECTED = "an http(s) URL such as http://localhost:1234"


def normalize_base_url(url: str, *, source: str = "base_url") -> str:
    """Return the server root for ``url``: no trailing ``/`` and no trailing ``/v1``.

    Users copy ``http://localhost:1234/v1`` from OpenAI-style guides; every route this
    library calls is built from the root, so both spellings work.

    Raises:
        ConfigError: if ``url`` is not an absolute http(s) URL.
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{source}={url!r} is not a valid server URL: expected {URL_EXPECTED} "
            "(the scheme http:// or https:// is required)."
        )
    text = text.rstrip("/")
    if text.endswith("/v1"):
        text = text[: -len("/v1")]
    return text
