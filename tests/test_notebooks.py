"""The notebooks in notebooks/ run top to bottom against the real local model server.

Each notebook is executed in a fresh kernel (nbclient) with LM_STUDIO_URL pointing at the
session's llama.cpp server (``lmstudio_adapters.testing.LocalModelServer``); the files on disk
are not modified. Saved outputs come from ``python .ci/notebooks.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lmstudio_adapters.testing import CHAT_MODEL, EMBEDDING_MODEL, LocalModelServer

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))

pytestmark = [
    pytest.mark.e2e,
    # Jupyter's kernel machinery warns about its own transport and zmq internals.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]


def test_all_four_notebooks_exist() -> None:
    """The four documented notebooks are there."""
    assert [name[:2] for name in NAMES] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, real_server: LocalModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs without error; every code cell that printed before still prints."""
    for key, value in {
        "LM_STUDIO_URL": real_server.base_url,
        "LM_STUDIO_MODEL": CHAT_MODEL,
        "EMBEDDING_MODEL": EMBEDDING_MODEL,
        "LM_STUDIO_FALLBACK": f"openai-compatible:{CHAT_MODEL}",
        "CLOUD_BASE_URL": f"{real_server.base_url}/v1",
        "MPLBACKEND": "Agg",
    }.items():
        monkeypatch.setenv(key, value)
    saved = nbformat.read(NOTEBOOKS / name, as_version=4)
    fresh = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        fresh, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    for before, after in zip(saved.cells, fresh.cells, strict=True):
        if after.cell_type != "code":
            continue
        assert not [o for o in after.outputs if o.output_type == "error"], after.source
        assert bool(before.outputs) == bool(after.outputs), after.source
    assert os.environ["LM_STUDIO_URL"] == real_server.base_url
