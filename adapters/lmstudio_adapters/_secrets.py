"""The API keys this process configured, and the one function that hides them in text.

Every key that enters the package (constructor, ``LM_STUDIO_API_KEY``, settings) passes
:func:`lmstudio_adapters._checks.check_api_key`, which remembers it here; every error the
package raises passes its message and the server's body through :func:`redact`, so a server
or proxy that echoes request headers cannot put a key into an exception, a log line or a
selector decision. Only errors pay for this: nothing runs per request.
"""

from __future__ import annotations

import re
import threading

__all__ = ["REDACTED", "redact", "redact_bytes", "remember_secret"]

REDACTED = "<redacted>"

#: Characters of a bearer token (RFC 6750 b64token, without the "=" padding that also
#: separates query parameters): a key is hidden where it stands as a whole token.
_TOKEN_CHARS = r"A-Za-z0-9._~+/\-"  # noqa: S105 - a character class, not a password

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def remember_secret(secret: str) -> None:
    """Hide ``secret`` from now on in every message :func:`redact` sees."""
    global _pattern
    if secret in _secrets:
        return
    with _lock:
        _secrets.add(secret)
        alternatives = "|".join(re.escape(item) for item in sorted(_secrets, key=len, reverse=True))
        _pattern = re.compile(f"(?<![{_TOKEN_CHARS}])(?:{alternatives})(?![{_TOKEN_CHARS}])")


def redact(text: str) -> str:
    """``text`` with every remembered key replaced by ``<redacted>``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(REDACTED, text)


def redact_bytes(raw: bytes) -> bytes:
    """A raw body with every remembered key hidden (before it is decoded, cut or shown)."""
    if _pattern is None or not raw:
        return raw
    text = raw.decode("utf-8", "surrogateescape")
    hidden = redact(text)
    return raw if hidden == text else hidden.encode("utf-8", "surrogateescape")
