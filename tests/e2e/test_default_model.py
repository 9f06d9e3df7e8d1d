"""End to end: ``LM_STUDIO_MODEL`` unset against the real llama.cpp server (issue 18).

llama.cpp checks the model id, so the default ``local-model`` is rejected there, where LM
Studio would serve it with its one loaded model. The client must then use the server's one
loaded chat model, or raise the error that lists the models when several are loaded. The
router's own ``/models/unload`` sets up each case (a request loads a model again).
"""

from __future__ import annotations

import time

import httpx
import pytest

from lmstudio_adapters import LMStudioClient, ModelNotFoundError
from lmstudio_adapters._routes import DEFAULT_MODEL
from lmstudio_adapters.testing import CHAT_MODEL, COMPLETION_MODEL, EMBEDDING_MODEL, LocalModelServer

pytestmark = pytest.mark.e2e

HI = [{"role": "user", "content": "Say hi."}]


def unload(server: LocalModelServer, model: str) -> None:
    """Unload ``model`` from the router and wait (at most 10 s) until it lists it as not loaded."""
    httpx.post(f"{server.base_url}/models/unload", json={"model": model}, timeout=30)
    deadline = time.monotonic() + 10
    with LMStudioClient(server.base_url) as client:
        while time.monotonic() < deadline:
            if {m.id: m.state for m in client.list_models(api="openai")}.get(model) != "loaded":
                return
            time.sleep(0.1)
    pytest.fail(f"{model} stayed loaded after /models/unload")


def test_the_real_server_rejects_the_default_id(real_server: LocalModelServer) -> None:
    """The situation the user is in: the id is refused as sent."""
    answer = httpx.post(
        real_server.base_url + "/v1/chat/completions",
        json={"model": DEFAULT_MODEL, "messages": HI, "max_tokens": 4},
        timeout=60,
    )
    assert answer.status_code == 400
    assert "not found" in answer.text


def test_default_model_is_the_loaded_chat_model(real_server: LocalModelServer) -> None:
    """One chat model loaded: no model named, and chat, streaming and details all use it."""
    unload(real_server, COMPLETION_MODEL)
    with LMStudioClient(real_server.base_url) as client:
        assert client.model == DEFAULT_MODEL
        assert client.chat(HI, max_tokens=4, temperature=0).model == CHAT_MODEL
        with client.stream_chat(HI, max_tokens=4, temperature=0) as stream:
            assert {chunk.model for chunk in stream} == {CHAT_MODEL}  # sent with the learned id at once
        assert client.get_model().id == CHAT_MODEL


def test_default_model_with_two_loaded_lists_them(real_server: LocalModelServer) -> None:
    """A second model loaded: which one is meant cannot be known, so the error lists the models."""
    with LMStudioClient(real_server.base_url) as client:
        client.complete("Once upon a time", model=COMPLETION_MODEL, max_tokens=2)  # loads it
    try:
        with LMStudioClient(real_server.base_url) as client, pytest.raises(ModelNotFoundError) as info:
            client.chat(HI, max_tokens=4)
        assert {CHAT_MODEL, COMPLETION_MODEL, EMBEDDING_MODEL} <= set(info.value.available)
        assert "No model was named" in str(info.value)
    finally:
        unload(real_server, COMPLETION_MODEL)  # as the session started: loaded on first use
