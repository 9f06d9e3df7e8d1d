"""The user's server, not the project's: the default model id, LM Studio's many names for one
model, and a web server that is not LM Studio (issue 18, "Their models, their server").

Loopback servers answer as the server of each case does: llama.cpp checks the model id
(LM Studio serves any id with its one loaded model), LM Studio 0.4 lists loaded instances
and variants under ``/api/v1/models`` (shapes from LM Studio 0.4.25 recordings), and
Python's ``http.server`` answers 404 and 501 with HTML pages.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from lmstudio_adapters import (
    AsyncLMStudioClient,
    BadRequestError,
    LMStudioClient,
    ModelNotFoundError,
)
from lmstudio_adapters.__main__ import main
from tests.loopback import LoopbackServer, Reply, chat_chunk, chat_reply, plain_web_server, sse_reply

CHAT = ("POST", "/v1/chat/completions")
#: llama.cpp's answer to a model id it does not serve.
LLAMA_CPP_UNKNOWN_MODEL = Reply(
    status=400, body={"error": {"code": 400, "message": "model not found", "type": "invalid_request_error"}}
)


def sent_models(server: LoopbackServer) -> list[str]:
    return [json.loads(body)["model"] for method, path, body, _ in server.requests if path == CHAT[1]]


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


# --- the default model id -------------------------------------------------------------------


def llama_cpp_like(server: LoopbackServer, *models: dict[str, Any]) -> None:
    server.route("GET", "/v1/models", Reply(body={"object": "list", "data": list(models)}))
    server.route(*CHAT, LLAMA_CPP_UNKNOWN_MODEL, Reply(body=chat_reply("Hi")))


def test_default_model_means_the_one_chat_model(server: LoopbackServer) -> None:
    """LM_STUDIO_MODEL unset on a server that checks ids and serves one chat model (and an embedding model)."""
    llama_cpp_like(server, {"id": "smol-chat"}, {"id": "text-embedding-smol"})
    with LMStudioClient(server.url) as client:
        assert client.model == "local-model"
        assert client.chat([{"role": "user", "content": "Hi"}]).message.content == "Hi"
        client.chat([{"role": "user", "content": "Again"}])
    # Rejected once, resent to the one chat model, which later calls use from the start.
    assert sent_models(server) == ["local-model", "smol-chat", "smol-chat"]
    assert server.hits[("GET", "/v1/models")] == 1


def test_default_model_picks_the_loaded_one(server: LoopbackServer) -> None:
    """Several chat models listed, one loaded (llama.cpp's router status): LM Studio's rule, the loaded one."""
    llama_cpp_like(
        server,
        {"id": "base-model", "status": {"value": "unloaded"}},
        {"id": "smol-chat", "status": {"value": "loaded"}},
    )
    server.route(*CHAT, LLAMA_CPP_UNKNOWN_MODEL, sse_reply([chat_chunk("Hi"), chat_chunk(finish="stop")]))
    with LMStudioClient(server.url) as client, client.stream_chat([{"role": "user", "content": "Hi"}]) as stream:
        assert "".join(chunk.choices[0].delta.content for chunk in stream if chunk.choices) == "Hi"
    assert sent_models(server) == ["local-model", "smol-chat"]


def test_default_model_with_several_chat_models_lists_them(server: LoopbackServer) -> None:
    """No way to tell which model is meant: the clear error listing the models, and nothing resent."""
    llama_cpp_like(server, {"id": "model-a"}, {"id": "model-b"}, {"id": "text-embedding-x"})
    with LMStudioClient(server.url) as client, pytest.raises(ModelNotFoundError) as info:
        client.chat([{"role": "user", "content": "Hi"}])
    assert info.value.available == ("model-a", "model-b", "text-embedding-x")
    assert "No model was named" in str(info.value)
    assert "Models the server has: model-a, model-b" in str(info.value)
    assert sent_models(server) == ["local-model"]


def test_default_model_costs_nothing_on_lm_studio(server: LoopbackServer) -> None:
    """LM Studio serves 'local-model' with its loaded model: one request, no listing."""
    server.route(*CHAT, Reply(body=chat_reply("Hi")))
    with LMStudioClient(server.url) as client:
        client.chat([{"role": "user", "content": "Hi"}])
    assert [path for _, path, _, _ in server.requests] == ["/v1/chat/completions"]


def test_default_model_through_both_adapters_and_async(server: LoopbackServer) -> None:
    """The adapters with no model given run on that server too; so does the async client."""
    from llama_index.core.llms import ChatMessage

    from lmstudio_adapters.langchain import LMStudioChatModel
    from lmstudio_adapters.llama_index import LMStudioLLM

    llama_cpp_like(server, {"id": "smol-chat"})
    server.route(*CHAT, LLAMA_CPP_UNKNOWN_MODEL, Reply(body=chat_reply("Hi")))
    assert LMStudioChatModel(base_url=server.url, max_retries=0).invoke("Hi").content == "Hi"
    llm = LMStudioLLM(base_url=server.url, context_window=4096, is_function_calling_model=False)
    assert llm.chat([ChatMessage(role="user", content="Hi")]).message.content == "Hi"

    async def main() -> str:
        async with AsyncLMStudioClient(server.url) as client:
            await client.chat([{"role": "user", "content": "Hi"}])
            return client.model

    assert asyncio.run(main()) == "local-model"
    assert sent_models(server)[:2] == ["local-model", "smol-chat"]


def test_default_model_details_are_the_loaded_models(server: LoopbackServer) -> None:
    """LMStudioLLM.metadata with no model named: the details of the model that would answer."""
    from lmstudio_adapters.llama_index import LMStudioLLM

    server.route("GET", "/api/v1/models", Reply(body={"models": V1_MODELS["models"][:1]}))
    assert LMStudioLLM(base_url=server.url).metadata.context_window == 8192


def test_doctor_says_what_the_default_means(server: LoopbackServer) -> None:
    llama_cpp_like(server, {"id": "smol-chat"}, {"id": "text-embedding-smol"})
    status, text = run_cli("--url", server.url, "doctor")
    assert status == 0
    assert "'local-model' stands for the server's one chat model, 'smol-chat'" in text


# --- one model, many names --------------------------------------------------------------------

V1_MODELS = {
    "models": [
        {
            "type": "llm",
            "publisher": "qwen",
            "key": "qwen/qwen3-4b-2507",
            "display_name": "Qwen3 4B 2507",
            "architecture": "qwen3",
            "quantization": {"name": "4bit", "bits_per_weight": 4},
            "loaded_instances": [{"id": "my-qwen", "config": {"context_length": 8192, "parallel": 4}}],
            "max_context_length": 262144,
            "format": "mlx",
            "capabilities": {"vision": False, "trained_for_tool_use": True},
            "variants": ["qwen/qwen3-4b-2507@4bit"],
            "selected_variant": "qwen/qwen3-4b-2507@4bit",
        },
        {
            "type": "llm",
            "publisher": "google",
            "key": "google/gemma-3-1b",
            "quantization": {"name": "Q4_K_M", "bits_per_weight": 4},
            "loaded_instances": [
                {"id": "google/gemma-3-1b", "config": {"context_length": 4096}},
                {"id": "google/gemma-3-1b:2", "config": {"context_length": 4096}},
            ],
            "max_context_length": 32768,
            "format": "gguf",
            "capabilities": {"vision": False, "trained_for_tool_use": False},
            "variants": ["google/gemma-3-1b@q4_k_m", "google/gemma-3-1b@q8_0"],
        },
    ]
}


@pytest.mark.parametrize(
    ("name", "key", "context"),
    [
        ("qwen/qwen3-4b-2507", "qwen/qwen3-4b-2507", 8192),  # the /api/v1 key
        ("my-qwen", "qwen/qwen3-4b-2507", 8192),  # a custom instance id (lms load --identifier)
        ("qwen/qwen3-4b-2507@4bit", "qwen/qwen3-4b-2507", 8192),  # a variant
        ("qwen3-4b-2507", "qwen/qwen3-4b-2507", 8192),  # the /api/v0 id (no publisher)
        ("google/gemma-3-1b:2", "google/gemma-3-1b", 4096),  # a second instance
        ("google/gemma-3-1b@q8_0", "google/gemma-3-1b", 4096),
    ],
)
def test_every_name_finds_the_model(server: LoopbackServer, name: str, key: str, context: int) -> None:
    """Details (context, capabilities, load state) for any name LM Studio accepts."""
    server.route("GET", "/api/v1/models", Reply(body=V1_MODELS))
    with LMStudioClient(server.url) as client:
        info = client.get_model(name)
    assert (info.id, info.context_length, info.state) == (key, context, "loaded")


def test_adapters_read_details_by_instance_id(server: LoopbackServer) -> None:
    """LMStudioLLM.metadata and LMStudioChatModel.fetch_profile with a loaded instance id."""
    from lmstudio_adapters.langchain import LMStudioChatModel
    from lmstudio_adapters.llama_index import LMStudioLLM

    server.route("GET", "/api/v1/models", Reply(body=V1_MODELS))
    meta = LMStudioLLM(model="my-qwen", base_url=server.url).metadata
    assert (meta.context_window, meta.is_function_calling_model) == (8192, True)
    profile = LMStudioChatModel(model="my-qwen", base_url=server.url).fetch_profile()
    assert (profile.get("max_input_tokens"), profile.get("tool_calling")) == (8192, True)


V0_ONLY_MODEL = {
    "data": [
        {
            "id": "older-model",
            "object": "model",
            "type": "llm",
            "state": "loaded",
            "max_context_length": 32768,
            "loaded_context_length": 2048,
            "capabilities": ["tool_use"],
        }
    ]
}


def test_the_next_api_is_asked_before_the_defaults(server: LoopbackServer) -> None:
    """/api/v1 answers but lacks the id: /api/v0 is asked, and its details are used."""
    server.route("GET", "/api/v1/models", Reply(body=V1_MODELS))
    server.route("GET", "/api/v0/models", Reply(body=V0_ONLY_MODEL))
    from lmstudio_adapters.llama_index import LMStudioLLM

    assert LMStudioLLM(model="older-model", base_url=server.url).metadata.context_window == 2048
    paths = [path for _, path, _, _ in server.requests]
    assert paths.index("/api/v1/models") < paths.index("/api/v0/models")
    assert paths.count("/api/v0/models") == 1  # the metadata lookup asks it once, after /api/v1
    status, text = run_cli("--url", server.url, "--model", "older-model", "doctor")
    assert status == 0
    assert "model 'older-model' is available: state loaded; context 2048" in text


def test_doctor_says_when_no_name_matched(server: LoopbackServer) -> None:
    server.route("GET", "/api/v1/models", Reply(body=V1_MODELS))
    server.route("GET", "/api/v0/models", Reply(body=V0_ONLY_MODEL))
    status, text = run_cli("--url", server.url, "--model", "qwen/qwen3-8b", "doctor")
    assert status == 1
    assert "model 'qwen/qwen3-8b' is not listed: no model id, loaded instance or variant matched" in text
    with LMStudioClient(server.url) as client, pytest.raises(ModelNotFoundError) as info:
        client.get_model("qwen/qwen3-8b")
    assert set(info.value.available) >= {"qwen/qwen3-4b-2507", "older-model"}  # every list asked


# --- a web server that is not LM Studio -------------------------------------------------------


def test_models_and_doctor_on_a_plain_web_server(capsys: pytest.CaptureFixture[str]) -> None:
    """python -m http.server at LM_STUDIO_URL: "answers but is not LM Studio", with the statuses seen."""
    with plain_web_server() as url:
        status, _ = run_cli("--url", url, "models")
        error = capsys.readouterr().err
        doctor_status, text = run_cli("--url", url, "doctor")
        with LMStudioClient(url, model="m") as client, pytest.raises(BadRequestError) as info:
            client.chat([{"role": "user", "content": "Hi"}])
    assert status == 2
    assert f"The server at {url} answers but is not LM Studio" in error
    assert "GET /api/v1/models: HTTP 404; GET /api/v0/models: HTTP 404; GET /v1/models: HTTP 404" in error
    assert "HTTP 200: null" not in error
    assert doctor_status == 1
    assert "answers but is not LM Studio" in text
    assert "not reachable" not in text
    assert "answers but is not LM Studio (POST /v1/chat/completions: HTTP 501" in str(info.value)


def test_lm_studio_failing_is_not_called_another_server(server: LoopbackServer) -> None:
    """A 5xx on the last model route is LM Studio failing, raised as such (not "not LM Studio")."""
    from lmstudio_adapters import ServerError

    server.route("GET", "/v1/models", Reply(status=500, body={"error": "boom"}))
    with LMStudioClient(server.url, max_retries=0) as client, pytest.raises(ServerError):
        client.list_models()


def test_a_web_app_answering_200_everywhere(server: LoopbackServer) -> None:
    """A single-page web app answers every path with 200 and its HTML: still not LM Studio."""
    page = Reply(body="<!doctype html><html><body>app</body></html>", content_type="text/html")
    for path in ("/api/v1/models", "/api/v0/models", "/v1/models"):
        server.route("GET", path, page)
    with LMStudioClient(server.url) as client, pytest.raises(BadRequestError) as info:
        client.list_models()
    assert "answers but is not LM Studio (GET /api/v1/models: HTTP 200, not a model list;" in str(info.value)


def test_lm_studio_at_a_wrong_path_says_so(server: LoopbackServer) -> None:
    """LM Studio's own 'Unexpected endpoint' on every route: the URL's path is wrong, not the server."""
    server.routes.clear()  # LM Studio answers each unknown route with HTTP 200 and an error
    with LMStudioClient(server.url + "/lmstudio") as client, pytest.raises(BadRequestError) as info:
        client.list_models()
    assert "does not serve GET /lmstudio/v1/models" in str(info.value)
    assert "not LM Studio" not in str(info.value)
