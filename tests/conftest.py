"""Shared fixtures: a clean environment, loopback servers and the real local server.

Cassette tests use the package's own pytest plugin, as a user's tests do: they ask for
``lmstudio_cassette`` (and ``lmstudio_url``), and pyproject's ``lmstudio_cassette_dir``
puts the cassettes in the top-level ``cassettes/<test module>/``. They replay by default and
never touch the network; ``.ci/record`` re-records them (``--lmstudio-record``) against the
real local llama.cpp server or against the LM Studio named by ``LM_STUDIO_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lmstudio_adapters.testing import LocalModelServer, Perturbation, SamplingProxy
from tests import loopback

with loopback.closed_port() as _unused:
    _NOWHERE = int(_unused.rsplit(":", 1)[1])  # a port nothing listens on


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's LM_STUDIO_* variables or cloud keys."""
    for name in list(os.environ):
        if name.startswith("LM_STUDIO_") or name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
    # Discovery (doctor, servers, the selector's fallback search) looks only where a test says:
    # never at whatever listens on this machine's real LM Studio, Ollama or vLLM ports.
    monkeypatch.setenv("LM_STUDIO_DISCOVER_PORTS", str(_NOWHERE))


@pytest.fixture
def server() -> Iterator[loopback.LoopbackServer]:
    """A scripted loopback server, stopped after the test."""
    with loopback.serve() as srv:
        yield srv


@pytest.fixture(scope="session")
def real_server() -> Iterator[LocalModelServer | SamplingProxy]:
    """The real llama.cpp server with real small models (installed on first use, about 15 s).

    With ``LMSTUDIO_ADAPTERS_PERTURB=<seed>[:<temperature>]`` set, the tests get a proxy in
    front of it that makes every generation sample at that temperature with that seed (see
    ``lmstudio_adapters.testing.SamplingProxy``): the e2e tier and the notebooks must pass
    whatever the model writes.
    """
    perturbation = Perturbation.from_env()
    with LocalModelServer() as srv:
        if perturbation is None:
            yield srv
            return
        with SamplingProxy(srv.base_url, perturbation) as proxy:
            yield proxy


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply a module's ``MODEL_LIMITS`` ({test id: reason}) as strict xfails, per parametrised item.

    Standard-suite tests that need a decision the recorded 135M model cannot make are listed
    there with the exact reason; marking the collected item (rather than overriding the
    method) keeps the passing parametrisations of the same test strict passes.
    """
    for item in items:
        limits = getattr(getattr(item, "module", None), "MODEL_LIMITS", None)
        if limits and item.name in limits:
            item.add_marker(pytest.mark.xfail(reason=limits[item.name], strict=True))
