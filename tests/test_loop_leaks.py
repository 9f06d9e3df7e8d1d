"""asyncio.run in a loop: each finished event loop and its connection pool are released.

Notebooks and scripts call ``asyncio.run(model.ainvoke(...))`` again and again; every run
makes a new loop, and each async client keeps one pool per loop. Those of finished loops
must not pile up (they did: 1,000 runs kept 1,000 loops and 1,000 ``httpx.AsyncClient``).
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage

from lmstudio_adapters import AsyncLMStudioClient
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
from lmstudio_adapters.llama_index import LMStudioLLM
from tests.loopback import LoopbackServer, Reply, chat_reply

RUNS = 40
EMBEDDING = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}], "model": "e"}


def live_async_pools() -> int:
    gc.collect()
    return sum(isinstance(item, httpx.AsyncClient) for item in gc.get_objects())


def run_many(make_call: Callable[[], Awaitable[Any]], *, runs: int = RUNS) -> list[weakref.ref[Any]]:
    """asyncio.run the call ``runs`` times; weak references to each run's loop."""
    loops: list[weakref.ref[Any]] = []

    async def one() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await make_call()

    for _ in range(runs):
        asyncio.run(one())
    gc.collect()
    return loops


@pytest.fixture
def chat_server(server: LoopbackServer) -> LoopbackServer:
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("ok")))
    server.route("POST", "/v1/embeddings", Reply(body=EMBEDDING))
    return server


def calls(url: str) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    client = AsyncLMStudioClient(url, model="loop-model")
    chat = LMStudioChatModel(model="loop-model", base_url=url)
    embeddings = LMStudioEmbeddings(model="e", base_url=url)
    llm = LMStudioLLM(model="loop-model", base_url=url, context_window=4096, is_function_calling_model=True)
    return [
        ("AsyncLMStudioClient.chat", lambda: client.chat([{"role": "user", "content": "hi"}])),
        ("AsyncLMStudioClient.list_models", lambda: client.list_models()),
        ("LMStudioChatModel.ainvoke", lambda: chat.ainvoke("hi")),
        ("LMStudioEmbeddings.aembed_query", lambda: embeddings.aembed_query("hi")),
        ("LMStudioLLM.achat", lambda: llm.achat([ChatMessage(role="user", content="hi")])),
    ]


@pytest.mark.parametrize(
    "index", range(5), ids=["client chat", "client models", "langchain", "lc embeddings", "llamaindex"]
)
def test_asyncio_run_in_a_loop_keeps_no_dead_loop(chat_server: LoopbackServer, index: int) -> None:
    """After many asyncio.run calls no finished loop is alive, and the pool count does not grow."""
    name, call = calls(chat_server.url)[index]
    run_many(call, runs=3)  # warm up: the shared client exists from here on
    before = live_async_pools()
    loops = run_many(call)
    alive = sum(ref() is not None for ref in loops)
    assert alive == 0, f"{name}: {alive} of {RUNS} finished event loops are still alive"
    assert live_async_pools() <= before, f"{name}: async pools grew from {before}"
    assert chat_server.wait_idle() == 0  # and every pool closed its sockets with its loop


def test_loops_closed_by_hand(chat_server: LoopbackServer) -> None:
    """A loop closed the documented way (shutdown_asyncgens, then close) releases its pool at once."""
    client = AsyncLMStudioClient(chat_server.url, model="loop-model")
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    for _ in range(10):
        loop = asyncio.new_event_loop()
        loops.append(weakref.ref(loop))
        loop.run_until_complete(client.chat([{"role": "user", "content": "hi"}]))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        del loop
    gc.collect()
    assert len(client._pools) == 0
    assert sum(ref() is not None for ref in loops) == 0
    assert chat_server.wait_idle() == 0


# Without shutdown_asyncgens nothing can await the pool's close any more: its sockets are
# left to the garbage collector, which warns about them; what is checked here is that the
# client does not keep such loops.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")
def test_loops_closed_without_shutdown_are_forgotten_on_next_use(chat_server: LoopbackServer) -> None:
    """A loop closed without asyncio's shutdown step is dropped when the next loop makes its pool."""
    client = AsyncLMStudioClient(chat_server.url, model="loop-model")
    for _ in range(10):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(client.chat([{"role": "user", "content": "hi"}]))
        loop.close()
        assert len(client._pools) == 1
        del loop
    del client
    gc.collect()  # here, so the garbage collector's warnings about those sockets stay in this test


def test_pool_is_reused_within_a_loop(chat_server: LoopbackServer) -> None:
    """Inside one loop every call shares one pool (and one connection)."""
    client = AsyncLMStudioClient(chat_server.url, model="loop-model")

    async def several() -> None:
        for _ in range(5):
            await client.chat([{"role": "user", "content": "hi"}])
        assert len(client._pools) == 1

    asyncio.run(several())
    assert len(client._pools) == 0  # released when asyncio.run closed the loop
    assert chat_server.accepted == 1
