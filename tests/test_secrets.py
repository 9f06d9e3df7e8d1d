"""Secrets: an API key given by LM_STUDIO_API_KEY, the constructor or a cloud variable never shows.

Checked in repr/str, logs at every level, exception messages, serialised models (LangChain
``dumpd``, LlamaIndex ``to_dict``/``to_json``) and recorded cassettes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import vcr
from langchain_core.load import dumpd, dumps
from llama_index.core.base.llms.types import ChatMessage

from lmstudio_adapters import AuthenticationError, LMStudioClient, LMStudioSettings, decide_backend
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings, select_chat_model
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM
from lmstudio_adapters.testing.cassettes import BODY_MATCHER, body_matcher, vcr_config_dict
from tests.loopback import LoopbackServer, Reply, chat_reply

ENV_KEY = "sk-lm-from-env-0123456789"
ARG_KEY = "sk-lm-from-argument-9876543210"
CLOUD_KEY = "sk-proj-cloud-abcdefghijklmnop"
ALL_KEYS = (ENV_KEY, ARG_KEY, CLOUD_KEY)


def assert_clean(*texts: object) -> None:
    for text in texts:
        for key in ALL_KEYS:
            assert key not in str(text), f"secret leaked into: {str(text)[:200]}"


def test_settings_and_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """repr and str of settings, clients and every adapter hide the key."""
    monkeypatch.setenv("LM_STUDIO_API_KEY", ENV_KEY)
    objects = [
        LMStudioSettings(),
        LMStudioClient(),
        LMStudioChatModel(model="m"),
        LMStudioChatModel(model="m", api_key=ARG_KEY),
        LMStudioEmbeddings(model="e"),
        LMStudioLLM(model="m", api_key=ARG_KEY),
        LMStudioEmbedding(model_name="e"),
    ]
    for obj in objects:
        assert_clean(repr(obj), str(obj))


def test_serialised_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """dumpd/dumps keep only a reference to LM_STUDIO_API_KEY; to_dict/to_json drop the key."""
    monkeypatch.setenv("LM_STUDIO_API_KEY", ENV_KEY)
    chat = LMStudioChatModel(model="m", api_key=ARG_KEY)
    assert_clean(dumpd(chat), dumps(chat))
    llm = LMStudioLLM(model="m", api_key=ARG_KEY)
    embedding = LMStudioEmbedding(model_name="e", api_key=ARG_KEY)
    assert_clean(llm.to_dict(), llm.to_json(), embedding.to_dict(), embedding.to_json())


def test_logs_and_errors(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DEBUG logs and error messages of failing calls never carry the key (it is sent, though)."""
    monkeypatch.setenv("OPENAI_API_KEY", CLOUD_KEY)
    caplog.set_level(logging.DEBUG)
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply(status=401, body={"error": {"code": "invalid_api_key", "message": "wrong token"}}),
    )
    with pytest.raises(AuthenticationError) as info:
        LMStudioChatModel(model="loop-model", base_url=server.url, api_key=ARG_KEY).invoke("hi")
    assert server.requests[-1][3]["Authorization"] == f"Bearer {ARG_KEY}"
    with pytest.raises(AuthenticationError) as li_info:
        LMStudioLLM(
            model="loop-model", base_url=server.url, api_key=ARG_KEY, context_window=1, is_function_calling_model=True
        ).chat([ChatMessage(role="user", content="hi")])
    decision = decide_backend("other", base_url=server.url, fallback="openai:gpt-4o-mini")
    selected = select_chat_model("other", base_url=server.url, fallback="openai:gpt-4o-mini")
    assert_clean(
        caplog.text,
        info.value,
        repr(info.value),
        info.value.__dict__,
        li_info.value,
        decision,
        repr(selected),
        dumpd(selected)["kwargs"].get("metadata"),
    )


def test_cassettes_hold_no_key(server: LoopbackServer, tmp_path: Path) -> None:
    """A cassette recorded with the package's vcr settings has no Authorization value and no key."""
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("recorded")))
    recorder = vcr.VCR()
    recorder.register_matcher(BODY_MATCHER, body_matcher)
    cassette = tmp_path / "secret.yaml"
    with (
        recorder.use_cassette(str(cassette), **vcr_config_dict(), record_mode="all"),
        LMStudioClient(server.url, api_key=ARG_KEY) as client,
    ):
        reply = client.chat([{"role": "user", "content": "hi"}])
    assert reply.message.content == "recorded"
    text = cassette.read_text()
    assert_clean(text)
    assert "authorization" not in text.lower()
    assert "127.0.0.1" not in text  # the host is written as localhost:1234
