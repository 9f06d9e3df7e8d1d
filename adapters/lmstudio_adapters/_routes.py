"""Which API generation a server speaks, and how to read its model list.

LM Studio answers unknown routes with HTTP 200 and ``{"error": "Unexpected endpoint..."}``
on every version seen (0.2.x to 0.4.17), so the flavour is decided by the body, never by
the status alone (docs/lmstudio-api.md, section 4).
"""

from __future__ import annotations

from typing import Any, Literal

from lmstudio_adapters._schemas import ModelInfo

__all__ = [
    "DEFAULT_MODEL",
    "MODELS_ROUTES",
    "MODEL_LIST_PATHS",
    "DetectedApi",
    "find_model",
    "parse_models",
    "sole_chat_model",
]

#: The model id used when none is given: LM Studio serves it with its one loaded model.
DEFAULT_MODEL = "local-model"

DetectedApi = Literal["v1", "v0", "openai"]

#: Probed in this order; the first whose body has the expected shape wins.
MODELS_ROUTES: tuple[tuple[DetectedApi, str], ...] = (
    ("v1", "/api/v1/models"),  # LM Studio 0.4.0+
    ("v0", "/api/v0/models"),  # LM Studio 0.3.6+
    ("openai", "/v1/models"),  # every version, and any OpenAI-compatible server
)
MODEL_LIST_PATHS = frozenset(path for _, path in MODELS_ROUTES)

_V1_TYPES: dict[str, Literal["llm", "vlm", "embeddings"]] = {
    "llm": "llm",
    "vlm": "vlm",
    "embedding": "embeddings",
    "embeddings": "embeddings",
}


def parse_models(api: DetectedApi, body: Any) -> list[ModelInfo] | None:
    """Read a models-list body of the given flavour; None if it does not have that shape."""
    if not isinstance(body, dict) or "error" in body:
        return None
    if api == "v1":
        models = body.get("models")
        return [_from_v1(item) for item in models if isinstance(item, dict)] if isinstance(models, list) else None
    data = body.get("data")
    if not isinstance(data, list):
        return None
    items = [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]
    if api == "v0":
        if items and "type" not in items[0]:
            return None
        return [_from_v0(item) for item in items]
    return [_from_openai(item) for item in items]


def find_model(models: list[ModelInfo], name: str) -> ModelInfo | None:
    """The listed model that ``name`` means, by any of the names LM Studio accepts for it.

    In order: the id (``/api/v1`` key, ``/api/v0`` or ``/v1`` id), a loaded instance id
    (``my-qwen``, ``key:2``), a variant (``key@4bit``), then the same without the publisher
    (``qwen3-4b`` for ``qwen/qwen3-4b``), a ``@quant`` or a ``:N`` instance suffix
    (docs/lmstudio-api.md, section 4).
    """
    for matches in (
        lambda info: info.id == name,
        lambda info: name in info.instances,
        lambda info: name in info.variants,
    ):
        for info in models:
            if matches(info):
                return info
    base = _base_name(name)
    for info in models:
        if _base_name(info.id) == base or any(_base_name(variant) == base for variant in info.variants):
            return info
    return None


def sole_chat_model(models: list[ModelInfo]) -> ModelInfo | None:
    """The model a request for :data:`DEFAULT_MODEL` means: the server's one chat model, if it has one.

    LM Studio's own rule: with one model loaded, any model id is served by it
    (docs/lmstudio-api.md, section 3). So among several listed chat models, the one that is
    loaded counts; with none or several, None.
    """
    chat = [info for info in models if not info.is_embedding_model]
    if len(chat) > 1:
        chat = [info for info in chat if info.is_loaded]
    return chat[0] if len(chat) == 1 else None


def _base_name(name: str) -> str:
    # "qwen/qwen3-4b@q4_k_m" and "qwen/qwen3-4b:2" -> "qwen3-4b"
    name = name.rpartition("/")[2].partition("@")[0]
    stem, colon, suffix = name.rpartition(":")
    return stem if colon and suffix.isdigit() else name


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _from_v0(item: dict[str, Any]) -> ModelInfo:
    kind = item.get("type")
    state = item.get("state")
    capabilities = item.get("capabilities")
    return ModelInfo(
        id=item["id"],
        type=kind if kind in ("llm", "vlm", "embeddings") else None,
        state=state if state in ("loaded", "not-loaded") else None,
        max_context_length=_int(item.get("max_context_length")),
        loaded_context_length=_int(item.get("loaded_context_length")),
        quantization=item.get("quantization") if isinstance(item.get("quantization"), str) else None,
        arch=item.get("arch") if isinstance(item.get("arch"), str) else None,
        publisher=item.get("publisher") if isinstance(item.get("publisher"), str) else None,
        format=item.get("compatibility_type") if isinstance(item.get("compatibility_type"), str) else None,
        capabilities=tuple(c for c in capabilities if isinstance(c, str)) if isinstance(capabilities, list) else (),
    )


def _from_v1(item: dict[str, Any]) -> ModelInfo:
    raw_caps = item.get("capabilities")
    caps: list[str] = []
    if isinstance(raw_caps, dict):
        if raw_caps.get("trained_for_tool_use"):
            caps.append("tool_use")
        if raw_caps.get("vision"):
            caps.append("vision")
        if raw_caps.get("reasoning"):
            caps.append("reasoning")
    kind = _V1_TYPES.get(str(item.get("type")))
    if kind == "llm" and "vision" in caps:
        kind = "vlm"
    instances = item.get("loaded_instances")
    loaded_ctx = None
    if isinstance(instances, list) and instances:
        config = instances[0].get("config") if isinstance(instances[0], dict) else None
        loaded_ctx = _int(config.get("context_length")) if isinstance(config, dict) else None
    quant = item.get("quantization")
    return ModelInfo(
        id=str(item.get("key") or item.get("id") or ""),
        type=kind,
        state="loaded" if isinstance(instances, list) and instances else "not-loaded",
        max_context_length=_int(item.get("max_context_length")),
        loaded_context_length=loaded_ctx,
        quantization=quant.get("name") if isinstance(quant, dict) else quant if isinstance(quant, str) else None,
        arch=item.get("architecture") if isinstance(item.get("architecture"), str) else None,
        publisher=item.get("publisher") if isinstance(item.get("publisher"), str) else None,
        format=item.get("format") if isinstance(item.get("format"), str) else None,
        capabilities=tuple(caps),
        instances=tuple(i["id"] for i in instances if isinstance(i, dict) and isinstance(i.get("id"), str))
        if isinstance(instances, list)
        else (),
        variants=_strings(item.get("variants")),
    )


def _from_openai(item: dict[str, Any]) -> ModelInfo:
    # llama.cpp's router adds {"status": {"value": "loaded" | "unloaded" | "loading"}}.
    status = item.get("status")
    value = status.get("value") if isinstance(status, dict) else None
    state: Literal["loaded", "not-loaded"] | None = None
    if value == "loaded":
        state = "loaded"
    elif isinstance(value, str):
        state = "not-loaded"
    raw_meta = item.get("meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    return ModelInfo(
        id=item["id"],
        state=state,
        max_context_length=_int(meta.get("n_ctx_train")),
        loaded_context_length=_int(meta.get("n_ctx")) if state == "loaded" else None,
    )
