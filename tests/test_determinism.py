"""Replayable by design: the same call sends the same bytes, and discovery requests are predictable."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage

from lmstudio_adapters.langchain import LMStudioChatModel
from lmstudio_adapters.llama_index import LMStudioLLM
from tests.loopback import LoopbackServer, Reply, chat_reply

CHAT = ("POST", "/v1/chat/completions")


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def bodies(server: LoopbackServer) -> list[bytes]:
    return [body for method, path, body, _ in server.requests if (method, path) == CHAT]


def test_langchain_same_call_same_bytes(server: LoopbackServer) -> None:
    """Two identical LangChain calls with tools and a tool round trip send byte-identical bodies."""
    server.route(*CHAT, Reply(body=chat_reply("ok")))
    history = [
        HumanMessage("add 2 and 3"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "call_7"}]),
        ToolMessage("5", tool_call_id="call_7"),
    ]
    for _ in range(2):
        llm = LMStudioChatModel(model="loop-model", base_url=server.url, temperature=0, seed=1)
        llm.bind_tools([add], tool_choice="add").invoke(history)
    first, second = bodies(server)
    assert first == second
    assert b'"tool_call_id":"call_7"' in first  # ids come from the conversation, never minted


def test_llama_index_same_call_same_bytes(server: LoopbackServer) -> None:
    """Two identical LlamaIndex calls send byte-identical bodies."""
    server.route(*CHAT, Reply(body=chat_reply("ok")))
    for _ in range(2):
        llm = LMStudioLLM(
            model="loop-model", base_url=server.url, temperature=0, context_window=4096, is_function_calling_model=True
        )
        llm.chat([ChatMessage(role="user", content="hi")])
    first, second = bodies(server)
    assert first == second


def test_discovery_is_the_same_whatever_ran_before(server: LoopbackServer) -> None:
    """A fresh LMStudioLLM makes the same discovery requests, in order, even on a warm shared client."""
    paths = []
    for _ in range(2):
        server.requests.clear()
        llm = LMStudioLLM(model="loop-model", base_url=server.url)
        assert llm.metadata.model_name == "loop-model"
        assert llm.metadata.context_window > 0  # read once per instance
        paths.append([path for _, path, _, _ in server.requests])
    assert paths[0] == paths[1] == ["/api/v1/models", "/api/v0/models", "/v1/models"]


def test_discovery_can_be_switched_off(server: LoopbackServer) -> None:
    """With context_window and is_function_calling_model given, metadata makes no request at all."""
    llm = LMStudioLLM(model="loop-model", base_url=server.url, context_window=8192, is_function_calling_model=True)
    assert llm.metadata.context_window == 8192
    assert server.requests == []
