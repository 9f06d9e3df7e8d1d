"""The model-lifecycle commands of the CLI: ``ps``, ``load``, ``unload``, ``get``; and doctor's loaded line.

``get`` draws a progress bar with ``tqdm`` (the ``cli`` extra) when stdout is a terminal;
otherwise, or without tqdm, it prints plain lines: one per status change and per tenth done.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from collections.abc import Callable
from typing import Any, TextIO

from lmstudio_adapters._cli_output import print_table
from lmstudio_adapters._client import LMStudioClient
from lmstudio_adapters._errors import FeatureNotSupportedError, LMStudioAdapterError, ModelNotLoadedError
from lmstudio_adapters._lifecycle_wire import DownloadProgress, LoadedModel

__all__ = ["COMMANDS", "add_commands", "doctor_loaded", "run_command"]

COMMANDS = ("ps", "load", "unload", "get")


def add_commands(commands: Any) -> None:
    """Register the lifecycle subcommands on the CLI's subparsers."""
    commands.add_parser("ps", help="list the models loaded in memory")
    load = commands.add_parser("load", help="load a model and wait until it is in memory")
    load.add_argument("name", metavar="MODEL")
    load.add_argument("--context-length", type=int, default=None, help="context length in tokens")
    unload = commands.add_parser("unload", help="unload a model (every instance of it) or all models")
    target = unload.add_mutually_exclusive_group(required=True)
    target.add_argument("name", metavar="MODEL", nargs="?", help="model key or instance id")
    target.add_argument("--all", action="store_true", help="unload every loaded model")
    get = commands.add_parser("get", help="download a model, with progress (LM Studio 0.4+)")
    get.add_argument("name", metavar="MODEL", help="catalog id (qwen/qwen3-4b) or Hugging Face URL")
    get.add_argument("--quantization", default=None, help="for example Q4_K_M")


def run_command(args: argparse.Namespace, client: LMStudioClient, out: TextIO) -> int:
    """Run one of :data:`COMMANDS`; returns the exit status."""
    if args.command == "ps":
        return _ps(client, out)
    if args.command == "load":
        loaded = client.load_model(args.name, context_length=args.context_length)
        print(f"loaded {_describe(loaded)}", file=out)
        return 0
    if args.command == "unload":
        return _unload(client, args.name, everything=args.all, out=out)
    return _get(client, args.name, args.quantization, out)


def _describe(loaded: LoadedModel) -> str:
    parts = [loaded.model if loaded.instance_id == loaded.model else f"{loaded.model} as {loaded.instance_id}"]
    if loaded.context_length:
        parts.append(f"context {loaded.context_length}")
    if loaded.load_time_seconds is not None:
        parts.append(f"in {loaded.load_time_seconds:.1f} s")
    return ", ".join(parts)


def _ps(client: LMStudioClient, out: TextIO) -> int:
    loaded = client.list_loaded_models()
    if not loaded:
        print("no model is loaded", file=out)
        return 0
    rows = [["instance", "model", "type", "context", "status"]]
    rows += [[m.instance_id, m.model, m.type or "?", str(m.context_length or "?"), m.status] for m in loaded]
    print_table(rows, out)
    return 0


def _unload(client: LMStudioClient, name: str | None, *, everything: bool, out: TextIO) -> int:
    loaded = client.list_loaded_models()
    chosen = [m for m in loaded if everything or name in (m.instance_id, m.model)]
    if not chosen and not everything:
        listed = ", ".join(m.instance_id for m in loaded) or "none"
        raise ModelNotLoadedError(
            f"{name!r} is not loaded, so there is nothing to unload. Loaded now: {listed}.",
            status_code=200,
            model=name or "",
            available=tuple(m.instance_id for m in loaded),
        )
    for model in chosen:
        client.unload_model(model.instance_id)
        print(f"unloaded {model.instance_id}", file=out)
    if not chosen:
        print("no model is loaded", file=out)
    return 0


def _size(count: int | None) -> str:
    if count is None:
        return "?"
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop returns


def _get(client: LMStudioClient, model: str, quantization: str | None, out: TextIO) -> int:
    bar = _tqdm_bar(model, out) if out.isatty() else None
    report = bar or _plain_reporter(model, out)
    try:
        result = client.download_model(model, quantization=quantization, on_progress=report)
    finally:
        close = getattr(report, "close", None)
        if close is not None:
            close()
    if result.status == "already_downloaded":
        print(f"{model} is already downloaded", file=out)
    else:
        print(f"downloaded {model} ({_size(result.total_size_bytes or result.downloaded_bytes)})", file=out)
    return 0


def _plain_reporter(model: str, out: TextIO) -> Callable[[DownloadProgress], None]:
    last: dict[str, Any] = {"status": None, "tenth": -1}

    def report(progress: DownloadProgress) -> None:
        if progress.finished:
            return
        tenth = int((progress.fraction or 0) * 10)
        if progress.status == last["status"] and tenth <= last["tenth"]:
            return
        last.update(status=progress.status, tenth=tenth)
        shown = f"{progress.fraction:.0%}" if progress.fraction is not None else "?"
        rate = f", {_size(int(progress.bytes_per_second))}/s" if progress.bytes_per_second else ""
        done, total = _size(progress.downloaded_bytes), _size(progress.total_size_bytes)
        print(f"{model}: {progress.status} {shown} ({done} of {total}{rate})", file=out, flush=True)

    return report


class _TqdmReporter:
    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def __call__(self, progress: DownloadProgress) -> None:
        if progress.total_size_bytes and self.bar.total != progress.total_size_bytes:
            self.bar.reset(total=progress.total_size_bytes)
        done = progress.total_size_bytes if progress.finished else progress.downloaded_bytes
        if done is not None:
            self.bar.update(max(done - self.bar.n, 0))
        self.bar.set_postfix_str(progress.status, refresh=False)

    def close(self) -> None:
        self.bar.close()


def _tqdm_bar(model: str, out: TextIO) -> _TqdmReporter | None:
    if importlib.util.find_spec("tqdm") is None:
        return None
    tqdm = importlib.import_module("tqdm").tqdm
    return _TqdmReporter(tqdm(total=None, desc=model, unit="B", unit_scale=True, unit_divisor=1000, file=out))


def doctor_loaded(client: LMStudioClient, ok: Callable[[str], None], info: Callable[[str], None]) -> None:
    """Doctor's line on what is in memory, with instance ids and context lengths."""
    try:
        loaded = client.list_loaded_models()
    except FeatureNotSupportedError as exc:
        info(f"loaded models: not reported by this server (needs LM Studio {exc.since}+)")
        return
    except LMStudioAdapterError as exc:  # doctor goes on: the checks after this one say more
        info(f"loaded models: could not be listed ({type(exc).__name__}: {exc})")
        return
    shown = ", ".join(_describe(m) + ("" if m.status == "loaded" else " (loading)") for m in loaded)
    ok(f"in memory: {shown or 'nothing (the first request will load its model just in time)'}")
