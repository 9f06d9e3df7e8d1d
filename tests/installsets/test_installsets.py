"""The package in venvs holding only one documented install set each (see venvs.py).

What a user with only ``[langchain]`` (or core only, or ``[langchain]`` + ``langchain-openai``…)
sees: the entry points import or name the extra to install; ``providers.available`` reports
exactly what builds; the selectors build the cloud model through its integration class, or
raise a ``ConfigError`` naming the ``pip install``.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.installsets import venvs

pytestmark = pytest.mark.installsets

PROBE = Path(__file__).with_name("probe_install.py")
LC_EXTRA = 'pip install "lmstudio-adapters[langchain]"'
LI_EXTRA = 'pip install "lmstudio-adapters[llama-index]"'
LMSTUDIO_LC = ["lmstudio/chat", "lmstudio/embeddings"]
LMSTUDIO_LI = ["lmstudio/embedding", "lmstudio/llm"]
OPENAI_LC = ["openai-compatible/chat", "openai-compatible/embeddings", "openai/chat", "openai/embeddings"]
OPENAI_LI = ["openai-compatible/embedding", "openai-compatible/llm", "openai/embedding", "openai/llm"]

#: install set -> the (provider/kind) pairs that must be ready, and nothing else.
READY: dict[str, list[str]] = {
    "core": [],
    "langchain": LMSTUDIO_LC,
    "langchain+openai": [*LMSTUDIO_LC, *OPENAI_LC],
    "llama-index+openai": [*LMSTUDIO_LI, "openai/llm"],
    "cloud": [*LMSTUDIO_LC, *LMSTUDIO_LI, "anthropic/chat", "anthropic/llm", *OPENAI_LC, *OPENAI_LI],
    "all": [*LMSTUDIO_LC, *LMSTUDIO_LI],
}


@functools.cache
def probe(name: str) -> dict[str, Any]:
    """The probe's report from install set ``name``'s venv (run once per session)."""
    python = venvs.ensure(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LM_STUDIO_", "PYTHON"))}
    env = {k: v for k, v in env.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL")}
    done = subprocess.run(
        [str(python), str(PROBE)], capture_output=True, text=True, timeout=300, env=env, cwd=PROBE.parent, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def assert_names_extra(found: Any, install: str) -> None:
    assert isinstance(found, dict), f"expected an error naming {install}, got {found!r}"
    assert found["type"] == "MissingDependencyError"
    assert found["import_error"]
    assert found["config_error"]
    assert install in found["message"]


@pytest.mark.parametrize("name", list(venvs.INSTALL_SETS))
def test_install_set(name: str) -> None:
    """Availability equals what builds; every failure names its pip install; entry points name their extra."""
    report = probe(name)
    assert Path(report["package"]).is_relative_to(venvs.ROOT), "the venv must use this checkout"
    registry = report["registry"]
    assert registry["mismatches"] == []
    assert registry["ready"] == sorted(READY[name])
    installed = report["installed"]
    entry, selected = report["entry_points"], report["selectors"]
    if installed["langchain_core"]:
        assert entry["langchain"] == "ok"
    else:
        assert_names_extra(entry["langchain"], LC_EXTRA)
        assert_names_extra(selected["select_chat_model"], LC_EXTRA)
    if installed["llama_index.core"]:
        assert entry["llama_index"] == "ok"
    else:
        assert_names_extra(entry["llama_index"], LI_EXTRA)
        assert_names_extra(selected["select_llm"], LI_EXTRA)
    if "openai/chat" in READY[name]:
        assert selected["select_chat_model"] == {"class": "ChatOpenAI"}
    elif installed["langchain_core"]:
        assert_names_extra(selected["select_chat_model"], "pip install langchain-openai")
    if "openai/llm" in READY[name]:
        assert selected["select_llm"] == {"class": "OpenAI"}
    elif installed["llama_index.core"]:
        assert_names_extra(selected["select_llm"], "pip install llama-index-llms-openai")


def test_langchain_openai_without_langchain() -> None:
    """The issue's case: langchain-core + langchain-openai, no `langchain` package: ChatOpenAI is built."""
    report = probe("langchain+openai")
    assert report["installed"]["langchain"] is False
    assert report["selectors"]["select_chat_model"] == {"class": "ChatOpenAI"}
    assert "pip install langchain langchain-google-genai" in report["registry"]["reasons"]["google_genai/chat"]
