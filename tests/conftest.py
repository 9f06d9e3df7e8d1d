"""Shared fixtures: a clean environment, loopback servers, cassettes and the real local server.

Cassettes replay by default (pytest-recording's ``--record-mode=none``) and never touch the
network. ``.ci/record`` re-records them against the real local llama.cpp server (started by
the session fixture below) or against the LM Studio named by ``LM_STUDIO_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmstudio_adapters.testing import LocalModelServer, Perturbation, SamplingProxy
from lmstudio_adapters.testing.cassettes import vcr_config_dict
from tests import loopback

ROOT = Path(__file__).resolve().parent.parent
REPLAY_URL = "http://localhost:1234"
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


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """Match on method, path and body; scrub secrets, hosts and machine paths."""
    return vcr_config_dict()


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """cassettes/<test module name>/, independent of the working directory."""
    return str(ROOT / "cassettes" / Path(str(request.node.fspath)).stem)


def recording(config: pytest.Config) -> bool:
    """Whether this run records cassettes (any --record-mode but none)."""
    return config.getoption("--record-mode", default="none") not in (None, "none")


@pytest.fixture(scope="session")
def lmstudio_url(request: pytest.FixtureRequest) -> str:
    """Where cassette-backed tests send traffic.

    Replaying: a fixed URL (never contacted). Recording: ``LM_STUDIO_URL`` when set (a real
    LM Studio), else the real local llama.cpp server.
    """
    if not recording(request.config):
        return REPLAY_URL
    configured = os.environ.get("LMSTUDIO_ADAPTERS_RECORD_URL")
    if configured:
        return configured
    server: LocalModelServer = request.getfixturevalue("real_server")
    return server.base_url


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
