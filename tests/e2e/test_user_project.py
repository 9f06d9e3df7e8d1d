"""A user's own test suite records its chains against the real local server, then replays offline.

tests/user_project is copied to a temporary folder and run as a separate pytest session, the
way a user runs theirs, with our pytest plugin (entry point) providing ``lmstudio_cassette``:
first with ``--lmstudio-record`` against the real llama.cpp server, then twice with the network
disabled (pytest-socket) and no server address at all. Both replays must give what the
recording gave, and the cassettes must hold no key, token or machine path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lmstudio_adapters.testing import CHAT_MODEL, EMBEDDING_MODEL, LocalModelServer

pytestmark = pytest.mark.e2e

USER_PROJECT = Path(__file__).resolve().parent.parent / "user_project"
SECRET = "sk-lm-user-secret-0000"


def run_user_pytest(project: Path, results: Path, env: dict[str, str], *args: str) -> None:
    environment = {**env, "USER_PROJECT_RESULTS": str(results)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", str(project), *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_record_then_replay_offline(real_server: LocalModelServer, tmp_path: Path) -> None:
    """Record once, replay twice without network: identical results, clean cassettes."""
    project = tmp_path / "user_project"
    shutil.copytree(USER_PROJECT, project)
    base_env = {key: value for key, value in os.environ.items() if not key.startswith("LM_STUDIO_")}
    base_env.update({"LM_STUDIO_MODEL": CHAT_MODEL, "EMBEDDING_MODEL": EMBEDDING_MODEL})
    record_env = {**base_env, "LM_STUDIO_URL": real_server.base_url, "LM_STUDIO_API_KEY": SECRET}
    run_user_pytest(project, tmp_path / "recorded.jsonl", record_env, "--lmstudio-record")
    cassettes = sorted((project / "cassettes" / "test_my_chains").glob("*.yaml"))
    assert [c.stem for c in cassettes] == [
        "test_langchain_chain",
        "test_llama_index_query_engine",
        "test_selector_decides_the_same",
    ]
    for cassette in cassettes:
        text = cassette.read_text()
        assert SECRET not in text
        assert "authorization" not in text.lower()
        assert str(Path.home()) not in text
        assert f":{real_server.port}" not in text
    for run in (1, 2):
        run_user_pytest(project, tmp_path / f"replay{run}.jsonl", base_env, "--disable-socket", "--allow-unix-socket")
    recorded = (tmp_path / "recorded.jsonl").read_text()
    assert recorded
    assert (tmp_path / "replay1.jsonl").read_text() == recorded
    assert (tmp_path / "replay2.jsonl").read_text() == recorded
    assert '"local"' in recorded
