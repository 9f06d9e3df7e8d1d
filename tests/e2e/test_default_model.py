"""End to end: ``LM_STUDIO_MODEL`` unset against the real llama.cpp server (issue 18).

llama.cpp checks the model id, so the default ``local-model`` is rejected there, where LM
Studio would serve it with its one loaded model. The client must then use the server's one
chat model, or raise the error that lists the models when it has several loaded.
"""

from __future__ import annotations

import httpx
import pytest

from lmstudio_adapters import LMStudioClient, ModelNotFoundError
from lmstudio_adapters._routes import DEFAULT_MODEL, sole_chat_model
from lmstudio_adapters.testing import CHAT_MODEL, LocalModelServer

pytestmark = pytest.mark.e2e

HI = [{"role": "user", "content": "Say hi."}]


def test_the_real_server_rejects_the_default_id(real_server: LocalModelServer) -> None:
    """The situation the user is in: the id is refused as sent."""
    answer = httpx.post(
        real_server.base_url + "/v1/chat/completions",
        json={"model": DEFAULT_MODEL, "messages": HI, "max_tokens": 4},
        timeout=60,
    )
    assert answer.status_code >= 400


def test_default_model_on_the_real_server(real_server: LocalModelServer) -> None:
    """No model named: the chat runs on the one loaded chat model, or the error lists the models."""
    with LMStudioClient(real_server.base_url) as client:
        assert client.model == DEFAULT_MODEL
        listed = client.list_models(api="openai")
        expected = sole_chat_model(listed)
        if expected is None:  # another test loaded a second chat model (the router keeps it loaded)
            with pytest.raises(ModelNotFoundError) as info:
                client.chat(HI, max_tokens=4)
            assert CHAT_MODEL in info.value.available
            return
        reply = client.chat(HI, max_tokens=4, temperature=0)
        assert reply.choices[0].finish_reason in ("stop", "length")
        assert client._model_for(None) == expected.id  # learned once for this client
        with client.stream_chat(HI, max_tokens=4, temperature=0) as stream:
            assert list(stream)
