"""Loopback shims of LM Studio's model-lifecycle routes, with the bodies LM Studio documents.

Bodies follow LM Studio 0.4's REST docs and the replies recorded from 0.4.25 (load, unload,
"already downloaded", the model list with ``loaded_instances``); the download job's fields
are those of the docs (``job_id``, ``status``, ``total_size_bytes``, ``downloaded_bytes``,
``bytes_per_second``...). ``lmstudio_03`` is a 0.3.x server: no ``/api/v1`` (unknown routes
answer HTTP 200 with an error body, as every LM Studio does), ``/api/v0/models`` with states.
"""

from __future__ import annotations

import json
from typing import Any

from tests.loopback import LoopbackServer, Reply, chat_reply

GEMMA = "google/gemma-3-1b"
QWEN = "qwen/qwen3-4b-2507"
NOMIC = "text-embedding-nomic-embed-text-v1.5"
JOB = "job_493c7c9ded"
TOTAL = 771_933_305


def _v1_entry(key: str, kind: str, instances: list[dict[str, Any]], max_ctx: int) -> dict[str, Any]:
    return {
        "type": kind,
        "publisher": key.split("/")[0] if "/" in key else "nomic-ai",
        "key": key,
        "display_name": key,
        "quantization": {"name": "4bit", "bits_per_weight": 4},
        "size_bytes": TOTAL,
        "loaded_instances": instances,
        "max_context_length": max_ctx,
        "format": "gguf",
        "capabilities": {"vision": False, "trained_for_tool_use": kind == "llm"},
        "variants": [f"{key}@4bit"],
        "selected_variant": f"{key}@4bit",
    }


def v1_models(*, gemma_loaded: bool) -> dict[str, Any]:
    """``GET /api/v1/models``: Qwen loaded as ``my-qwen``, the embedding model loaded, Gemma as asked."""
    gemma = [{"id": GEMMA, "config": {"context_length": 4096, "parallel": 4}}] if gemma_loaded else []
    return {
        "models": [
            _v1_entry(GEMMA, "llm", gemma, 32768),
            _v1_entry(QWEN, "llm", [{"id": "my-qwen", "config": {"context_length": 8192, "parallel": 4}}], 262144),
            _v1_entry(NOMIC, "embedding", [{"id": NOMIC, "config": {"context_length": 2048}}], 2048),
        ]
    }


LOAD_REPLY = {"type": "llm", "instance_id": GEMMA, "load_time_seconds": 7.916, "status": "loaded"}
UNLOAD_REPLY = {"instance_id": GEMMA}
ALREADY_DOWNLOADED = {"status": "already_downloaded"}
LOAD_FAILED = {
    "error": {
        "message": f'Failed to load model "{GEMMA}". Error: Error loading model.',
        "type": "invalid_request",
        "param": "model",
        "code": None,
    }
}


def download_job(status: str, done: int | None = None, *, rate: float | None = None) -> dict[str, Any]:
    """A download job as ``POST /api/v1/models/download`` and the status route answer it."""
    job: dict[str, Any] = {
        "job_id": JOB,
        "status": status,
        "total_size_bytes": TOTAL,
        "started_at": "2026-12-01T10:00:00.000Z",
    }
    if done is not None:
        job["downloaded_bytes"] = done
    if rate is not None:
        job["bytes_per_second"] = rate
        job["estimated_completion"] = "2026-12-01T10:00:09.000Z"
    if status == "completed":
        job["completed_at"] = "2026-12-01T10:00:08.000Z"
    return job


def lmstudio_04(server: LoopbackServer, *, gemma_loaded: bool = False) -> LoopbackServer:
    """Script LM Studio 0.4's lifecycle routes; the second and later listings show Gemma loaded."""
    server.route(
        "GET",
        "/api/v1/models",
        Reply(body=v1_models(gemma_loaded=gemma_loaded)),
        Reply(body=v1_models(gemma_loaded=True)),
    )
    server.route("POST", "/api/v1/models/load", Reply(body=LOAD_REPLY))
    server.route("POST", "/api/v1/models/unload", Reply(body=UNLOAD_REPLY))
    server.route("POST", "/api/v1/models/download", Reply(body=download_job("downloading", 0)))
    server.route(
        "GET",
        f"/api/v1/models/download/status/{JOB}",
        Reply(body=download_job("downloading", TOTAL // 3, rate=85_000_000.0)),
        Reply(body=download_job("downloading", 2 * TOTAL // 3)),
        Reply(body=download_job("completed", TOTAL)),
    )
    return server


def v0_models(*, gemma_state: str = "not-loaded") -> dict[str, Any]:
    """``GET /api/v0/models`` of LM Studio 0.3.x."""
    return {
        "object": "list",
        "data": [
            {"id": GEMMA, "object": "model", "type": "llm", "state": gemma_state, "max_context_length": 32768},
            {
                "id": QWEN,
                "object": "model",
                "type": "llm",
                "state": "loaded",
                "max_context_length": 262144,
                "loaded_context_length": 8192,
            },
            {"id": NOMIC, "object": "model", "type": "embeddings", "state": "not-loaded", "max_context_length": 2048},
        ],
    }


def lmstudio_03(server: LoopbackServer, *, gemma_state: str = "not-loaded") -> LoopbackServer:
    """A 0.3.x server: ``/api/v0`` and ``/v1`` only; ``/api/v1/*`` answer 200 with an error body."""
    server.route("GET", "/api/v0/models", Reply(body=v0_models(gemma_state=gemma_state)))
    server.route(
        "GET",
        "/v1/models",
        Reply(body={"object": "list", "data": [{"id": m, "object": "model"} for m in (GEMMA, QWEN, NOMIC)]}),
    )
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("H")))
    server.route(
        "POST",
        "/v1/embeddings",
        Reply(body={"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]}),
    )
    return server


def router_listing(states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """llama.cpp router ``GET /models``: ``{"data": [{"id", "status": {...}}]}``."""
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "owned_by": "llamacpp", "status": status} for name, status in states.items()
        ],
    }


def llama_router(server: LoopbackServer, *, fail: bool = False) -> LoopbackServer:
    """llama.cpp's router: a load answers at once, the listing goes loading, then loaded (or failed)."""
    before = router_listing({"chat": {"value": "loaded"}, "second": {"value": "unloaded"}})
    loading = router_listing({"chat": {"value": "loaded"}, "second": {"value": "loading"}})
    end = {"value": "unloaded", "failed": True, "exit_code": 1} if fail else {"value": "loaded"}
    after = router_listing({"chat": {"value": "loaded"}, "second": end})
    for path in ("/models", "/v1/models"):
        server.route("GET", path, Reply(body=before), Reply(body=loading), Reply(body=loading), Reply(body=after))
    server.route("POST", "/models/load", Reply(body={"success": True}))
    server.route("POST", "/models/unload", Reply(body={"success": True}))
    for path in ("/api/v1/models", "/api/v0/models"):
        server.route(
            "GET",
            path,
            Reply(status=404, body={"error": {"message": "File Not Found", "type": "not_found_error", "code": 404}}),
        )
    return server


def sent(server: LoopbackServer, method: str, path: str) -> list[Any]:
    """The JSON bodies the client sent to ``method path``, in order."""
    return [json.loads(body) if body else None for m, p, body, _ in server.requests if (m, p) == (method, path)]


def paths(server: LoopbackServer) -> list[str]:
    """``METHOD path`` of every request the server saw, in order."""
    return [f"{m} {p}" for m, p, _, _ in server.requests]
