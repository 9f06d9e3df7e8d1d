"""Model listing across LM Studio API generations, served by a loopback shim.

llama-server does not serve LM Studio's native routes, so this module serves them from a
loopback server exactly as LM Studio's published examples show them (bodies as
docs/lmstudio-api.md section 4 describes them, copied here as data), including the HTTP
200 ``Unexpected endpoint`` answer that LM Studio gives for routes it lacks.
"""

from __future__ import annotations

import asyncio

import pytest

from lmstudio_adapters import AsyncLMStudioClient, AuthenticationError, LMStudioClient, ModelNotFoundError
from tests.loopback import LoopbackServer, Reply

V0_MODELS = {
    "data": [
        {
            "id": "qwen3-4b",
            "object": "model",
            "type": "llm",
            "publisher": "Qwen",
            "arch": "qwen3",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "loaded",
            "max_context_length": 40960,
            "loaded_context_length": 4096,
            "capabilities": ["tool_use"],
        },
        {
            "id": "text-embedding-nomic-embed-text-v1.5@q4_k_m",
            "object": "model",
            "type": "embeddings",
            "publisher": "nomic-ai",
            "arch": "nomic-bert",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "not-loaded",
            "max_context_length": 2048,
        },
    ],
    "object": "list",
}
V1_MODELS = {
    "models": [
        {
            "type": "llm",
            "publisher": "google",
            "key": "google/gemma-3-1b",
            "display_name": "Gemma 3 1B",
            "architecture": "gemma3",
            "quantization": {"name": "Q4_K_M", "bits_per_weight": 4},
            "size_bytes": 1,
            "params_string": "1B",
            "loaded_instances": [{"id": "google/gemma-3-1b", "config": {"context_length": 8192}}],
            "max_context_length": 32768,
            "format": "gguf",
            "capabilities": {"vision": True, "trained_for_tool_use": True},
        },
        {
            "type": "embedding",
            "publisher": "nomic-ai",
            "key": "text-embedding-nomic-embed-text-v1.5",
            "architecture": "nomic-bert",
            "quantization": {"name": "Q4_K_M", "bits_per_weight": 4},
            "loaded_instances": [],
            "max_context_length": 2048,
            "format": "gguf",
        },
    ]
}
OPENAI_MODELS = {"data": [{"id": "C:\\Users\\me\\TheBloke\\llama-2-7b-chat.Q2_K.gguf", "object": "model"}]}
UNKNOWN_ROUTE = {"error": "Unexpected endpoint or method. (GET /api/v1/models)"}


def test_v1_native_api(server: LoopbackServer) -> None:
    """LM Studio 0.4+: type, load state, loaded context, quantization and capabilities."""
    server.route("GET", "/api/v1/models", Reply(body=V1_MODELS))
    with LMStudioClient(server.url) as client:
        gemma, nomic = client.list_models()
        assert client.detected_api == "v1"
        client.list_models()
    assert (gemma.id, gemma.type, gemma.state, gemma.context_length) == ("google/gemma-3-1b", "vlm", "loaded", 8192)
    assert gemma.supports_tools
    assert gemma.supports_vision
    assert gemma.quantization == "Q4_K_M"
    assert (nomic.type, nomic.is_loaded, nomic.is_embedding_model) == ("embeddings", False, True)
    assert server.hits[("GET", "/api/v1/models")] == 2  # detection happened once, then the known route


def test_v0_native_api(server: LoopbackServer) -> None:
    """LM Studio 0.3.6+: /api/v1 answers 200 'Unexpected endpoint'; /api/v0 is used."""
    server.route("GET", "/api/v1/models", Reply(body=UNKNOWN_ROUTE))
    server.route("GET", "/api/v0/models", Reply(body=V0_MODELS))
    with LMStudioClient(server.url) as client:
        qwen, nomic = client.list_models()
        assert client.detected_api == "v0"
    assert (qwen.type, qwen.loaded_context_length, qwen.max_context_length, qwen.supports_tools) == (
        "llm",
        4096,
        40960,
        True,
    )
    assert nomic.state == "not-loaded"
    assert nomic.supports_tools is False


def test_lm_studio_02x_lists_ids_only(server: LoopbackServer) -> None:
    """LM Studio 0.2.x has only /v1/models (ids are file paths); details stay unknown."""
    server.route("GET", "/v1/models", Reply(body=OPENAI_MODELS))
    with LMStudioClient(server.url, model="x") as client:
        (model,) = client.list_models()
        assert client.detected_api == "openai"
        with pytest.raises(ModelNotFoundError, match="Models the server has: C:"):
            client.get_model("missing")
    assert model.type is None
    assert model.is_loaded is None
    assert model.supports_tools is None


def test_api_setting_skips_discovery(server: LoopbackServer) -> None:
    """With api='openai' (LM_STUDIO_API=openai) no discovery request is made."""
    with LMStudioClient(server.url, api="openai") as client:
        client.list_models()
    assert [request[1] for request in server.requests] == ["/v1/models"]


def test_auth_required_stops_discovery(server: LoopbackServer) -> None:
    """A 401 on the native route is an authentication error, not 'try the next route'."""
    server.route(
        "GET",
        "/api/v1/models",
        Reply(status=401, body={"error": {"code": "invalid_api_key", "message": "token required"}}),
    )
    with LMStudioClient(server.url) as client, pytest.raises(AuthenticationError):
        client.list_models()


def test_async_listing(server: LoopbackServer) -> None:
    """The async client discovers the same way."""
    server.route("GET", "/api/v1/models", Reply(body=V1_MODELS))

    async def main() -> str | None:
        async with AsyncLMStudioClient(server.url) as client:
            await client.list_models()
            return client.detected_api

    assert asyncio.run(main()) == "v1"
