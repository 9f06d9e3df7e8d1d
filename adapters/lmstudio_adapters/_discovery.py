"""Find the model servers listening on this machine, and say what each one is.

All ports are probed at once on one event loop; the whole call ends within ``timeout``
(default ``LM_STUDIO_PROBE_TIMEOUT``) plus a few milliseconds, however many ports are closed,
silent or trickling bytes: what has not answered by then is cancelled and left out. The
rules that name a server from its answers live in ``_identify`` (no I/O there).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from lmstudio_adapters._checks import check_timeout
from lmstudio_adapters._config import LMStudioSettings, current_settings
from lmstudio_adapters._core import shared_tls_context
from lmstudio_adapters._errors import ConfigError
from lmstudio_adapters._identify import (
    GREETING,
    IDENTITY_ROUTES,
    MODELS,
    Answer,
    LocalServer,
    identify,
    is_lmstudio_greeting,
    model_ids,
    ollama_tags,
)
from lmstudio_adapters._version import __version__

__all__ = [
    "DEFAULT_PORTS",
    "PORTS_ENV",
    "LocalServer",
    "adescribe_server",
    "adiscover",
    "default_ports",
    "describe_server",
    "discover",
]

#: LM Studio's REST server: 1234 unless the user changes it (lmstudio-ai/lms
#: src/createClient.ts ``DEFAULT_SERVER_PORT = 1234``; LM Studio docs, REST quickstart).
LMSTUDIO_PORT = 1234
#: The ports the official SDKs try with ``GET /lmstudio-greeting`` when no host is given
#: (lmstudio-ai/lmstudio-python src/lmstudio/_api_server_ports.py ``default_api_ports``,
#: generated from lmstudio-js; probed by ``json_api.py`` ``_iter_default_api_hosts``).
LMSTUDIO_SDK_PORTS = (41343, 52993, 16141, 39414, 22931)
#: Documented default ports of the other local servers; what answers there is identified
#: by its routes, never by the port.
OTHER_PORTS = (
    11434,  # Ollama: OLLAMA_HOST defaults to 127.0.0.1:11434 (Ollama FAQ)
    8080,  # llama.cpp llama-server --port default 8080 (tools/server/README.md); also llamafile
    8000,  # vLLM `vllm serve --port` default 8000 (vLLM CLI docs)
    1337,  # Jan local API server default http://127.0.0.1:1337 (jan.ai/docs/local-api)
    30000,  # SGLang launch_server default port 30000 (docs.sglang.io quickstart)
)
DEFAULT_PORTS = (LMSTUDIO_PORT, *LMSTUDIO_SDK_PORTS, *OTHER_PORTS)
#: Replaces the default port list (comma-separated; ``LMStudioSettings.discover_ports``), for
#: unusual setups and for tests that must not depend on what listens on this machine's real ports.
PORTS_ENV = "LM_STUDIO_DISCOVER_PORTS"

T = TypeVar("T")

_MAX_BODY = 1 << 20  # a model list of a thousand models is ~100 KB; more is not a model server
_MARGIN = 0.05  # seconds granted to cancelled probes to unwind


def default_ports(base_url: str | None = None, settings: LMStudioSettings | None = None) -> tuple[int, ...]:
    """The ports probed by default: the port of ``base_url`` (``LM_STUDIO_URL``) first, then the list above.

    ``LM_STUDIO_DISCOVER_PORTS`` (``settings.discover_ports``) replaces that list.

    Raises:
        ConfigError: ``LM_STUDIO_DISCOVER_PORTS`` is not a comma-separated list of ports.
    """
    configured = (settings or current_settings()).discover_ports
    ports: list[int] = []
    if base_url:
        parts = urlsplit(base_url)
        ports.append(parts.port or (443 if parts.scheme == "https" else 80))
    ports += DEFAULT_PORTS if configured is None else configured
    return tuple(dict.fromkeys(ports))


async def _get(client: httpx.AsyncClient, url: str) -> Answer:
    """One GET, body capped; raises httpx errors (a connect error means nothing listens)."""
    async with client.stream("GET", url) as response:
        content = bytearray()
        async for chunk in response.aiter_bytes():
            content += chunk
            if len(content) > _MAX_BODY:
                return Answer(response.status_code)
    try:
        return Answer(response.status_code, json.loads(bytes(content)))
    except ValueError:
        return Answer(response.status_code)


async def _ask(client: httpx.AsyncClient, url: str) -> Answer | None:
    try:
        return await _get(client, url)
    except httpx.HTTPError:
        return None


async def _probe(client: httpx.AsyncClient, root: str) -> LocalServer | None:
    """What answers at ``root``, or None (nothing listens, or it is not a model server)."""
    try:
        greeting = await _get(client, root + GREETING)
    except httpx.HTTPError:
        return None
    answers: dict[str, Answer | None] = {GREETING: greeting}
    # LM Studio logs every unknown route it is asked: once it says who it is, ask nothing else.
    routes = (MODELS,) if is_lmstudio_greeting(greeting) else IDENTITY_ROUTES
    replies = await asyncio.gather(*(_ask(client, root + route) for route in routes))
    answers.update(zip(routes, replies, strict=True))
    found = identify(answers)
    if found is None:
        return None
    kind, version = found
    models = model_ids(answers.get(MODELS))
    if models is None and kind == "ollama":
        models = ollama_tags(await _ask(client, root + "/api/tags"))
    return LocalServer(root, kind, models or (), version)


def _client(timeout: float, *, local: bool) -> httpx.AsyncClient:
    # A port scan of this machine never goes through HTTP(S)_PROXY; a configured URL is reached
    # the way the LM Studio client reaches it.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        trust_env=not local,
        verify=shared_tls_context(),  # built once per process, not once per call
        headers={"Accept": "application/json", "User-Agent": f"lmstudio-adapters/{__version__}"},
        follow_redirects=False,
    )


async def _probe_all(roots: Iterable[str], timeout: float, *, local: bool = True) -> list[LocalServer | None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout  # from the start: setting up the client counts too
    roots = list(roots)
    async with _client(timeout, local=local) as client:
        tasks = [asyncio.ensure_future(_probe(client, root)) for root in roots]
        if not tasks:
            return []
        # The hard deadline: httpx's timeout is per read, so a server trickling bytes could
        # otherwise hold a probe for ever.
        _, pending = await asyncio.wait(tasks, timeout=max(deadline - loop.time(), 0.0))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=_MARGIN)
    return [task.result() if task.done() and not task.cancelled() and not task.exception() else None for task in tasks]


def _check_timeout(timeout: float | None) -> float:
    if timeout is None:
        return current_settings().probe_timeout
    return check_timeout(timeout)


def _roots(host: str, ports: Iterable[int] | None) -> list[str]:
    chosen = default_ports(current_settings().base_url) if ports is None else tuple(dict.fromkeys(ports))
    for port in chosen:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"ports contains {port!r}: expected port numbers from 1 to 65535.")
    name = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return [f"http://{name}:{port}" for port in chosen]


async def adiscover(
    *, host: str = "127.0.0.1", ports: Iterable[int] | None = None, timeout: float | None = None
) -> list[LocalServer]:
    """Find the model servers listening on ``host``; the async form of :func:`discover`."""
    roots = _roots(host, ports)
    found = await _probe_all(roots, _check_timeout(timeout))
    return [server for server in found if server is not None]


def _run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``factory()`` to completion, also when the caller is inside an event loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lmstudio-discover") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def discover(
    *, host: str = "127.0.0.1", ports: Iterable[int] | None = None, timeout: float | None = None
) -> list[LocalServer]:
    """Find the model servers listening on ``host``: LM Studio, llama.cpp, Ollama, vLLM, others.

    Every port is probed at once, and the call returns within ``timeout`` plus a few
    milliseconds whatever the ports do. Each server is named by the routes it documents
    (LM Studio's ``/lmstudio-greeting``, Ollama's ``/api/version``, llama.cpp's ``/props``,
    vLLM's ``/version``), never by its port.

    Args:
        host: Where to look (default ``127.0.0.1``).
        ports: The ports to probe (default: the port of ``LM_STUDIO_URL``, LM Studio's 1234
            and the ports its SDKs try, then the default ports of Ollama, llama.cpp, vLLM,
            Jan and SGLang; ``LM_STUDIO_DISCOVER_PORTS`` replaces that list).
        timeout: Seconds for the whole call (default ``LM_STUDIO_PROBE_TIMEOUT``).

    Returns:
        The servers found, in port order.

    Raises:
        ConfigError: ``ports``, ``timeout`` or ``LM_STUDIO_DISCOVER_PORTS`` is invalid.
    """
    roots = _roots(host, ports)
    wait = _check_timeout(timeout)
    found = _run_sync(lambda: _probe_all(roots, wait))
    return [server for server in found if server is not None]


def describe_server(base_url: str, *, timeout: float | None = None) -> LocalServer | None:
    """What the server at ``base_url`` (a server root) is, or None when it is not a model server."""
    wait = _check_timeout(timeout)
    return _run_sync(lambda: _probe_all([base_url], wait, local=False))[0]


async def adescribe_server(base_url: str, *, timeout: float | None = None) -> LocalServer | None:
    """The async form of :func:`describe_server`."""
    return (await _probe_all([base_url], _check_timeout(timeout), local=False))[0]
