"""Virtual environments with only one documented install set each, cached between runs.

Each set is what a user would type: ``pip install -e ".[langchain]" langchain-openai`` and so
on, into a venv of its own (no system site-packages), keyed by the set, the project's declared
dependencies, the checkout and the Python version, so a run reuses a venv until one of those
changes. ``.ci/run`` builds them before the tests (``python -m tests.installsets.venvs``), the
only step that downloads; the tests build a missing one the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CACHE = Path(
    os.environ.get("LMSTUDIO_ADAPTERS_INSTALLSETS_CACHE", Path.home() / ".cache" / "lmstudio-adapters" / "venvs")
)

#: install set name -> (extras of this project, further packages), as the README tells users to install.
INSTALL_SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "core": ("", ()),
    "langchain": ("langchain", ()),
    "langchain+openai": ("langchain", ("langchain-openai>=1.0",)),
    "llama-index+openai": ("llama-index", ("llama-index-llms-openai>=0.6",)),
    "cloud": ("cloud", ()),
    "all": ("all", ()),
}


def _declared_dependencies() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10: any change to the file rebuilds
        return text
    project = tomllib.loads(text)["project"]
    return json.dumps([project.get("dependencies"), project.get("optional-dependencies")], sort_keys=True)


def venv_dir(name: str) -> Path:
    """Where the venv of install set ``name`` lives."""
    extra, packages = INSTALL_SETS[name]
    key = json.dumps([name, extra, packages, _declared_dependencies(), sys.version])
    return CACHE / f"{_prefix(name)}{_digest(key)}"


def _prefix(name: str) -> str:
    # One checkout's venvs of one set share a prefix; other checkouts keep theirs.
    return f"{name.replace('+', '-')}.{_digest(str(ROOT))}."


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def python_of(venv: Path) -> Path:
    """The venv's interpreter."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure(name: str) -> Path:
    """The interpreter of install set ``name``'s venv, built first if it is not there yet.

    Raises:
        RuntimeError: pip failed (its output is in the message).
    """
    venv = venv_dir(name)
    if (venv / "ready").exists():
        return python_of(venv)
    extra, packages = INSTALL_SETS[name]
    shutil.rmtree(venv, ignore_errors=True)  # a build cut short leaves no "ready" marker: start again
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = f"{ROOT}[{extra}]" if extra else str(ROOT)
    command = [sys.executable, "-m", "pip", "--python", str(python_of(venv)), "install", "-q", "-e", target]
    done = subprocess.run([*command, *packages], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip install for install set {name!r} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    (venv / "ready").write_text(json.dumps({"extra": extra, "packages": packages}))
    for stale in CACHE.glob(f"{_prefix(name)}*"):
        if stale != venv:
            shutil.rmtree(stale, ignore_errors=True)
    return python_of(venv)


if __name__ == "__main__":
    for set_name in INSTALL_SETS:
        print(f"{set_name}: {ensure(set_name)}", flush=True)
