"""The README's quick starts run as written against the real local model server.

The code blocks of the "Quick start" section are executed in a subprocess with LM_STUDIO_URL
pointing at the session's llama.cpp server; the README's model ids (a real LM Studio's) are
swapped for the local server's, and nothing else is changed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lmstudio_adapters.testing import CHAT_MODEL, EMBEDDING_MODEL, LocalModelServer

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parent.parent.parent / "README.md"
SWAPS = {"qwen/qwen3-4b": CHAT_MODEL, "text-embedding-nomic-embed-text-v1.5": EMBEDDING_MODEL}


def quick_start_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_three_quick_starts_found() -> None:
    """LangChain, LlamaIndex and the client each have a quick start."""
    assert len(quick_start_blocks()) == 3


@pytest.mark.parametrize("index", range(3), ids=["langchain", "llamaindex", "client"])
def test_quick_start_runs(index: int, real_server: LocalModelServer) -> None:
    """The block runs to the end and prints something."""
    code = quick_start_blocks()[index]
    for old, new in SWAPS.items():
        code = code.replace(old, new)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LM_STUDIO_")}
    env.update({"LM_STUDIO_URL": real_server.base_url, "LM_STUDIO_MODEL": CHAT_MODEL})
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()
