"""The package's shape: its modules import top-down (no cycle), and each stays small.

The import graph is read from the source with ``ast``: every ``import`` statement counts,
at module level, inside functions (deferred imports) and under ``TYPE_CHECKING`` (which
mirror the lazy ``__getattr__`` exports), so a cycle cannot hide behind an import made late.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "adapters" / "lmstudio_adapters"
MAX_LINES = 450

#: Cycles still to break, each as its sorted module names (none left: the commands moved out
#: of ``__main__`` into ``_cli``, ``_cli_checks`` and ``_cli_output``).
KNOWN_CYCLES: set[tuple[str, ...]] = set()

#: Modules over MAX_LINES, still to be split (none left).
KNOWN_LONG: set[str] = set()

ADAPTERS = ("lmstudio_adapters.langchain", "lmstudio_adapters.llama_index")
REGISTRY = "lmstudio_adapters.providers"
#: Above the adapters: the command line and the test helpers may use any layer.
TOP = (
    "lmstudio_adapters.__main__",
    "lmstudio_adapters._demo",
    "lmstudio_adapters._cli",
    "lmstudio_adapters.testing",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["lmstudio_adapters", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Each package module and the package modules it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in modules:
                        edges.add(submodule)  # from package import module
                    elif source in modules:
                        edges.add(source)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_deferred_and_relative_imports() -> None:
    """The reader finds what the tests below rely on: deferred, TYPE_CHECKING and package imports."""
    graph = import_graph()
    assert "lmstudio_adapters._config" in graph["lmstudio_adapters._core"]  # TYPE_CHECKING and in __init__
    assert "lmstudio_adapters._config" in graph["lmstudio_adapters._model_config"]  # inside a function only
    assert "lmstudio_adapters.providers" in graph["lmstudio_adapters.langchain._select"]  # from pkg import module
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [("a", "b", "c")]


def test_no_import_cycle() -> None:
    """Core, then providers, then adapters: no module imports one that imports it back."""
    found = set(cycles(import_graph()))
    assert found - KNOWN_CYCLES == set(), "import cycle(s) among the package's modules"
    assert KNOWN_CYCLES - found == set(), "a known cycle is gone: remove it from KNOWN_CYCLES"


def test_layers_read_top_down() -> None:
    """The core imports neither the registry nor an adapter; the registry imports no adapter."""
    for module, targets in import_graph().items():
        if module.startswith((*ADAPTERS, *TOP)):
            continue
        above = {t for t in targets if t.startswith(ADAPTERS if module.startswith(REGISTRY) else (*ADAPTERS, REGISTRY))}
        assert not above, f"{module} imports {above}, a layer above it"


def test_the_registry_builds_the_adapters_it_names() -> None:
    """The LM Studio provider reaches the adapter classes by name (construction sends nothing)."""
    from lmstudio_adapters import providers
    from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
    from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM

    lmstudio = providers.get("lmstudio")
    url = "http://127.0.0.1:9"
    for kind, expected in (
        ("chat", LMStudioChatModel),
        ("embeddings", LMStudioEmbeddings),
        ("llm", LMStudioLLM),
        ("embedding", LMStudioEmbedding),
    ):
        built = lmstudio.build(kind, "some-model", base_url=url)
        assert type(built) is expected
        assert getattr(built, "model", None) == "some-model" or getattr(built, "model_name", None) == "some-model"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_size(path: Path) -> None:
    """No package module over MAX_LINES lines (the known ones are listed above, to be split)."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    name = path.relative_to(PACKAGE).as_posix()
    if name in KNOWN_LONG:
        assert lines > MAX_LINES, f"{name} has {lines} lines now: remove it from KNOWN_LONG"
    else:
        assert lines <= MAX_LINES, f"{name} has {lines} lines; split it (at most {MAX_LINES})"
