"""End to end: the model lifecycle against the real llama.cpp router (the session's local server).

The router serves the chat and embedding models from the start and loads the base Gemma
(``COMPLETION_MODEL``) only when asked, like LM Studio's just-in-time loading; these tests
load it explicitly, use it, and unload it again. A recording ``httpx.Client`` passed as
``http_client`` shows which requests were sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lmstudio_adapters import AsyncLMStudioClient, LMStudioClient, LoadedModel
from lmstudio_adapters.testing import CHAT_MODEL, COMPLETION_MODEL, EMBEDDING_MODEL, LocalModelServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def sent() -> list[str]:
    return []


@pytest.fixture
def client(real_server: LocalModelServer, sent: list[str]) -> Iterator[LMStudioClient]:
    def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    with (
        httpx.Client(event_hooks={"request": [record]}) as http,
        LMStudioClient(real_server.base_url, model=CHAT_MODEL, http_client=http) as c,
    ):
        yield c


def test_load_use_unload_the_second_model(client: LMStudioClient, sent: list[str]) -> None:
    """Load Gemma, see it listed, chat with it (its GGUF's own template), unload it, see it gone."""
    assert CHAT_MODEL in {m.instance_id for m in client.list_loaded_models()}
    loaded = client.load_model(COMPLETION_MODEL)
    assert loaded == LoadedModel(
        instance_id=COMPLETION_MODEL, model=COMPLETION_MODEL, context_length=loaded.context_length
    )
    assert "POST /models/load" in sent
    listed = {m.instance_id: m for m in client.list_loaded_models()}
    assert listed[COMPLETION_MODEL].status == "loaded"
    reply = client.chat([{"role": "user", "content": "Say hi"}], model=COMPLETION_MODEL, max_tokens=4, temperature=0)
    assert isinstance(reply.message.content, str)
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0
    client.unload_model(COMPLETION_MODEL)
    assert COMPLETION_MODEL not in {m.instance_id for m in client.list_loaded_models()}


def test_ensure_loaded_on_a_loaded_model_sends_no_load(client: LMStudioClient, sent: list[str]) -> None:
    """The chat model is loaded at start-up: one listing, no load request."""
    loaded = client.ensure_loaded(CHAT_MODEL)
    assert loaded.instance_id == CHAT_MODEL
    assert loaded.status == "loaded"
    assert not [line for line in sent if line.startswith("POST")]


async def test_async_lifecycle(real_server: LocalModelServer) -> None:
    async with AsyncLMStudioClient(real_server.base_url, model=EMBEDDING_MODEL) as client:
        assert (await client.ensure_loaded()).instance_id == EMBEDDING_MODEL
        loaded = await client.load_model(COMPLETION_MODEL)
        assert loaded.instance_id == COMPLETION_MODEL
        await client.unload_model(COMPLETION_MODEL)
        assert COMPLETION_MODEL not in {m.instance_id for m in await client.list_loaded_models()}
