"""Bad input from the user, through the client and both adapters: a typed error, nothing sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import ChatMessage as LCChatMessage
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, ImageBlock

from lmstudio_adapters import ConfigError, InputError, LMStudioClient
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM
from tests.loopback import LoopbackServer

NOT_AN_IMAGE = "data:text/plain;base64,aGVsbG8="
BAD_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}


def lc(url: str, **kwargs: Any) -> LMStudioChatModel:
    return LMStudioChatModel(model="loop-model", base_url=url, **kwargs)


def li(url: str, **kwargs: Any) -> LMStudioLLM:
    return LMStudioLLM(model="loop-model", base_url=url, context_window=4096, is_function_calling_model=True, **kwargs)


BAD_CALLS: list[tuple[str, Callable[[str], Any], str]] = [
    ("client: empty messages", lambda url: LMStudioClient(url).chat([]), "messages is empty"),
    ("client: unknown role", lambda url: LMStudioClient(url).chat([{"role": "wizard", "content": "x"}]), "role"),
    (
        "client: negative max_tokens",
        lambda url: LMStudioClient(url).chat([{"role": "user", "content": "x"}], max_tokens=-3),
        "max_tokens=-3",
    ),
    (
        "client: unknown keyword",
        lambda url: LMStudioClient(url).chat([{"role": "user", "content": "x"}], tempreature=1),
        "extra_body",
    ),
    ("langchain: empty messages", lambda url: lc(url).invoke([]), "messages is empty"),
    ("langchain: unknown role", lambda url: lc(url).invoke([LCChatMessage(content="x", role="wizard")]), "'wizard'"),
    (
        "langchain: not an image",
        lambda url: lc(url).invoke([HumanMessage(content=[{"type": "image_url", "image_url": {"url": NOT_AN_IMAGE}}])]),
        "not an image",
    ),
    (
        "langchain: tool schema not JSON Schema",
        lambda url: lc(url).bind_tools([BAD_TOOL]).invoke("x"),
        "JSON Schema object",
    ),
    ("langchain: negative max_tokens", lambda url: lc(url, max_tokens=-5).invoke("x"), "max_tokens=-5"),
    (
        "langchain: embeddings of token ids",
        lambda url: LMStudioEmbeddings(model="e", base_url=url).embed_documents([[1, 2]]),
        "only strings",
    ),  # type: ignore[list-item]
    ("llamaindex: empty messages", lambda url: li(url).chat([]), "messages is empty"),
    (
        "llamaindex: not an image",
        lambda url: li(url).chat([ChatMessage(role="user", blocks=[ImageBlock(url=NOT_AN_IMAGE)])]),
        "not an image",
    ),
    ("llamaindex: negative max_tokens", lambda url: li(url, max_tokens=-5).complete("x"), "max_tokens"),
    (
        "llamaindex: image bytes that are not an image",
        lambda url: li(url).chat(
            [ChatMessage(role="user", blocks=[ImageBlock(image=b"just some text", image_mimetype="image/png")])]
        ),
        "not a PNG",
    ),
    (
        "client: image data URL that is not an image",
        lambda url: LMStudioClient(url).chat(
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}],
                }
            ]
        ),
        "not a PNG",
    ),
]


@pytest.mark.parametrize(("case", "call", "words"), BAD_CALLS, ids=[case for case, _, _ in BAD_CALLS])
def test_bad_call(server: LoopbackServer, case: str, call: Callable[[str], Any], words: str) -> None:
    """Each bad call raises a typed, explained error and sends nothing."""
    with pytest.raises((InputError, TypeError, ValueError)) as info:
        call(server.url)
    assert words in str(info.value)
    assert [r for r in server.requests if r[1] != "/v1/models"] == []


BAD_ENV = [
    ("LM_STUDIO_TIMEOUT", "abc"),
    ("LM_STUDIO_TIMEOUT", "-1"),
    ("LM_STUDIO_URL", "localhost:1234"),
    ("LM_STUDIO_MAX_RETRIES", "x"),
    ("LM_STUDIO_API", "v7"),
    ("LM_STUDIO_PREFER", "sometimes"),
    ("LM_STUDIO_PROBE_TIMEOUT", "0"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_ENV)
@pytest.mark.parametrize(
    "factory",
    [LMStudioClient, LMStudioChatModel, LMStudioEmbeddings, LMStudioLLM, LMStudioEmbedding],
    ids=lambda f: f.__name__,
)
def test_bad_environment(monkeypatch: pytest.MonkeyPatch, factory: Any, variable: str, value: str) -> None:
    """A bad LM_STUDIO_* value is one ConfigError naming the variable, from every entry point."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        factory()
    assert f"{variable}={value!r} is invalid" in str(info.value)


def test_bad_constructor_url() -> None:
    """A base URL without a scheme is a ConfigError from the adapters too."""
    with pytest.raises(ConfigError, match="not a valid server URL"):
        LMStudioChatModel(base_url="localhost:1234")
    with pytest.raises(ConfigError, match="not a valid server URL"):
        LMStudioLLM(base_url="localhost:1234")
