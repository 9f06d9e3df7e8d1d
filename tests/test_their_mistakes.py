"""The user's mistakes (issue 18): a timeout in the wrong unit, https on an http server, a
misspelled argument, per-call options, and a server that is not running.

Each test sets up what the user had (the environment variable, the URL, the call) against a
loopback server or a closed port, and checks what the library says and sends.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from lmstudio_adapters import APIConnectionError, APITimeoutError, ConfigError, LMStudioClient, ServerError
from lmstudio_adapters.__main__ import main
from lmstudio_adapters._requests import split_call_options
from tests.loopback import LoopbackServer, Reply, chat_reply, closed_port, silent_server

CHAT = ("POST", "/v1/chat/completions")
HI = [{"role": "user", "content": "Hi"}]


def chat_bodies(server: LoopbackServer) -> list[dict[str, Any]]:
    return [json.loads(body) for _, path, body, _ in server.requests if path == CHAT[1]]


def langchain_call(url: str, **fields: Any) -> Callable[..., Any]:
    from lmstudio_adapters.langchain import LMStudioChatModel

    llm = LMStudioChatModel(model="loop-model", base_url=url, **fields)
    return lambda **kwargs: llm.invoke("Hi", **kwargs).content


def llama_index_call(url: str, **fields: Any) -> Callable[..., Any]:
    from llama_index.core.llms import ChatMessage

    from lmstudio_adapters.llama_index import LMStudioLLM

    llm = LMStudioLLM(model="loop-model", base_url=url, **fields)
    return lambda **kwargs: llm.chat([ChatMessage(role="user", content="Hi")], **kwargs).message.content


ADAPTERS = {"langchain": langchain_call, "llama_index": llama_index_call}


# --- LM_STUDIO_TIMEOUT=30 (seconds meant, milliseconds read) ----------------------------------


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_timeout_from_the_environment_is_named(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, adapter: str
) -> None:
    """The limit is blamed on LM_STUDIO_TIMEOUT=30 (ms), not on a timeout= the user never passed."""
    monkeypatch.setenv("LM_STUDIO_TIMEOUT", "30")
    server.route(*CHAT, Reply(body=chat_reply(), delay=1.0))
    call = ADAPTERS[adapter](server.url, max_retries=0)
    with pytest.raises(APITimeoutError) as info:
        call()
    assert "limit from LM_STUDIO_TIMEOUT=30 (ms)" in str(info.value)
    assert "timeout=0.03" not in str(info.value)


def test_explicit_timeout_is_named_as_given(server: LoopbackServer) -> None:
    server.route(*CHAT, Reply(body=chat_reply(), delay=1.0))
    with LMStudioClient(server.url, timeout=0.2, max_retries=0) as client, pytest.raises(APITimeoutError) as info:
        client.chat(HI)
    assert "limit from timeout=0.2" in str(info.value)


def test_doctor_warns_about_a_timeout_too_short(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LM_STUDIO_TIMEOUT", "30")
    out = io.StringIO()
    status = main(["--url", server.url, "--model", "loop-model", "doctor"], out=out)
    assert status == 1
    assert "timeout=0.03 s (from LM_STUDIO_TIMEOUT=30 (ms))" in out.getvalue()
    assert "too short for any generation" in out.getvalue()
    assert "did you mean 30000?" in out.getvalue()


# --- https:// on a plain http server ----------------------------------------------------------


def test_https_on_an_http_server_names_the_mismatch(server: LoopbackServer) -> None:
    """The TLS error is named with the http:// URL to use, and not retried."""
    url = server.url.replace("http://", "https://")
    with LMStudioClient(url, model="loop-model") as client, pytest.raises(APIConnectionError) as info:
        client.chat(HI)
    message = str(info.value)
    assert "speaks plain HTTP, not HTTPS" in message
    assert f"set LM_STUDIO_URL to {server.url}" in message
    assert "within" not in message
    assert info.value.is_retryable is False
    assert server.accepted == 1  # one try, although max_retries is 2


def test_https_on_a_server_that_waits(caplog: pytest.LogCaptureFixture) -> None:
    """A plain HTTP server that waits for the end of a request line: the handshake times out, once."""
    with silent_server() as plain, caplog.at_level(logging.DEBUG, logger="lmstudio_adapters"):
        url = plain.replace("http://", "https://")
        with LMStudioClient(url, model="m", timeout=0.5) as client, pytest.raises(APIConnectionError) as info:
            client.chat(HI)
    assert "no answer to the TLS handshake" in str(info.value)
    assert not isinstance(info.value, APITimeoutError)
    assert sum("(attempt" in record.getMessage() for record in caplog.records) == 1


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_https_mismatch_fails_once_in_both_adapters(server: LoopbackServer, adapter: str) -> None:
    url = server.url.replace("http://", "https://")
    with pytest.raises(APIConnectionError, match="plain HTTP"):
        ADAPTERS[adapter](url)()
    assert server.accepted == 1  # LlamaIndex's model lookup is that one try; no second failure


# --- a misspelled constructor argument ----------------------------------------------------------


def test_langchain_warns_and_sends_it_like_chat_openai(server: LoopbackServer) -> None:
    """LangChain's convention (ChatOpenAI): warn, move it to model_kwargs, send it as a field."""
    from lmstudio_adapters.langchain import LMStudioChatModel

    server.route(*CHAT, Reply(body=chat_reply()))
    with pytest.warns(UserWarning, match="does not take 'temprature' \\(did you mean 'temperature'\\?\\)") as record:
        llm = LMStudioChatModel(model="loop-model", base_url=server.url, temprature=0.1)
    assert record[0].filename == __file__  # points at the caller's line
    assert (llm.temperature, llm.model_kwargs) == (None, {"temprature": 0.1})
    llm.invoke("Hi")
    assert chat_bodies(server)[0]["temprature"] == 0.1


def test_llama_index_refuses_it() -> None:
    """LlamaIndex models take only their fields: a typo is a ConfigError naming the closest one."""
    from lmstudio_adapters.llama_index import LMStudioLLM

    with pytest.raises(ConfigError, match="does not take 'temprature' \\(did you mean 'temperature'\\?\\)"):
        LMStudioLLM(model="m", temprature=0.1)
    with pytest.raises(ConfigError, match="does not take 'colour'\\. Pass request fields in additional_kwargs"):
        LMStudioLLM(model="m", colour="blue")
    assert LMStudioLLM(model="m", timeout=5).request_timeout == 5  # the aliases still work
    assert LMStudioLLM(model_name="m").model == "m"  # as llama-index-llms-lmstudio names it


# --- per-call options: one rule for both adapters ---------------------------------------------


def test_the_split_rule() -> None:
    fields, extra, options = split_call_options(
        {
            "temperature": 0.2,
            "tools": None,
            "extra_body": {"draft": 1, "mirostat": 2},
            "mirostat": 1,
            "timeout": 3,
            "request_timeout": None,
            "max_retries": 0,
        }
    )
    assert fields == {"temperature": 0.2}
    assert extra == {"mirostat": 2, "draft": 1}  # extra_body's keys win
    assert options == {"timeout": 3, "max_retries": 0}


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_per_call_extra_body_and_client_options(server: LoopbackServer, adapter: str) -> None:
    """extra_body is merged into the body; max_retries and timeout go to the client, never sent."""
    server.route(*CHAT, Reply(status=500, body={"error": "busy"}), Reply(body=chat_reply("ok")))
    call = ADAPTERS[adapter](server.url, max_retries=2, temperature=0.5)
    with pytest.raises(ServerError):
        call(extra_body={"repeat_last_n": 64}, max_retries=0, timeout=20, top_k=5)
    body = chat_bodies(server)[0]
    assert (body["repeat_last_n"], body["top_k"], body["temperature"]) == (64, 5, 0.5)
    assert not {"extra_body", "max_retries", "timeout"} & set(body)
    assert server.hits[CHAT] == 1  # max_retries=0 reached the client
    assert call() == "ok"  # the model's own max_retries=2 is back for the next call


# --- a refused port: LlamaIndex fails once, like LangChain ------------------------------------


def test_refused_port_costs_the_same_in_both_adapters(caplog: pytest.LogCaptureFixture) -> None:
    attempts = {}
    with closed_port() as url:
        for name, make in ADAPTERS.items():
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="lmstudio_adapters"), pytest.raises(APIConnectionError):
                make(url)()
            attempts[name] = sum("(attempt" in record.getMessage() for record in caplog.records)
    assert attempts == {"langchain": 3, "llama_index": 3}  # one call's three tries each, not six


def test_runtime_fallback_when_the_lookup_cannot_connect() -> None:
    """select_llm(runtime_fallback=True): the lookup's connection error switches to the cloud, once."""
    from llama_index.core.llms import ChatMessage

    from lmstudio_adapters.llama_index import select_llm
    from tests.loopback import serve
    from tests.test_selector import cloud_kwargs

    with serve() as cloud:
        cloud.route(*CHAT, Reply(body=chat_reply("from the cloud")))
        with serve() as lmstudio:  # up while the selector probes, gone before the first call
            llm = select_llm(
                "loop-model",
                base_url=lmstudio.url,
                fallback="openai:gpt-4o-mini",
                runtime_fallback=True,
                cloud_kwargs=cloud_kwargs(cloud),
                max_retries=0,
            )
        assert llm.chat([ChatMessage(role="user", content="hi")]).message.content == "from the cloud"
        assert llm.metadata.model_name == "gpt-4o-mini"  # the cloud model's, while LM Studio is away
