"""One client (and so one connection pool) per configuration, shared by every adapter.

A LangChain model and a LlamaIndex LLM with the same settings send through the same
connections; constructing a model does no I/O (clients are made on first use).
"""

from __future__ import annotations

import atexit
import threading
from typing import NamedTuple

from lmstudio_adapters._async_client import AsyncLMStudioClient
from lmstudio_adapters._client import LMStudioClient

__all__ = ["ClientKey", "shared_async_client", "shared_client"]


class ClientKey(NamedTuple):
    """Everything that makes two clients different."""

    base_url: str
    api_key: str | None
    timeout: float
    max_retries: int
    parse_think_tags: bool = True
    stream_usage: bool = True


_lock = threading.Lock()
_sync: dict[ClientKey, LMStudioClient] = {}
_async: dict[ClientKey, AsyncLMStudioClient] = {}


def _kwargs(key: ClientKey) -> dict[str, object]:
    return {
        "api_key": key.api_key,
        "timeout": key.timeout,
        "max_retries": key.max_retries,
        "parse_think_tags": key.parse_think_tags,
        "stream_usage": key.stream_usage,
    }


def shared_client(key: ClientKey) -> LMStudioClient:
    """The process-wide sync client for ``key``."""
    client = _sync.get(key)
    if client is None:
        with _lock:
            client = _sync.get(key)
            if client is None:
                client = _sync[key] = LMStudioClient(key.base_url, **_kwargs(key))  # type: ignore[arg-type]
    return client


def shared_async_client(key: ClientKey) -> AsyncLMStudioClient:
    """The process-wide async client for ``key`` (one pool per event loop inside it)."""
    client = _async.get(key)
    if client is None:
        with _lock:
            client = _async.get(key)
            if client is None:
                client = _async[key] = AsyncLMStudioClient(key.base_url, **_kwargs(key))  # type: ignore[arg-type]
    return client


@atexit.register
def _close_shared_clients() -> None:
    # Release pooled sockets before interpreter teardown instead of leaving them to the GC.
    for client in list(_sync.values()):
        client.close()
