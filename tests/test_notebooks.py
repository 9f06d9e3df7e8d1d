"""The notebooks in notebooks/ run top to bottom on the project's server and on a bare one.

Each notebook is executed in a fresh kernel (nbclient), the files on disk are not modified,
and saved outputs come from ``python .ci/notebooks.py``. Two servers, as two users have:

* the project's server preset (``LocalModelServer``: a chat, an embedding and a completion
  model), with an OpenAI-compatible stand-in "cloud" for the local-or-cloud notebook;
* a bare llama.cpp server serving one chat model under an id no notebook knows, with no
  embedding model and no cloud configured (no key): the notebooks pick the model from what
  the server lists, and the local-or-cloud notebook shows its decisions and skips the cloud.

With ``LMSTUDIO_ADAPTERS_PERTURB`` set, both servers sample every answer (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from lmstudio_adapters.testing import LocalModelServer, Perturbation, SamplingProxy
from tests.test_notebook_sources import _runner

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
BARE_MODEL = "my-only-chat-model"

pytestmark = [
    pytest.mark.e2e,
    # Jupyter's kernel machinery warns about its own transport and zmq internals.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]


class BareServer(LocalModelServer):
    """llama.cpp serving only SmolLM2 as ``my-only-chat-model``: no embedding model, no other id."""

    @property
    def log_path(self) -> Path:
        return self.home / "bare-server.log"

    def write_preset(self) -> Path:
        files = self._model_files()
        template = self.home / "chatml-tools-jsonfence.jinja"
        super().write_preset()  # writes the chat template next to the preset
        preset = self.home / "bare-models.ini"
        preset.write_text(
            "version = 1\n\n[*]\nc = 4096\nnp = 1\nt = 1\ntb = 2\ncache-prompt = false\n\n"
            f"[{BARE_MODEL}]\nmodel = {files['chat']}\nchat-template-file = {template}\nload-on-startup = true\n"
        )
        return preset

    def _wait_ready(self, ready_timeout: float) -> None:
        import json
        import time
        import urllib.request

        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/v1/models", timeout=2) as response:
                    states = {m["id"]: m.get("status", {}).get("value") for m in json.loads(response.read())["data"]}
                if states.get(BARE_MODEL) == "loaded":
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the bare llama.cpp server did not start:\n{self.log_tail()}")


@pytest.fixture(scope="module")
def bare_server(real_server: Any) -> Iterator[Any]:
    """The bare server (after the preset one, so both share the installed binary and model)."""
    perturbation = Perturbation.from_env()
    with BareServer() as srv:
        if perturbation is None:
            yield srv
            return
        with SamplingProxy(srv.base_url, perturbation) as proxy:
            yield proxy


def test_all_four_notebooks_exist() -> None:
    """The four documented notebooks are there, each saying first how to install what it needs."""
    assert [name[:2] for name in NAMES] == ["01", "02", "03", "04"]
    for name in NAMES:
        first = nbformat.read(NOTEBOOKS / name, as_version=4).cells[0]
        assert first.cell_type == "markdown"
        assert '.[notebooks]"' in first.source, name
        assert "lmstudio-adapters[notebooks]" in first.source, name


def _execute(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    saved = nbformat.read(NOTEBOOKS / name, as_version=4)
    fresh = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        fresh, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    for before, after in zip(saved.cells, fresh.cells, strict=True):
        if after.cell_type != "code":
            continue
        assert not [o for o in after.outputs if o.output_type == "error"], after.source
        assert bool(before.outputs) == bool(after.outputs), after.source
    return fresh


def _text(notebook: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_on_the_project_server(name: str, real_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs without error; every code cell that printed before still prints."""
    _execute(name, _runner().notebook_env(real_server.base_url, real_server.base_url), monkeypatch)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_on_a_bare_server(name: str, bare_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One chat model under an unknown id, no embedding model, no cloud key: every notebook still runs."""
    for variable in ("LM_STUDIO_MODEL", "LM_STUDIO_EMBEDDING_MODEL", "LM_STUDIO_FALLBACK", "CLOUD_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    notebook = _execute(name, _runner().notebook_env(bare_server.base_url, None), monkeypatch)
    text = _text(notebook)
    assert f"chat model {BARE_MODEL}" in text
    if name.startswith("03"):
        assert "cloud (openai)" in text  # the decision is shown...
        assert "skipped" in text  # ...and the cloud call it would need is not made
        assert f"{bare_server.base_url}: LMStudioChatModel ->" in text
