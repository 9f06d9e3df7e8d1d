"""pytest plugin (entry point ``lmstudio_adapters``): fixtures for testing your own chains.

Everything is opt-in: the fixtures do nothing until a test asks for them.

* ``lmstudio_local_server``: a real llama.cpp server with small models on 127.0.0.1
  (session-scoped, stopped at the end of the session).
* ``lmstudio_vcr_config``: the vcrpy settings of :mod:`lmstudio_adapters.testing.cassettes`;
  return it from your ``vcr_config`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lmstudio_adapters.testing._server import LocalModelServer
from lmstudio_adapters.testing.cassettes import BODY_MATCHER, body_matcher, vcr_config_dict


@pytest.fixture(scope="session")
def lmstudio_local_server() -> Iterator[LocalModelServer]:
    """A real local model server speaking LM Studio's OpenAI-compatible routes."""
    with LocalModelServer() as server:
        yield server


@pytest.fixture(scope="session")
def lmstudio_vcr_config() -> dict[str, Any]:
    """Vcrpy settings that match on method, path and body and scrub secrets and paths."""
    return vcr_config_dict()


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the body matcher that ``lmstudio_vcr_config`` uses (pytest-recording hook)."""
    vcr.register_matcher(BODY_MATCHER, body_matcher)
