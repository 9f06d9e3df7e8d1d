"""A ready vcrpy configuration for tests of code built on lmstudio-adapters.

Requests match on method, path and body (ids and timestamps are random per *response*, and
the host differs between machines), secrets are scrubbed from headers and from responses
that echo them (a proxy's error page quoting ``Authorization``), the host is written
as ``localhost:1234``, absolute file paths (LM Studio 0.2.x model ids, llama.cpp router
arguments) are replaced, and compressed bodies are stored decoded. ``record_mode`` is left
to the runner: the plugin's ``--lmstudio-record``, or pytest-recording's ``--record-mode``; the
default replays only.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lmstudio_adapters._secrets import REDACTED, redact

__all__ = ["BODY_MATCHER", "SCRUBBED_HEADERS", "body_matcher", "normalized_body", "scrub_paths", "vcr_config_dict"]

#: Name under which :func:`body_matcher` is registered with vcrpy.
BODY_MATCHER = "lmstudio_body"

#: Request headers never written to a cassette.
SCRUBBED_HEADERS = ("authorization", "x-api-key", "api-key", "openai-organization", "cookie", "proxy-authorization")
#: Response headers that change on every run or could identify a machine.
VOLATILE_RESPONSE_HEADERS = ("date", "set-cookie", "x-request-id", "etag", "server", "keep-alive")
REPLAY_HOST = "localhost:1234"

_POSIX_PATH = re.compile(r"(?<![\w.:/])/(?:home|root|Users|tmp|var|opt|usr|private|mnt|srv|work)/[^\s\"',;\]}\\]*")
_WINDOWS_PATH = re.compile(r"[A-Za-z]:(?:\\\\|\\)[^\s\"',;\]}]*")


def scrub_paths(text: str) -> str:
    """Replace absolute file paths with ``<path>/<file name>``."""

    def keep_name(match: re.Match[str]) -> str:
        name = re.split(r"[\\/]+", match.group(0).rstrip("\\/"))[-1]
        return f"<path>/{name}"

    return _WINDOWS_PATH.sub(keep_name, _POSIX_PATH.sub(keep_name, text))


_RANDOM_ID = re.compile(
    r"^(?:call_|toolu_|chatcmpl-)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE
)
_ID_KEYS = frozenset({"id", "tool_call_id"})


def normalized_body(body: bytes | str | None) -> Any:
    """A request body with random ids that a framework minted (uuid4 tool-call ids) numbered in order.

    LangChain helpers such as ``tool_example_to_messages`` mint a new uuid per run; the same
    conversation must still match its recording. Ids the server sent (kept in the cassette)
    and everything else are compared as they are.
    """
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text
    seen: dict[str, str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in _ID_KEYS and isinstance(item, str) and _RANDOM_ID.match(item):
                    item = seen.setdefault(item, f"<id{len(seen)}>")
                out[key] = walk(item)
            return out
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(data)


def body_matcher(first: Any, second: Any) -> None:
    """Vcrpy matcher: JSON bodies equal up to framework-minted random ids."""
    assert normalized_body(first.body) == normalized_body(second.body)


class _SecretScrubber:
    """Drops secret request headers and hides their values wherever a response echoes them.

    vcrpy's own ``filter_headers`` runs before any hook, so the values would be gone before
    they could be looked for in the response: this hook filters them itself, remembering each
    value (and the token after ``Bearer``) for the responses recorded after it.
    """

    def __init__(self) -> None:
        self.values: set[str] = set()

    def request(self, request: Any) -> Any:
        for name in list(request.headers):
            if name.lower() in SCRUBBED_HEADERS:
                value = str(request.headers.pop(name))
                self.values.add(value)
                scheme, _, token = value.partition(" ")
                if token and scheme.lower() in ("bearer", "basic", "token"):
                    self.values.add(token.strip())
        return _before_record_request(request)

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        response = _before_record_response(response)
        secrets = sorted((value for value in self.values if value), key=len, reverse=True)
        headers = response.get("headers", {})
        for name in list(headers):
            headers[name] = [_hide(str(value), secrets) for value in headers[name]]
        body = response.get("body", {})
        raw = body.get("string")
        if isinstance(raw, bytes):
            text = raw.decode("utf-8", "surrogateescape")
            hidden = redact(_hide(text, secrets))  # and any key this process configured
            if hidden != text:
                body["string"] = hidden.encode("utf-8", "surrogateescape")
                _fix_length(headers, body["string"])
        return response


def _hide(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _fix_length(headers: dict[str, Any], content: bytes) -> None:
    for name in list(headers):
        if name.lower() == "content-length":
            headers[name] = [str(len(content))]


def _before_record_request(request: Any) -> Any:
    parts = urlsplit(request.uri)
    request.uri = urlunsplit((parts.scheme, REPLAY_HOST, parts.path, parts.query, parts.fragment))
    for name in list(request.headers):
        if name.lower() == "host":
            request.headers[name] = REPLAY_HOST
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
            _fix_length(headers, body["string"])
    return response


def vcr_config_dict() -> dict[str, Any]:
    """The vcrpy keyword arguments: return it from a ``vcr_config`` fixture.

    The ``lmstudio_body`` matcher it names is registered by this package's pytest plugin
    (or call ``vcr.register_matcher(BODY_MATCHER, body_matcher)`` yourself).

    Example:
        >>> @pytest.fixture(scope="module")  # doctest: +SKIP
        ... def vcr_config():
        ...     return vcr_config_dict()
    """
    scrubber = _SecretScrubber()
    return {
        "match_on": ["method", "path", BODY_MATCHER],
        # The secret headers of SCRUBBED_HEADERS are dropped by the request hook, which also
        # hides their values where a server echoed them into a response.
        "before_record_request": scrubber.request,
        "before_record_response": scrubber.response,
        "decode_compressed_response": True,
        # The same call made twice (a benchmark, a retry in user code) replays the same answer.
        "allow_playback_repeats": True,
    }
