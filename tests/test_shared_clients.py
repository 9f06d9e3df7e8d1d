"""Adapters share one client (one connection pool) per configuration, and follow changes to their fields.

No traffic: constructing a client does no I/O.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM

URL = "http://127.0.0.1:9"


def test_adapters_with_the_same_settings_share_one_client() -> None:
    """LangChain and LlamaIndex models pointed at the same server send through the same pool."""
    chat = LMStudioChatModel(model="m", base_url=URL, timeout=7)
    llm = LMStudioLLM(model="m", base_url=URL + "/v1", request_timeout=7)
    embeddings = LMStudioEmbeddings(model="e", base_url=URL, timeout=7)
    embedding = LMStudioEmbedding(model_name="e", base_url=URL + "/", timeout=7)
    assert chat.client is llm.client is embeddings.client is embedding.client
    assert chat.async_client is llm.async_client is embeddings.async_client is embedding.async_client


@pytest.mark.parametrize("field", ["base_url", "timeout", "max_retries", "api_key"])
def test_a_changed_field_gives_the_matching_client(field: str) -> None:
    """The client key is remembered per model, but never past a change to the fields it depends on."""
    chat = LMStudioChatModel(model="m", base_url=URL)
    first = chat.client
    assert chat.client is first
    new = {"base_url": "http://127.0.0.1:10", "timeout": 3.5, "max_retries": 0, "api_key": SecretStr("sk-new")}[field]
    setattr(chat, field, new)
    second = chat.client
    assert second is not first
    assert LMStudioChatModel(model="m", **{"base_url": URL, field: new}).client is second
    if field != "api_key":
        assert getattr(second, field) == new


def test_environment_defaults_are_read_once_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model keeps the LM_STUDIO_TIMEOUT it first used; a new model reads the new value."""
    monkeypatch.setenv("LM_STUDIO_TIMEOUT", "4000")
    chat = LMStudioChatModel(model="m", base_url=URL)
    assert chat.client.timeout == 4.0
    monkeypatch.setenv("LM_STUDIO_TIMEOUT", "9000")
    assert chat.client.timeout == 4.0
    assert LMStudioChatModel(model="m", base_url=URL).client.timeout == 9.0


@pytest.mark.parametrize("explicit", [False, True], ids=["from the environment", "model and base_url given"])
def test_every_adapter_takes_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch, explicit: bool) -> None:
    """LM_STUDIO_API_KEY fills api_key whatever else the constructor was given; an explicit key wins."""
    monkeypatch.setenv("LM_STUDIO_API_KEY", "sk-env")
    monkeypatch.setenv("LM_STUDIO_MODEL", "env-model")
    monkeypatch.setenv("LM_STUDIO_URL", URL)
    given = {"base_url": URL} if explicit else {}
    models = [
        LMStudioChatModel(**({"model": "m"} if explicit else {}), **given),
        LMStudioEmbeddings(**({"model": "e"} if explicit else {}), **given),
        LMStudioLLM(**({"model": "m"} if explicit else {}), **given),
        LMStudioEmbedding(**({"model_name": "e"} if explicit else {}), **given),
    ]
    for model in models:
        assert model.api_key is not None
        assert model.api_key.get_secret_value() == "sk-env"
        assert model.client.api_key == model.api_key
    own = LMStudioLLM(model="m", base_url=URL, api_key="sk-arg")
    assert own.api_key is not None
    assert own.api_key.get_secret_value() == "sk-arg"


def test_use_does_not_change_equality() -> None:
    """Two models built alike stay equal after one of them has made its client."""
    used, fresh = LMStudioChatModel(model="m", base_url=URL), LMStudioChatModel(model="m", base_url=URL)
    assert used.client is not None
    assert used == fresh
