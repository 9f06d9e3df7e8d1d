"""Which API generation a server speaks, and how to read its model list.

LM Studio answers unknown routes with HTTP 200 and ``{"error": "Unexpected endpoint..."}``
on every version seen (0.2.x to 0.4.17), so the flavour is decided by the body, never by
the status alone (docs/lmstudio-api.md, section 4).
"""

from __future__ import annotations

from typing import Any, Literal

from lmstudio_adapters._schemas import ModelInfo

__all__ = ["MODELS_ROUTES", "MODEL_LIST_PATHS", "DetectedApi", "parse_models"]

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
