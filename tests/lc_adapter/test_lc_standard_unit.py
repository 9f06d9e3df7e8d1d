"""LangChain's standard unit suites for LMStudioChatModel and LMStudioEmbeddings (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.load import dumpd, load
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings

ENV = {"LM_STUDIO_URL": "http://127.0.0.1:4321/v1", "LM_STUDIO_MODEL": "env-model", "LM_STUDIO_API_KEY": "env-key"}


class TestLMStudioChatModelUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[LMStudioChatModel]:
        return LMStudioChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "qwen/qwen3-4b", "base_url": "http://127.0.0.1:1234"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {}, {"base_url": "http://127.0.0.1:4321", "model": "env-model", "api_key": "env-key"}

    @pytest.mark.xfail(
        reason="langchain-core's load() admits only class paths in its own mapping, so any serialisable model "
        "outside LangChain's repositories fails the reload as written; test_dumpd_load_round_trip below checks "
        "the same round trip with our class admitted",
        strict=True,
    )
    def test_serdes(self, model: Any, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


def test_dumpd_load_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """dumpd keeps the key out (a secret reference); load rebuilds an equal model from the environment."""
    monkeypatch.setenv("LM_STUDIO_API_KEY", "sk-lm-roundtrip")
    model = LMStudioChatModel(
        model="m", base_url="http://127.0.0.1:1234/v1", temperature=0.2, max_tokens=7, api_key="sk-lm-roundtrip"
    )
    dumped = dumpd(model)
    assert "sk-lm-roundtrip" not in str(dumped)
    assert dumped["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["LM_STUDIO_API_KEY"]}
    loaded = load(
        dumped,
        secrets_from_env=True,
        valid_namespaces=["lmstudio_adapters"],
        allowed_objects=[LMStudioChatModel],
    )
    assert isinstance(loaded, LMStudioChatModel)
    assert loaded == model


class TestLMStudioEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[LMStudioEmbeddings]:
        return LMStudioEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-nomic-embed-text-v1.5", "base_url": "http://127.0.0.1:1234"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {}, {"base_url": "http://127.0.0.1:4321", "model": "env-model"}
