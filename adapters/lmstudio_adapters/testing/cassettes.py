"""A ready vcrpy configuration for tests of code built on lmstudio-adapters.

Requests match on method, path and body (ids and timestamps are random per *response*, and
the host differs between machines), secrets are scrubbed from headers, the host is written
as ``localhost:1234``, absolute file paths (LM Studio 0.2.x model ids, llama.cpp router
arguments) are replaced, and compressed bodies are stored decoded. ``record_mode`` is left
to the runner, so pytest-recording's ``--record-mode`` decides and the default replays only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["SCRUBBED_HEADERS", "scrub_paths", "vcr_config_dict"]

#: Request headers never written to a cassette.
SCRUBBED_HEADERS = ("authorization", "x-api-key", "api-key", "openai-organization", "cookie", "proxy-authorization")
#: Response headers that change on every run or could identify a machine.
VOLATILE_RESPONSE_HEADERS = ("date", "set-cookie", "x-request-id", "etag", "server", "keep-alive")
REPLAY_HOST = "localhost:1234"

_POSIX_PATH = re.compile(r"(?<![\w.:/])/(?:home|root|Users|tmp|var|opt|usr|private|mnt|srv|work)/[^\s\"',;\]}]*")
_WINDOWS_PATH = re.compile(r"[A-Za-z]:(?:\\\\|\\)[^\s\"',;\]}]*")


def scrub_paths(text: str) -> str:
    """Replace absolute file paths with ``<path>/<file name>``."""

    def keep_name(match: re.Match[str]) -> str:
        name = re.split(r"[\\/]+", match.group(0).rstrip("\\/"))[-1]
        return f"<path>/{name}"

    return _WINDOWS_PATH.sub(keep_name, _POSIX_PATH.sub(keep_name, text))


def _before_record_request(request: Any) -> Any:
    parts = urlsplit(request.uri)
    request.uri = urlunsplit((parts.scheme, REPLAY_HOST, parts.path, parts.query, parts.fragment))
    return request


def _before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in VOLATILE_RESPONSE_HEADERS:
            del headers[name]
    body = response.get("body", {})
    raw = body.get("string")
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "surrogateescape")
        scrubbed = scrub_paths(text)
        if scrubbed != text:
            body["string"] = scrubbed.encode("utf-8", "surrogateescape")
            for name in list(headers):
                if name.lower() == "content-length":
                    headers[name] = [str(len(body["string"]))]
    return response


def vcr_config_dict() -> dict[str, Any]:
    """The vcrpy keyword arguments: return it from a ``vcr_config`` fixture.

    Example:
        >>> @pytest.fixture(scope="module")  # doctest: +SKIP
        ... def vcr_config():
        ...     return vcr_config_dict()
    """
    return {
        "match_on": ["method", "path", "body"],
        "filter_headers": list(SCRUBBED_HEADERS),
        "before_record_request": _before_record_request,
        "before_record_response": _before_record_response,
        "decode_compressed_response": True,
    }
