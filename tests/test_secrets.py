"""Secrets: an API key given by LM_STUDIO_API_KEY, the constructor or a cloud variable never shows.

Checked in repr/str, logs at every level, exception messages, serialised models (LangChain
``dumpd``, LlamaIndex ``to_dict``/``to_json``) and recorded cassettes.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
import yaml
from langchain_core.load import dumpd, dumps
from llama_index.core.base.llms.types import ChatMessage

from lmstudio_adapters import (
    AsyncLMStudioClient,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    LMStudioAdapterError,
    LMStudioClient,
    LMStudioSettings,
    NoBackendError,
    decide_backend,
)
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


# --- keys checked where they enter ----------------------------------------------------

ECHO_KEY = "sk-lm-echoed-by-proxy-5555555555"
BAD_KEYS = [
    ("blank", ""),
    ("whitespace only", "   "),
    ("header injection", "sk-lm-inject-7777\r\nX-Evil: 1"),
    ("inner newline", "sk-lm-two\nlines-7777"),
    ("control character", "sk-lm-esc\x1b-7777"),
    ("space inside", "sk-lm-has space-7777"),
    ("non-ASCII", "sk-lm-clé-7777"),
]
KEY_ENTRY_POINTS: list[tuple[str, Any]] = [
    ("LMStudioClient", lambda key: LMStudioClient("http://127.0.0.1:9", api_key=key)),
    ("AsyncLMStudioClient", lambda key: AsyncLMStudioClient("http://127.0.0.1:9", api_key=key)),
    ("LMStudioSettings", lambda key: LMStudioSettings(api_key=key) if key else LMStudioClient(api_key=key)),
    ("LMStudioChatModel", lambda key: LMStudioChatModel(model="m", base_url="http://127.0.0.1:9", api_key=key)),
    ("LMStudioEmbeddings", lambda key: LMStudioEmbeddings(model="e", api_key=key)),
    ("LMStudioLLM", lambda key: LMStudioLLM(model="m", api_key=key)),
    ("LMStudioEmbedding", lambda key: LMStudioEmbedding(model_name="e", api_key=key)),
    (
        "decide_backend",
        lambda key: decide_backend("m", base_url="http://127.0.0.1:9", api_key=key, fallback="openai:x"),
    ),
]


@pytest.mark.parametrize(("entry", "make"), KEY_ENTRY_POINTS, ids=[name for name, _ in KEY_ENTRY_POINTS])
@pytest.mark.parametrize(("case", "key"), BAD_KEYS, ids=[case for case, _ in BAD_KEYS])
def test_bad_key_is_a_config_error(entry: str, make: Any, case: str, key: str) -> None:
    """Every way a key is given refuses a bad one at construction, without showing it."""
    with pytest.raises(ConfigError) as info:
        make(key)
    assert "api_key" in str(info.value) or "LM_STUDIO_API_KEY" in str(info.value)
    if key.strip():
        assert key.strip() not in str(info.value)
        assert "7777" not in str(info.value)


ENV_ENTRY_POINTS: list[tuple[str, Any]] = [
    ("LMStudioClient", lambda: LMStudioClient()),
    ("LMStudioChatModel", lambda: LMStudioChatModel(model="m", base_url="http://127.0.0.1:9")),
    ("LMStudioChatModel from settings", lambda: LMStudioChatModel()),
    ("LMStudioLLM", lambda: LMStudioLLM(model="m", base_url="http://127.0.0.1:9")),
    ("LMStudioEmbedding", lambda: LMStudioEmbedding()),
    ("decide_backend", lambda: decide_backend("m", fallback="openai:gpt-4o-mini")),
]


@pytest.mark.parametrize(("entry", "make"), ENV_ENTRY_POINTS, ids=[name for name, _ in ENV_ENTRY_POINTS])
@pytest.mark.parametrize(("case", "key"), BAD_KEYS[1:], ids=[case for case, _ in BAD_KEYS[1:]])
def test_bad_key_from_environment(monkeypatch: pytest.MonkeyPatch, entry: str, make: Any, case: str, key: str) -> None:
    """A bad LM_STUDIO_API_KEY is a ConfigError naming the variable, never the key, from every entry point."""
    monkeypatch.setenv("LM_STUDIO_API_KEY", key)
    with pytest.raises(ConfigError, match="LM_STUDIO_API_KEY") as info:
        make()
    assert "7777" not in str(info.value)


def test_key_from_a_file_loses_its_newline(server: LoopbackServer, tmp_path: Path) -> None:
    """A key read from a file ends with a newline: it is dropped, and the key is sent as the token."""
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("ok")))
    key_file = tmp_path / "token"
    key_file.write_text(ARG_KEY + "\n")
    key = key_file.read_text()
    with LMStudioClient(server.url, api_key=key) as client:
        client.chat([{"role": "user", "content": "hi"}])

    async def run_async() -> None:
        async with AsyncLMStudioClient(server.url, api_key=ARG_KEY + "\r\n") as client:
            await client.chat([{"role": "user", "content": "hi"}])

    asyncio.run(run_async())
    LMStudioChatModel(model="loop-model", base_url=server.url, api_key=key).invoke("hi")
    li_model = LMStudioLLM(
        model="loop-model", base_url=server.url, api_key=key, context_window=1, is_function_calling_model=True
    )
    li_model.chat([ChatMessage(role="user", content="hi")])
    sent = [headers["Authorization"] for method, _, _, headers in server.requests if method == "POST"]
    assert sent == [f"Bearer {ARG_KEY}"] * 4


def test_empty_key_variable_means_no_key(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_API_KEY="" sends no Authorization, the requests work, and the selector stays local."""
    monkeypatch.setenv("LM_STUDIO_API_KEY", "")
    monkeypatch.setenv("LM_STUDIO_URL", server.url)
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("ok")))
    assert LMStudioSettings().api_key is None
    assert LMStudioClient().chat([{"role": "user", "content": "hi"}]).message.content == "ok"
    assert LMStudioChatModel(model="loop-model", base_url=server.url).invoke("hi").content == "ok"
    decision = decide_backend("loop-model", fallback="openai:gpt-4o-mini")
    assert decision.target == "local"
    assert all("Authorization" not in headers for _, _, _, headers in server.requests)


def test_selector_raises_config_errors_instead_of_choosing_the_cloud(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad key or URL of ours is our error: raised, even with a cloud fallback configured."""
    monkeypatch.setenv("OPENAI_API_KEY", CLOUD_KEY)
    with pytest.raises(ConfigError):
        decide_backend("loop-model", base_url=server.url, api_key=ARG_KEY + "\r\nX: 1", fallback="openai:gpt-4o-mini")
    with pytest.raises(ConfigError):
        select_chat_model("loop-model", base_url=server.url, api_key=" ", fallback="openai:gpt-4o-mini")
    with pytest.raises(ConfigError):
        decide_backend("loop-model", base_url=server.url + "?x=1", fallback="openai:gpt-4o-mini")
    assert server.requests == []


# --- servers that echo our headers ------------------------------------------------------


def echo_headers(headers: dict[str, str]) -> dict[str, Any]:
    """An error body that quotes the request, as some proxies and debug servers do."""
    quoted = "; ".join(f"{name}: {value}" for name, value in headers.items())
    return {"error": {"message": f"bad gateway, request was {quoted}", "request_headers": headers}}


ECHO_STATUSES = [400, 500, 404]


def chat_failures(url: str) -> list[BaseException]:
    """The error of one failing chat through each path: sync, async, stream, LangChain, LlamaIndex."""
    errors: list[BaseException] = []
    hi = [{"role": "user", "content": "hi"}]

    def keep(call: Any) -> None:
        try:
            call()
        except LMStudioAdapterError as exc:
            errors.append(exc)
        else:  # pragma: no cover - the server always fails here
            raise AssertionError("the call did not fail")

    with LMStudioClient(url, api_key=ECHO_KEY, max_retries=0) as client:
        keep(lambda: client.chat(hi))
        keep(lambda: list(client.stream_chat(hi)))

    async def run_async() -> None:
        async with AsyncLMStudioClient(url, api_key=ECHO_KEY, max_retries=0) as client:
            try:
                await client.chat(hi)
            except LMStudioAdapterError as exc:
                errors.append(exc)

    asyncio.run(run_async())
    keep(lambda: LMStudioChatModel(model="loop-model", base_url=url, api_key=ECHO_KEY, max_retries=0).invoke("hi"))
    llm = LMStudioLLM(
        model="loop-model",
        base_url=url,
        api_key=ECHO_KEY,
        max_retries=0,
        context_window=1,
        is_function_calling_model=True,
    )
    keep(lambda: llm.chat([ChatMessage(role="user", content="hi")]))
    keep(lambda: list(llm.stream_chat([ChatMessage(role="user", content="hi")])))
    return errors


def assert_no_echo(*things: object) -> None:
    for thing in things:
        text = repr(thing) + str(thing)
        assert ECHO_KEY not in text, f"echoed key leaked into: {text[:300]}"
        assert ECHO_KEY[:20] not in text, f"part of the echoed key leaked into: {text[:300]}"


@pytest.mark.parametrize("status", ECHO_STATUSES)
def test_echoed_headers_never_reach_errors(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """An error body quoting Authorization: the key is hidden in str, repr, args, body and logs."""
    caplog.set_level(logging.DEBUG)
    server.route("POST", "/v1/chat/completions", Reply(status=status, body=echo_headers))
    errors = chat_failures(server.url)
    assert len(errors) == 6
    chats = [
        headers for method, path, _, headers in server.requests if (method, path) == ("POST", "/v1/chat/completions")
    ]
    assert chats[-1]["Authorization"] == f"Bearer {ECHO_KEY}"  # it was sent
    # A 404 makes the client ask what the server is (GET /lmstudio-greeting...): never with the key.
    assert all("Authorization" not in headers for method, _, _, headers in server.requests if method == "GET")
    for error in errors:
        assert "<redacted>" in str(error)
        assert_no_echo(error, error.args, error.__dict__, getattr(error, "body", None))
    assert_no_echo(caplog.text)


def test_echo_in_a_stream_error_and_in_an_unreadable_answer(server: LoopbackServer) -> None:
    """A mid-stream error event and a non-JSON 200 answer quoting the key: hidden there too."""
    hi = [{"role": "user", "content": "hi"}]
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply(sse=["event: error", "data: {headers}", ""], content_type="text/event-stream", body=echo_headers),
    )
    with LMStudioClient(server.url, api_key=ECHO_KEY) as client, pytest.raises(LMStudioAdapterError) as streamed:
        list(client.stream_chat(hi))
    server.route(
        "POST", "/v1/chat/completions", Reply(body=lambda headers: f"<<{headers}>>", content_type="text/plain")
    )
    with LMStudioClient(server.url, api_key=ECHO_KEY) as client, pytest.raises(LMStudioAdapterError) as unreadable:
        client.chat(hi)
    assert_no_echo(streamed.value, streamed.value.__dict__, unreadable.value, unreadable.value.__dict__)


def test_selector_decision_with_an_echoing_server(server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    """The probe's error quotes the key: neither the decision nor its log line shows it."""
    caplog.set_level(logging.DEBUG)
    server.route("GET", "/v1/models", Reply(status=400, body=echo_headers))
    decision = decide_backend("loop-model", base_url=server.url, api_key=ECHO_KEY, fallback="openai:gpt-4o-mini")
    assert decision.target == "cloud"
    assert "<redacted>" in decision.reason
    assert_no_echo(decision, caplog.text)
    with pytest.raises(NoBackendError) as info:
        decide_backend("loop-model", base_url=server.url, api_key=ECHO_KEY, prefer="local-only")
    assert_no_echo(info.value)


def test_cassette_of_an_echoing_server_holds_no_key(server: LoopbackServer, tmp_path: Path) -> None:
    """A recorded answer that quotes the request headers is written with the key hidden."""
    server.route("POST", "/v1/chat/completions", Reply(status=400, body=echo_headers))
    recorder = vcr.VCR()
    recorder.register_matcher(BODY_MATCHER, body_matcher)
    cassette = tmp_path / "echo.yaml"
    # A key this process never configured (sent by some other client) is hidden as well.
    other_key = "sk-other-client-3141592653589793"
    with recorder.use_cassette(str(cassette), **vcr_config_dict(), record_mode="all"):
        with httpx.Client() as raw:
            raw.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {other_key}"}, json={})
        with LMStudioClient(server.url, api_key=ECHO_KEY, max_retries=0) as client, pytest.raises(BadRequestError):
            client.chat([{"role": "user", "content": "hi"}])
    text = cassette.read_text()
    assert ECHO_KEY not in text
    assert other_key not in text
    assert "<redacted>" in text
    for interaction in yaml.safe_load(text)["interactions"]:
        assert not {name.lower() for name in interaction["request"]["headers"]} & {"authorization"}


# --- credentials in the URL -------------------------------------------------------------

PASSWORD = "hunter2-url-password"
URL_ENTRY_POINTS: list[tuple[str, Any]] = [
    ("LMStudioClient", lambda url: LMStudioClient(url)),
    ("AsyncLMStudioClient", lambda url: AsyncLMStudioClient(url)),
    ("LMStudioSettings", lambda url: LMStudioSettings(url=url)),
    ("LMStudioChatModel", lambda url: LMStudioChatModel(model="m", base_url=url)),
    ("LMStudioEmbeddings", lambda url: LMStudioEmbeddings(model="e", base_url=url)),
    ("LMStudioLLM", lambda url: LMStudioLLM(model="m", base_url=url)),
    ("LMStudioEmbedding", lambda url: LMStudioEmbedding(model_name="e", base_url=url)),
    ("decide_backend", lambda url: decide_backend("m", base_url=url, fallback="openai:gpt-4o-mini")),
]


@pytest.mark.parametrize(("entry", "make"), URL_ENTRY_POINTS, ids=[name for name, _ in URL_ENTRY_POINTS])
def test_credentials_in_url_are_refused(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture, entry: str, make: Any
) -> None:
    """user:password@ in base_url is a ConfigError telling to use api_key; the password is never shown."""
    caplog.set_level(logging.DEBUG)
    url = server.url.replace("http://", f"http://user:{PASSWORD}@")
    with pytest.raises(ConfigError, match="api_key") as info:
        make(url)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value)
    assert PASSWORD not in caplog.text
    assert server.requests == []


def test_credentials_in_url_variable_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for LM_STUDIO_URL, through the settings every class reads."""
    monkeypatch.setenv("LM_STUDIO_URL", f"http://admin:{PASSWORD}@127.0.0.1:9")
    for make in (LMStudioClient, LMStudioChatModel, LMStudioLLM, lambda: decide_backend(fallback="openai:x")):
        with pytest.raises(ConfigError, match="LM_STUDIO_URL") as info:
            make()
        assert PASSWORD not in str(info.value)
