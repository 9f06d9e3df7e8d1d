"""The public surface: exported names, typing marker, and no framework import from the core."""

from __future__ import annotations

import subprocess
import sys
import types
from importlib import resources

import lmstudio_adapters


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists every public name once, sorted, and each exists."""
    exported = lmstudio_adapters.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert hasattr(lmstudio_adapters, name)
    public = {
        name
        for name, value in vars(lmstudio_adapters).items()
        if name[0].isalpha() and not isinstance(value, types.ModuleType)
    }
    assert public <= set(exported)


def test_errors_read_as_public_module() -> None:
    """Tracebacks show lmstudio_adapters.X, not the private module."""
    assert lmstudio_adapters.ModelNotFoundError.__module__ == "lmstudio_adapters"
    assert issubclass(lmstudio_adapters.APITimeoutError, TimeoutError)
    assert issubclass(lmstudio_adapters.ConfigError, ValueError)


def test_py_typed_is_shipped() -> None:
    """The package is marked as typed."""
    assert (resources.files("lmstudio_adapters") / "py.typed").is_file()


def test_core_import_loads_no_framework() -> None:
    """The core, every public name of it loaded, imports neither LangChain nor LlamaIndex."""
    code = (
        "import sys, lmstudio_adapters\n"
        "[getattr(lmstudio_adapters, name) for name in lmstudio_adapters.__all__]\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain', 'llama_index')])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_package_import_loads_names_on_first_use() -> None:
    """import lmstudio_adapters loads the errors only; a name loads its module when first used."""
    code = (
        "import sys, lmstudio_adapters\n"
        "before = {'httpx', 'pydantic'} & set(sys.modules)\n"
        "client = lmstudio_adapters.LMStudioClient\n"
        "print(sorted(before), client.__module__, 'httpx' in sys.modules, 'LMStudioClient' in vars(lmstudio_adapters))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["[]", "lmstudio_adapters._client", "True", "True"]
