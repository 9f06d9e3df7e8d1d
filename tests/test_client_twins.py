"""The sync and async twins stay twins: the async source, unasynced, is the sync source.

Like httpx's ``scripts/unasync``, but compared instead of generated: each async class (or
function) is rewritten by token rules (``async def`` -> ``def``, ``await x`` -> ``x``,
``async with``/``async for`` -> ``with``/``for``, the async names -> the sync names in
:data:`RENAMES`), docstrings and annotations are dropped on both sides, and each method is
compared with the sync method of the same name as an ``ast`` dump. Only the methods in
:data:`DIFFERENT` may differ, each for the reason given there: everything the twins decide
lives in the sans-I/O core (``_core``, ``_attempts``, ``_lifecycle``, ``_answers``,
``_stream.ChunkParser``), so a change made to one twin only fails here.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

from lmstudio_adapters import AsyncLMStudioClient, LMStudioClient
from lmstudio_adapters._core import ClientCore

PACKAGE = Path(__file__).resolve().parent.parent / "adapters" / "lmstudio_adapters"

#: Async name -> sync name, for names, attributes, function names and imported names.
RENAMES = {
    "AsyncLMStudioClient": "LMStudioClient",
    "AsyncLifecycleMethods": "SyncLifecycleMethods",
    "AsyncStream": "Stream",
    "_aiterate": "_iterate",
    "aiter_bytes": "iter_bytes",
    "aclose": "close",
    "adescribe_server": "describe_server",
    "StopAsyncIteration": "StopIteration",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
}
#: ``module.attribute`` calls that change module (``asyncio.sleep`` -> ``time.sleep``).
MODULE_RENAMES = {("asyncio", "sleep"): ("time", "sleep")}

#: (sync module, sync name, async module, async name): the pairs kept in step.
TWINS = [
    ("_client", "LMStudioClient", "_async_client", "AsyncLMStudioClient"),
    ("_lifecycle_clients", "SyncLifecycleMethods", "_lifecycle_clients", "AsyncLifecycleMethods"),
    ("_stream", "Stream", "_stream", "AsyncStream"),
    ("_stream", "_iterate", "_stream", "_aiterate"),
]

#: (sync class, method): why the twins truly differ there (a method of one side only included).
DIFFERENT = {
    ("LMStudioClient", "__init__"): "the sync client owns one httpx.Client and a thread lock; the async one "
    "keeps one pool per event loop (LoopPools), whose asyncio lock guards detection",
    ("LMStudioClient", "_http_client"): "one pool for the sync client; the given client or the running loop's "
    "pool for the async one; each closed message names its own close method",
    ("LMStudioClient", "_detection_lock"): "a threading.Lock, or the running loop's asyncio.Lock",
    ("LMStudioClient", "close"): "the sync client closes its own pool; the async one the running loop's",
    ("LMStudioClient", "__del__"): "sync only: async pools are released with their event loop",
}


class _Normalise(ast.NodeTransformer):
    """Both sides: no docstrings, no annotations, ``yield from x`` as the async loop spells it."""

    def _strip(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.AST:
        body = node.body
        first = body[0].value if body and isinstance(body[0], ast.Expr) else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            node.body = body[1:] or [ast.Pass()]
        if not isinstance(node, ast.ClassDef):
            node.returns = None
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _strip

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.annotation = None
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if node.value is None:
            return None
        return self.generic_visit(ast.Assign(targets=[node.target], value=node.value))

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        # An async generator cannot `yield from`: it loops, `for chunk in x: yield chunk`.
        if isinstance(node.value, ast.YieldFrom):
            loop = ast.For(
                target=ast.Name("chunk", ast.Store()),
                iter=node.value.value,
                body=[ast.Expr(ast.Yield(ast.Name("chunk", ast.Load())))],
                orelse=[],
            )
            return self.generic_visit(loop)
        self.generic_visit(node)
        return node


class _Unasync(ast.NodeTransformer):
    """The async side: the token rules of unasync, on the syntax tree."""

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        fields["name"] = RENAMES.get(node.name, node.name)
        return ast.FunctionDef(**fields)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        node.name = RENAMES.get(node.name, node.name)
        return node

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.AST:
        self.generic_visit(node)
        return ast.With(items=node.items, body=node.body)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST:
        self.generic_visit(node)
        return ast.For(target=node.target, iter=node.iter, body=node.body, orelse=node.orelse)

    def visit_Await(self, node: ast.Await) -> ast.AST:
        value: ast.AST = self.visit(node.value)
        return value

    def visit_Call(self, node: ast.Call) -> ast.AST:
        # `x.__anext__()` is `next(x)`.
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "__anext__" and not node.args:
            return self.generic_visit(ast.Call(func=ast.Name("next", ast.Load()), args=[func.value], keywords=[]))
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and (node.value.id, node.attr) in MODULE_RENAMES:
            module, attr = MODULE_RENAMES[node.value.id, node.attr]
            return ast.Attribute(value=ast.Name(module, ast.Load()), attr=attr, ctx=node.ctx)
        node.attr = RENAMES.get(node.attr, node.attr)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = RENAMES.get(node.id, node.id)
        return node

    def visit_alias(self, node: ast.alias) -> ast.AST:
        node.name = RENAMES.get(node.name, node.name)
        return node


def _definition(source: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef:
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
    raise LookupError(name)


def _parts(node: ast.AST) -> dict[str, str]:
    """Each method of a class (or the function itself, as ``""``), dumped."""
    if isinstance(node, ast.ClassDef):
        return {
            item.name: ast.dump(item) for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
    return {"": ast.dump(node)}


def drift(sync_source: str, sync_name: str, async_source: str, async_name: str) -> list[str]:
    """The methods (``""`` for a function) where the unasynced async twin is not the sync one."""
    sync = _parts(_Normalise().visit(_definition(sync_source, sync_name)))
    unasynced = _parts(_Normalise().visit(_Unasync().visit(_definition(async_source, async_name))))
    return sorted(
        part
        for part in sync.keys() | unasynced.keys()
        if sync.get(part) != unasynced.get(part) and (sync_name, part) not in DIFFERENT
    )


def _source(module: str) -> str:
    return (PACKAGE / f"{module}.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(("sync_module", "sync_name", "async_module", "async_name"), TWINS, ids=lambda v: v)
def test_async_twin_is_the_sync_one_awaited(
    sync_module: str, sync_name: str, async_module: str, async_name: str
) -> None:
    assert drift(_source(sync_module), sync_name, _source(async_module), async_name) == []


def test_the_allowed_differences_still_differ() -> None:
    # An entry whose methods became twins again (or were removed) must leave DIFFERENT.
    sync = _parts(_Normalise().visit(_definition(_source("_client"), "LMStudioClient")))
    unasynced = _parts(
        _Normalise().visit(_Unasync().visit(_definition(_source("_async_client"), "AsyncLMStudioClient")))
    )
    for (_, method), why in DIFFERENT.items():
        assert method in sync, f"{method}: not in LMStudioClient any more ({why})"
        assert sync[method] != unasynced.get(method), f"{method} is a twin again: remove it from DIFFERENT"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("attempt += 1", "attempt += 2"),  # a decision taken in one twin only
        ("await asyncio.sleep(step.delay)", "await asyncio.sleep(step.delay * 2)"),
        ("return await self._run(self._list_loaded_plan())", "return await self._run(self._ensure_plan('', {}))"),
        ("raise _stalled(deadline)", "pass"),
    ],
)
def test_a_change_to_one_twin_is_caught(old: str, new: str) -> None:
    found, changed = [], False
    for sync_module, sync_name, async_module, async_name in TWINS:
        lines = _source(async_module).splitlines(keepends=True)
        node = _definition("".join(lines), async_name)
        twin = "".join(lines[node.lineno - 1 : node.end_lineno])
        if old in twin:  # changed inside the async twin only
            changed = True
            mutated = "".join(lines[: node.lineno - 1]) + twin.replace(old, new, 1)
            found += drift(_source(sync_module), sync_name, mutated, async_name)
    assert changed, f"{old!r} is not in any async twin"
    assert found, f"changing {old!r} in the async twin went unnoticed"


def test_constructors_take_the_core_options() -> None:
    """One list of options: ``ClientCore.__init__``; both public signatures spell it out, the same way."""
    core = dict(inspect.signature(ClientCore.__init__).parameters)
    del core["self"]
    for client in (LMStudioClient, AsyncLMStudioClient):
        public = dict(inspect.signature(client.__init__).parameters)
        del public["self"]
        assert public.pop("http_client").default is None
        assert list(public) == list(core), client.__name__
        for name, parameter in public.items():
            assert (parameter.default, parameter.annotation) == (core[name].default, core[name].annotation), name


def test_constructor_options_reach_the_core() -> None:
    options: dict[str, Any] = {
        "model": "m",
        "api_key": "secret-token",
        "timeout": 7,
        "max_retries": 1,
        "api": "v0",
        "parse_think_tags": False,
        "stream_usage": False,
        "headers": {"X-Test": "1"},
        "max_connections": 3,
    }
    client = AsyncLMStudioClient("http://127.0.0.1:9/v1", **options)
    with LMStudioClient("http://127.0.0.1:9/v1", **options) as sync:
        for each in (sync, client):
            assert (each.base_url, each.model, each.timeout, each.max_retries, each.api) == (
                "http://127.0.0.1:9",
                "m",
                7,
                1,
                "v0",
            )
            assert each.api_key is not None
            assert each.api_key.get_secret_value() == "secret-token"
            assert (each.parse_think_tags, each.stream_usage, each.max_connections) == (False, False, 3)
            assert each._headers["X-Test"] == "1"
