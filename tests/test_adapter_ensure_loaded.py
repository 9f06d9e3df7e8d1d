"""The adapters' ensure_loaded() / aensure_loaded(): their own model id, through their shared client."""

from __future__ import annotations

import pytest

from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM
from tests.lmstudio_shim import GEMMA, NOMIC, QWEN, lmstudio_03, lmstudio_04, sent
from tests.loopback import LoopbackServer

ADAPTERS = [
    lambda url: LMStudioChatModel(model=GEMMA, base_url=url, max_retries=0),
    lambda url: LMStudioLLM(model=GEMMA, base_url=url, max_retries=0),
]


@pytest.mark.parametrize("make", ADAPTERS, ids=["langchain", "llama_index"])
def test_ensure_loaded_loads_the_models_own_id(server: LoopbackServer, make: object) -> None:
    lmstudio_04(server)
    model = make(server.url)  # type: ignore[operator]
    loaded = model.ensure_loaded(context_length=4096)
    assert loaded.instance_id == GEMMA
    assert loaded.load_time_seconds == 7.916
    assert sent(server, "POST", "/api/v1/models/load") == [{"model": GEMMA, "context_length": 4096}]


@pytest.mark.parametrize("make", ADAPTERS, ids=["langchain", "llama_index"])
async def test_aensure_loaded_warms_on_03(server: LoopbackServer, make: object) -> None:
    lmstudio_03(server)
    model = make(server.url)  # type: ignore[operator]
    loaded = await model.aensure_loaded()
    assert loaded.model == GEMMA
    assert sent(server, "POST", "/v1/chat/completions")[0]["max_tokens"] == 1


def test_embedding_adapters_have_it_too(server: LoopbackServer) -> None:
    """Already loaded models cost one listing, no load."""
    lmstudio_04(server)
    assert LMStudioEmbeddings(model=NOMIC, base_url=server.url).ensure_loaded().type == "embeddings"
    assert LMStudioEmbedding(model_name=NOMIC, base_url=server.url).ensure_loaded().instance_id == NOMIC
    assert LMStudioChatModel(model=QWEN, base_url=server.url).ensure_loaded().instance_id == "my-qwen"
    assert sent(server, "POST", "/api/v1/models/load") == []
