"""Each notebook in notebooks/ is built from the percent-format source beside it, and they agree.

Fast and server-free: it compares the saved ``.ipynb`` cells with what ``.ci/notebooks.py``
builds from the ``.py`` source, so nobody edits one and forgets the other.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))


def _runner() -> Any:
    spec = importlib.util.spec_from_file_location("notebooks_runner", ROOT / ".ci" / "notebooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_every_notebook_has_its_source_beside_it() -> None:
    assert NAMES
    assert sorted(_runner().sources()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_saved_notebook_matches_its_source(name: str) -> None:
    """The saved cells are the source's cells: edit ``notebooks/<name>.py``, then run ``python .ci/notebooks.py``."""
    saved = _cells(nbformat.read(NOTEBOOKS / name, as_version=4))
    built = _cells(_runner().build(name))
    source = Path(name).with_suffix(".py")
    assert len(saved) == len(built), f"notebooks/{name} has {len(saved)} cells, notebooks/{source} {len(built)}"
    for index, (was, now) in enumerate(zip(saved, built, strict=True)):
        assert was == now, f"cell {index} of notebooks/{name} differs from notebooks/{source}"


def test_every_notebook_starts_from_the_same_setup() -> None:
    """The setup cell (which server, which models) is written once per notebook: the copies agree."""
    notebooks = [_cells(nbformat.read(NOTEBOOKS / name, as_version=4)) for name in NAMES]
    setups = [next(source for kind, source in cells if kind == "code") for cells in notebooks]
    shortest = min(setups, key=len)
    assert "MODEL = " in shortest
    for name, setup in zip(NAMES, setups, strict=True):
        assert setup.startswith(shortest), name  # a notebook may add lines after it


def test_the_reader_reads_the_percent_format(tmp_path: Path) -> None:
    source = tmp_path / "nb.py"
    source.write_text(
        "\n# %% [markdown]\n# # Title\n#\n#   indented text\n\n"
        "# %%\nimport os\n\n# a comment\nprint(os.sep)\n\n\n"
        "# %%\n# %matplotlib inline\nx = 1  # %d is not a magic\n"
    )
    assert _runner().read_percent(source) == [
        ("markdown", "# Title\n\n  indented text"),
        ("code", "import os\n\n# a comment\nprint(os.sep)"),
        ("code", "%matplotlib inline\nx = 1  # %d is not a magic"),
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x = 1\n# %%\ny = 2\n", "text before the first '# %%' cell marker"),
        ("# %% [markdown]\n# Title\nnot a comment\n", "a markdown cell's lines are comments"),
    ],
)
def test_the_reader_refuses_what_it_would_drop(tmp_path: Path, text: str, error: str) -> None:
    source = tmp_path / "nb.py"
    source.write_text(text)
    with pytest.raises(ValueError, match=error):
        _runner().read_percent(source)
