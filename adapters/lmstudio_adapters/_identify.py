"""Which kind of model server answered: the rules, without any I/O (docs/lmstudio-api.md, section 6).

Each server is recognised by a route it documents, never by its port:

* LM Studio: ``GET /lmstudio-greeting`` answers ``{"lmstudio": true}`` (the check the ``lms``
  CLI and the ``lmstudio`` SDKs make). Versions without the greeting still give themselves
  away: LM Studio answers unknown routes with HTTP 200 and ``{"error": "Unexpected endpoint
  or method. (...)"}``, and 0.3.6+ lists models at ``/api/v0/models`` with ``type`` and
  ``state`` fields.
* Ollama: ``GET /api/version`` answers ``{"version": "0.5.7"}`` (Ollama API docs).
* llama.cpp ``llama-server``: ``GET /props`` answers the server properties
  (``default_generation_settings``, ``total_slots``, ``build_info``...), ``GET /health``
  ``{"status": "ok"}`` (tools/server/README.md).
* vLLM: ``GET /version`` answers ``{"version": "0.6.3"}`` (vLLM OpenAI server routes).
* Anything else that lists models at ``GET /v1/models`` is ``openai-compatible``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "GREETING",
    "IDENTITY_ROUTES",
    "Answer",
    "Kind",
    "LocalServer",
    "identify",
    "model_ids",
    "not_lmstudio_note",
    "ollama_tags",
]

Kind = Literal["lmstudio", "llama.cpp", "ollama", "vllm", "openai-compatible"]

GREETING = "/lmstudio-greeting"
MODELS = "/v1/models"
#: Asked when the greeting did not say LM Studio; each answer is judged by :func:`identify`.
IDENTITY_ROUTES = ("/api/v0/models", "/api/version", "/props", "/health", "/version", MODELS)

_NAMES: dict[str, str] = {
    "lmstudio": "LM Studio",
    "llama.cpp": "a llama.cpp server",
    "ollama": "Ollama",
    "vllm": "vLLM",
    "openai-compatible": "an OpenAI-compatible server (not LM Studio)",
}
_UNKNOWN_ROUTE = "unexpected endpoint or method"
_LLAMA_CPP_PROPS = ("default_generation_settings", "total_slots", "build_info", "model_path", "chat_template")


@dataclass(frozen=True)
class Answer:
    """What one GET returned: the status and the JSON body (None when it was not JSON)."""

    status: int
    body: Any = None


@dataclass(frozen=True)
class LocalServer:
    """A model server found on this machine.

    Attributes:
        url: The server root, such as ``http://127.0.0.1:1234``.
        kind: ``lmstudio``, ``llama.cpp``, ``ollama``, ``vllm`` or ``openai-compatible``.
        models: The model ids it lists at ``/v1/models`` (empty when it lists none or refuses).
        version: The version it reports, when it reports one (LM Studio does not).
    """

    url: str
    kind: Kind
    models: tuple[str, ...] = ()
    version: str | None = None

    @property
    def name(self) -> str:
        """The server in words: ``Ollama 0.5.7``, ``LM Studio``..."""
        return _NAMES[self.kind] + (f" {self.version}" if self.version else "")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``models`` as a list)."""
        data = asdict(self)
        data["models"] = list(self.models)
        return data


def _ok_dict(answer: Answer | None) -> dict[str, Any] | None:
    if answer is None or answer.status != 200 or not isinstance(answer.body, dict):
        return None
    return answer.body


def is_lmstudio_greeting(answer: Answer | None) -> bool:
    """Whether ``GET /lmstudio-greeting`` answered as LM Studio does."""
    body = _ok_dict(answer)
    return body is not None and body.get("lmstudio") is True


def _is_unknown_route(answer: Answer | None) -> bool:
    body = _ok_dict(answer)
    error = body.get("error") if body is not None else None
    return isinstance(error, str) and _UNKNOWN_ROUTE in error.lower()


def _is_v0_listing(answer: Answer | None) -> bool:
    body = _ok_dict(answer)
    data = body.get("data") if body is not None else None
    return isinstance(data, list) and all(isinstance(m, dict) and "type" in m and "state" in m for m in data)


def _version(answer: Answer | None) -> str | None:
    body = _ok_dict(answer)
    version = body.get("version") if body is not None else None
    return version if isinstance(version, str) and version else None


def model_ids(answer: Answer | None) -> tuple[str, ...] | None:
    """The ids of an OpenAI-style model list, or None when the answer is not one."""
    body = _ok_dict(answer)
    data = body.get("data") if body is not None else None
    if not isinstance(data, list):
        return None
    return tuple(m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str))


def ollama_tags(answer: Answer | None) -> tuple[str, ...]:
    """The model names of Ollama's own list (``GET /api/tags``), for versions without ``/v1/models``."""
    body = _ok_dict(answer)
    models = body.get("models") if body is not None else None
    if not isinstance(models, list):
        return ()
    return tuple(m["name"] for m in models if isinstance(m, dict) and isinstance(m.get("name"), str))


def identify(answers: Mapping[str, Answer | None]) -> tuple[Kind, str | None] | None:
    """The kind and version of the server that gave ``answers`` ({route: answer}), or None.

    A route missing from ``answers`` (or None) was not asked or got no usable answer.
    """
    greeting = answers.get(GREETING)
    if is_lmstudio_greeting(greeting) or _is_v0_listing(answers.get("/api/v0/models")):
        return "lmstudio", None
    listed = model_ids(answers.get(MODELS)) is not None
    if _is_unknown_route(greeting) and listed:
        return "lmstudio", None  # older than the greeting: an unknown route answered 200 + error
    ollama = _version(answers.get("/api/version"))
    if ollama:
        return "ollama", ollama
    props = _ok_dict(answers.get("/props"))
    if props is not None and any(key in props for key in _LLAMA_CPP_PROPS):
        build = props.get("build_info")
        return "llama.cpp", build if isinstance(build, str) and build else None
    health = _ok_dict(answers.get("/health"))
    if health is not None and health.get("status") == "ok" and listed:
        return "llama.cpp", None
    vllm = _version(answers.get("/version"))
    if vllm:
        return "vllm", vllm
    if listed:
        return "openai-compatible", None
    return None


def not_lmstudio_note(server: LocalServer | None) -> str:
    """What to tell a user whose ``LM_STUDIO_URL`` points at ``server``; empty when it is LM Studio."""
    if server is None or server.kind == "lmstudio":
        return ""
    return (
        f"This is {server.name} at {server.url}, not LM Studio: use the openai-compatible provider "
        f"(base_url={server.url}/v1), or point LM_STUDIO_URL at LM Studio."
    )
