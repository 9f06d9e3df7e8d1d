"""Run inside one install set's venv: what imports, what the registry reports, what builds.

Prints one JSON report on stdout; tests/installsets/test_installsets.py asserts on it.
Makes no request: models are constructed, never called, and the selector probes a closed
loopback port.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import socket
import sys
from typing import Any

KINDS = {"langchain": ("chat", "embeddings"), "llama_index": ("llm", "embedding")}
ARGS = {"api_key": "sk-test", "base_url": "http://127.0.0.1:9/v1"}


def error(exc: BaseException) -> dict[str, Any]:
    from lmstudio_adapters import ConfigError

    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "import_error": isinstance(exc, ImportError),
        "config_error": isinstance(exc, ConfigError),
    }


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def entry_points() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for framework, name in (("langchain", "LMStudioChatModel"), ("llama_index", "LMStudioLLM")):
        try:
            getattr(importlib.import_module(f"lmstudio_adapters.{framework}"), name)
            found[framework] = "ok"
        except ImportError as exc:
            found[framework] = error(exc)
    return found


def registry() -> dict[str, Any]:
    from lmstudio_adapters import ConfigError, providers

    ready: list[str] = []
    mismatches: list[str] = []
    reasons: dict[str, str] = {}
    names = [*providers.names(), "google_genai"]
    for framework, kinds in KINDS.items():
        for kind in kinds:
            listed = providers.available(framework, kind)  # type: ignore[arg-type]
            for name in names:
                provider = providers.get(name)
                answer = provider.availability(framework, kind, **ARGS)  # type: ignore[arg-type]
                label = f"{name}/{kind}"
                if name in listed and listed[name].install != answer.install:
                    mismatches.append(f"{label}: available() and availability() disagree on the install")
                try:
                    provider.build(kind, "m", **ARGS)
                    built: BaseException | None = None
                except ConfigError as exc:
                    built = exc
                except Exception as exc:  # anything else is a defect the test reports
                    mismatches.append(f"{label}: build raised {type(exc).__name__}: {exc}")
                    continue
                if answer.ok:
                    ready.append(label)
                    if built is not None:
                        mismatches.append(f"{label}: reported ready but build raised {built}")
                    continue
                reasons[label] = answer.reason
                if built is None:
                    mismatches.append(f"{label}: reported not ready ({answer.reason}) but it built")
                elif answer.install and not (
                    isinstance(built, ImportError) and f"pip install {answer.install}" in str(built)
                ):
                    mismatches.append(f"{label}: build error does not name pip install {answer.install}: {built}")
    return {"ready": sorted(ready), "mismatches": mismatches, "reasons": reasons}


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def selectors() -> dict[str, Any]:
    results: dict[str, Any] = {}
    url = closed_port()
    cloud = {"api_key": "sk-test", "base_url": "http://127.0.0.1:9/v1"}
    calls = {
        "select_chat_model": ("lmstudio_adapters.langchain", "select_chat_model"),
        "select_llm": ("lmstudio_adapters.llama_index", "select_llm"),
    }
    for label, (module, function) in calls.items():
        try:
            select = getattr(importlib.import_module(module), function)
            model = select("m", base_url=url, fallback="openai:gpt-4o-mini", cloud_kwargs=cloud)
            results[label] = {"class": type(model).__name__}
        except Exception as exc:  # the report says what was raised
            results[label] = error(exc)
    return results


def main() -> None:
    import lmstudio_adapters

    report = {
        "package": lmstudio_adapters.__file__,
        "installed": {m: installed(m) for m in ("langchain", "langchain_core", "llama_index.core")},
        "entry_points": entry_points(),
        "registry": registry(),
        "selectors": selectors(),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
