"""One client (and so one connection pool) per configuration, shared by every adapter.

A LangChain model and a LlamaIndex LLM with the same settings send through the same
connections; constructing a model does no I/O (clients are made on first use).
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from lmstudio_adapters._async_client import AsyncLMStudioClient
from lmstudio_adapters._client import LMStudioClient

if TYPE_CHECKING:
    from pydantic import SecretStr

    from lmstudio_adapters._config import LMStudioSettings

__all__ = ["ClientKey", "client_key", "shared_async_client", "shared_client"]


class ClientKey(NamedTuple):
    """Everything that makes two clients different."""

    base_url: str
    api_key: str | None
    timeout: float
    max_retries: int
    parse_think_tags: bool = True
    stream_usage: bool = True
    timeout_source: str = ""
    """``LM_STUDIO_TIMEOUT=... (ms)`` when the timeout comes from the environment, else empty."""
    max_connections: int | None = None


def client_key(
    settings: LMStudioSettings,
    *,
    base_url: str,
    api_key: SecretStr | None,
    timeout: float | None,
    max_retries: int | None,
    parse_think_tags: bool = True,
    stream_usage: bool = True,
    max_connections: int | None = None,
) -> ClientKey:
    """The key of an adapter's shared client: its own values, else the settings' defaults."""
    return ClientKey(
        base_url=base_url,
        api_key=api_key.get_secret_value() if api_key is not None else None,
        timeout=timeout if timeout is not None else settings.timeout,
        max_retries=max_retries if max_retries is not None else settings.max_retries,
        parse_think_tags=parse_think_tags,
        stream_usage=stream_usage,
        timeout_source=settings.timeout_source if timeout is None else "",
        max_connections=max_connections if max_connections is not None else settings.max_connections,
    )


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
        "max_connections": key.max_connections,
    }


ClientT = TypeVar("ClientT", LMStudioClient, AsyncLMStudioClient)


def _sourced(client: ClientT, key: ClientKey) -> ClientT:
    # The timeout is passed as a number, so errors would blame `timeout=`: name the variable instead.
    if key.timeout_source:
        client.timeout_source = key.timeout_source
    return client


def _shared(clients: dict[ClientKey, ClientT], make: type[ClientT], key: ClientKey) -> ClientT:
    client = clients.get(key)
    if client is None:
        with _lock:
            client = clients.get(key)
            if client is None:
                client = clients[key] = _sourced(make(key.base_url, **_kwargs(key)), key)  # type: ignore[arg-type]
    return client


def shared_client(key: ClientKey) -> LMStudioClient:
    """The process-wide sync client for ``key``."""
    return _shared(_sync, LMStudioClient, key)


def shared_async_client(key: ClientKey) -> AsyncLMStudioClient:
    """The process-wide async client for ``key`` (one pool per event loop inside it)."""
    return _shared(_async, AsyncLMStudioClient, key)


@atexit.register
def _close_shared_clients() -> None:
    # Release pooled sockets before interpreter teardown instead of leaving them to the GC.
    for client in list(_sync.values()):
        client.close()
