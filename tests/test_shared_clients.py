"""Adapters share one client (one connection pool) per configuration, and follow changes to their fields.

No traffic: constructing a client does no I/O.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import PrivateAttr, SecretStr

from lmstudio_adapters import ConfigError
from lmstudio_adapters._adapter_base import AdapterModel
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM

URL = "http://127.0.0.1:9"
ADAPTERS: list[type[Any]] = [LMStudioChatModel, LMStudioEmbeddings, LMStudioLLM, LMStudioEmbedding]


def test_adapters_with_the_same_settings_share_one_client() -> None:
    """LangChain and LlamaIndex models pointed at the same server send through the same pool."""
    chat = LMStudioChatModel(model="m", base_url=URL, timeout=7)
    llm = LMStudioLLM(model="m", base_url=URL + "/v1", request_timeout=7)
    embeddings = LMStudioEmbeddings(model="e", base_url=URL, timeout=7)
    embedding = LMStudioEmbedding(model_name="e", base_url=URL + "/", timeout=7)
    assert chat.client is llm.client is embeddings.client is embedding.client
    assert chat.async_client is llm.async_client is embeddings.async_client is embedding.async_client


CHANGES: dict[str, Any] = {
    "base_url": "http://127.0.0.1:10",
    "timeout": 3.5,
    "max_retries": 0,
    "api_key": SecretStr("sk-new"),
    "max_connections": 3,
    "parse_think_tags": False,
    "stream_usage": False,
}


@pytest.mark.parametrize("field", list(CHANGES))
def test_a_changed_field_gives_the_matching_client(field: str) -> None:
    """The client key is remembered per model, but never past a change to the fields it depends on."""
    chat = LMStudioChatModel(model="m", base_url=URL)
    first = chat.client
    assert chat.client is first
    new = CHANGES[field]
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


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda cls: cls.__name__)
def test_every_adapter_takes_both_spellings(adapter: type[Any]) -> None:
    """``model``/``model_name`` and ``timeout``/``request_timeout``: either spelling, the same model and client."""
    by_one = adapter(model="m", base_url=URL, timeout=6)
    by_other = adapter(model_name="m", base_url=URL, request_timeout=6)
    assert by_one.model_dump(mode="json") == by_other.model_dump(mode="json")
    assert by_one.client is by_other.client
    assert by_one.client.timeout == 6.0
    for spelling in ("timeout", "request_timeout"):  # a bad value is named as the user spelled it
        with pytest.raises(ConfigError, match=f"^{spelling}=0 is invalid"):
            adapter(model="m", base_url=URL, **{spelling: 0})


def test_the_frameworks_own_post_init_still_runs() -> None:
    """LangChain records its version in ``metadata`` after ``__init__``; the shared base does not hide that."""
    chat = LMStudioChatModel(model="m", base_url=URL)
    assert "langchain-core" in (chat.metadata or {})["lc_versions"]


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda cls: cls.__name__)
def test_the_post_init_hook_is_wrapped_once(adapter: type[Any]) -> None:
    """Pydantic wraps the inherited post-init hook again in every subclass with private attributes
    (each wrapper sets them up); the base keeps one wrapper, so a construction does it once."""

    class Tagged(adapter):  # type: ignore[misc, valid-type]
        _log: list[str] = PrivateAttr(default_factory=list)

    for cls in (adapter, Tagged):
        assert cls.model_post_init is AdapterModel.model_post_init
    model = Tagged(model="m", base_url=URL)
    assert model._log == []
    assert model.client is adapter(model="m", base_url=URL).client


def test_a_subclass_gets_the_plumbing_for_its_own_fields() -> None:
    """A user's subclass: its new field is an argument it takes, and its client follows the settings."""

    class TaggedChatModel(LMStudioChatModel):
        tag: str = ""

    tagged = TaggedChatModel(model="m", base_url=URL, tag="a", request_timeout=7)  # no unknown-argument warning
    assert (tagged.tag, tagged.model_kwargs) == ("a", {})
    assert tagged.client is LMStudioChatModel(model="m", base_url=URL, timeout=7).client


def test_a_model_without_a_client_field_is_refused_when_defined() -> None:
    """The base reads the client fields from the class: a missing one fails at the class, not at the first call."""
    with pytest.raises(TypeError, match="declares no api_key, max_connections, max_retries"):

        class Incomplete(AdapterModel):
            model: str = ""
            base_url: str = ""
            timeout: float | None = None
