"""Build the notebooks in notebooks/ from their percent sources, run them, and save them with outputs.

    python .ci/notebooks.py            # against LM_STUDIO_URL if it answers, else the local server

Each notebook's source is the plain Python file beside it, in jupytext's percent format
(``notebooks/01_langchain_quickstart.py`` for ``01_langchain_quickstart.ipynb``): edit that,
then run this. Outputs come from a real run; execution metadata (timings, ids) is stripped so
diffs stay readable. tests/test_notebooks.py executes the saved files on every test run, and
tests/test_notebook_sources.py fails when a saved notebook's cells differ from its source.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# Jupytext's percent format, as far as our sources use it.
CELL_MARKER = re.compile(r"# %%(?P<markdown> \[markdown\])?$")
# A magic is commented out so the source stays valid Python (jupytext's escape): `# %matplotlib inline`.
COMMENTED_MAGIC = re.compile(r"# (%(?:matplotlib|pip|env|load_ext|autoreload|timeit|time)\b.*)$")


def read_percent(path: Path) -> list[tuple[str, str]]:
    """The cells of a percent-format source, as ``("markdown" | "code", source)``.

    ``# %%`` starts a code cell and ``# %% [markdown]`` a markdown cell, whose lines are
    comments (``# text``, ``#`` for an empty line). Blank lines around a cell are not part of it.

    Raises:
        ValueError: text before the first cell, or a markdown line that is not a comment.
    """
    cells: list[tuple[str, list[str]]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        marker = CELL_MARKER.match(line)
        if marker:
            cells.append(("markdown" if marker["markdown"] else "code", []))
        elif not cells:
            if line.strip():
                raise ValueError(f"{path}:{number}: text before the first '# %%' cell marker")
        elif cells[-1][0] == "markdown":
            if line and not line.startswith("#"):
                raise ValueError(f"{path}:{number}: a markdown cell's lines are comments ('# text'), not {line!r}")
            cells[-1][1].append(line[2:] if line.startswith("# ") else line[1:])
        else:
            magic = COMMENTED_MAGIC.match(line)
            cells[-1][1].append(magic[1] if magic else line)
    return [(kind, "\n".join(lines).strip("\n")) for kind, lines in cells]


def sources() -> dict[str, Path]:
    """Each notebook's name (``01_langchain_quickstart.ipynb``) and its percent source beside it."""
    return {path.with_suffix(".ipynb").name: path for path in sorted(NOTEBOOKS.glob("*.py"))}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` from its percent source, without outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    for kind, source in read_percent(sources()[name]):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        notebook.cells.append(cell)
    return notebook


def strip_metadata(notebook: nbformat.NotebookNode) -> None:
    """Remove execution timings and ids so saved notebooks diff cleanly."""
    notebook.metadata.pop("widgets", None)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"
        cell.metadata = {}
        if cell.cell_type == "code":
            cell.execution_count = None
            merged: list[nbformat.NotebookNode] = []
            for output in cell.outputs:
                output.pop("execution_count", None)
                if isinstance(output.get("metadata"), dict):
                    output["metadata"] = {}
                previous = merged[-1] if merged else None
                if (
                    previous is not None
                    and output.output_type == previous.output_type == "stream"
                    and output.name == previous.name
                ):
                    previous.text += output.text  # one block per stream, not one per streamed token
                else:
                    merged.append(output)
            cell.outputs = merged


def run(notebook: nbformat.NotebookNode, env: dict[str, str], timeout: int = 120) -> nbformat.NotebookNode:
    """Execute in a fresh kernel with ``env`` (the notebook directory as working directory)."""
    os.environ.update(env)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return notebook


def notebook_env(url: str, cloud_url: str | None) -> dict[str, str]:
    """The environment the notebooks run in: LM Studio at ``url``; a stand-in "cloud" at ``cloud_url``.

    The model ids are not set: the notebooks pick them from what the server lists. Without
    ``cloud_url`` no fallback is configured, as for a user with no cloud key.
    """
    from lmstudio_adapters.testing import CHAT_MODEL

    env = {"LM_STUDIO_URL": url, "MPLBACKEND": "Agg"}
    if cloud_url is not None:
        env.update({"LM_STUDIO_FALLBACK": f"openai-compatible:{CHAT_MODEL}", "CLOUD_BASE_URL": f"{cloud_url}/v1"})
    return env


def main() -> int:
    """Start the local server (unless LM_STUDIO_URL answers), run every notebook, save it."""
    from lmstudio_adapters import LMStudioClient
    from lmstudio_adapters.testing import LocalModelServer, Perturbation, SamplingProxy

    # The sources first, so the cells are built from formatted code, as ruff formats the saved notebooks.
    subprocess.run([sys.executable, "-m", "ruff", "format", *map(str, sources().values())], check=True)

    url = os.environ.get("LM_STUDIO_URL")
    perturbation = Perturbation.from_env()
    with LocalModelServer() as server, contextlib.ExitStack() as stack:
        if not url or not LMStudioClient(url).ping():
            url = server.base_url
        cloud = server.base_url
        if perturbation is not None:  # LMSTUDIO_ADAPTERS_PERTURB: sample every answer (see testing/_perturb.py)
            url = stack.enter_context(SamplingProxy(url, perturbation)).base_url
            cloud = stack.enter_context(SamplingProxy(cloud, perturbation)).base_url
        env = notebook_env(url, cloud)
        for name in sources():
            notebook = run(build(name), env)
            strip_metadata(notebook)
            nbformat.write(notebook, NOTEBOOKS / name)
            print("wrote", NOTEBOOKS / name)
    subprocess.run([sys.executable, "-m", "ruff", "format", str(NOTEBOOKS)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
