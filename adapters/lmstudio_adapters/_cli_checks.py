"""The commands' checks and answers: ``doctor``, ``chat`` and the model and server tables."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO
from urllib.parse import urlsplit

from lmstudio_adapters._cli_models import doctor_loaded
from lmstudio_adapters._cli_output import Out, print_table, yes_no
from lmstudio_adapters._client import LMStudioClient
from lmstudio_adapters._errors import LMStudioAdapterError, ModelNotFoundError
from lmstudio_adapters._identify import LocalServer
from lmstudio_adapters._routes import DEFAULT_MODEL, find_model, sole_chat_model
from lmstudio_adapters._schemas import ModelInfo

__all__ = ["CHAT_MAX_TOKENS", "chat", "chat_models", "doctor", "find_servers", "models_table", "servers_table"]


def models_table(models: Sequence[ModelInfo]) -> list[list[str]]:
    """Rows for the model table (header first)."""
    rows = [["id", "type", "state", "context", "quant", "tools", "vision"]]
    for model in models:
        rows.append(
            [
                model.id,
                model.type or "?",
                model.state or "?",
                str(model.context_length or "?"),
                model.quantization or "?",
                yes_no(model.supports_tools),
                yes_no(model.supports_vision),
            ]
        )
    return rows


def servers_table(servers: Sequence[LocalServer]) -> list[list[str]]:
    """Rows for the table of local model servers (header first)."""
    rows = [["url", "kind", "version", "models"]]
    for server in servers:
        rows.append([server.url, server.kind, server.version or "?", ", ".join(server.models) or "none listed"])
    return rows


def find_servers(client: LMStudioClient) -> list[LocalServer]:
    from lmstudio_adapters._discovery import default_ports, discover

    return discover(ports=default_ports(client.base_url, client.settings), timeout=client.settings.probe_timeout)


def _same_server(found: str, configured: str) -> bool:
    """Whether a discovered loopback URL is the configured one (``localhost`` is ``127.0.0.1``)."""
    a, b = urlsplit(found), urlsplit(configured)
    loopback = {"localhost", "127.0.0.1", "::1"}
    return a.port == b.port and (a.hostname == b.hostname or {a.hostname, b.hostname} <= loopback)


def doctor(client: LMStudioClient, out: TextIO, *, expect_lmstudio: bool = True) -> int:
    """Check the setup; print each finding with its fix. Returns the exit status.

    ``expect_lmstudio=False`` (the demo on its embedded llama.cpp server) reports a server
    that is not LM Studio as information, not as a problem.
    """
    say = Out(out)
    problems = 0
    say.info(
        f"LM_STUDIO_URL={client.base_url}  LM_STUDIO_MODEL={client.model}  "
        f"timeout={client.timeout:g} s (from {client.timeout_source})"
    )
    problems += _check_timeout(client, say)
    models = _reach(client, say)
    if models is None:
        problems += 1
    else:
        say.ok(f"server answers at {client.base_url}")
        from lmstudio_adapters._discovery import describe_server
        from lmstudio_adapters._identify import not_lmstudio_note

        # It just answered: give a busy server a few seconds to say what it is.
        note = not_lmstudio_note(describe_server(client.base_url, timeout=max(client.settings.probe_timeout, 3.0)))
        if note and expect_lmstudio:
            say.bad(note)
            problems += 1
        elif note:
            say.info(note)
        names = {
            "v1": "native REST v1 (LM Studio 0.4+)",
            "v0": "native REST v0 (LM Studio 0.3.6+)",
            "openai": "OpenAI-compatible /v1 only (LM Studio 0.2.x, or another server)",
        }
        say.ok(f"API: {names.get(client.detected_api or '', '?')}")
        loaded = [m.id for m in models if m.is_loaded]
        say.ok(f"{len(models)} model(s); loaded: {', '.join(loaded) if loaded else 'none reported'}")
        doctor_loaded(client, say.ok, say.info)
        problems += _check_model(client, models, say)
    servers = find_servers(client)
    if servers:
        say.info(f"local model servers found: {len(servers)}")
        print_table(servers_table(servers), out)
        lmstudios = [server.url for server in servers if server.kind == "lmstudio"]
        if lmstudios and not any(_same_server(url, client.base_url) for url in lmstudios):
            say.info(f"LM Studio answers at {lmstudios[0]}: set LM_STUDIO_URL={lmstudios[0]} to use it")
    else:
        say.info("no local model server found on the usual ports (see `lmstudio-adapters servers`)")
    for extra, module in (("langchain", "langchain_core"), ("llama-index", "llama_index.core")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            say.ok(f"extra [{extra}] installed")
        else:
            say.info(f"extra [{extra}] not installed: pip install 'lmstudio-adapters[{extra}]'")
    say.info("result: " + ("all good" if not problems else f"{problems} problem(s)"))
    return 1 if problems else 0


def chat_models(models: Sequence[ModelInfo]) -> list[ModelInfo]:
    """The models the listing says chat (type ``llm`` or ``vlm``), loaded ones first."""
    chatting = [m for m in models if m.type in ("llm", "vlm")]
    return sorted(chatting, key=lambda m: m.is_loaded is not True)


def _model_advice(models: Sequence[ModelInfo]) -> str:
    """What to set LM_STUDIO_MODEL to, proposing as chat models only those the listing types as such."""
    if any(m.type is not None for m in models):
        ids = ", ".join(m.id for m in chat_models(models)) or "none (load a chat model: `lms load <model>`)"
        return f"set LM_STUDIO_MODEL to one of its chat models: {ids}"
    # A plain OpenAI-style listing (ids only) cannot tell a chat model from a base model
    # that answers /v1/completions only: list them as what they are, unclassified.
    listed = ", ".join(m.id for m in models if not m.is_embedding_model) or "none"
    return (
        f"set LM_STUDIO_MODEL to one of the models it lists: {listed} "
        "(this server does not say which are chat models; a base model answers only text completions)"
    )


#: The token cap of ``chat`` unless ``--max-tokens`` says otherwise: a base model may never stop.
CHAT_MAX_TOKENS = 512


#: Below this no model answers anything: the value was most likely meant in other units.
_SHORTEST_SENSIBLE_TIMEOUT_S = 1.0
_LISTING_TIMEOUT_S = 10.0


def _check_timeout(client: LMStudioClient, say: Out) -> int:
    if client.timeout >= _SHORTEST_SENSIBLE_TIMEOUT_S:
        return 0
    hint = ""
    if client.timeout_source.startswith("LM_STUDIO_TIMEOUT="):
        hint = f" LM_STUDIO_TIMEOUT is in milliseconds: did you mean {round(client.timeout * 1000) * 1000}?"
    say.bad(f"timeout {client.timeout:g} s (from {client.timeout_source}) is too short for any generation.{hint}")
    return 1


def _reach(client: LMStudioClient, say: Out) -> list[ModelInfo] | None:
    """The server's models, or None after saying why it cannot list them."""
    reachable = client.ping()
    try:
        if reachable:  # listed within a usable limit, whatever the timeout checked above
            return client.list_models(timeout=max(client.timeout, _LISTING_TIMEOUT_S))
        # Say why not: refused, silent, or a server that is not LM Studio.
        return client.list_models(timeout=client.settings.probe_timeout, max_retries=0)
    except LMStudioAdapterError as exc:
        say.bad(str(exc))
    return None


def _check_model(client: LMStudioClient, models: list[ModelInfo], say: Out) -> int:
    if client.model == DEFAULT_MODEL:
        chosen = sole_chat_model(models)
        if chosen is not None:
            say.ok(
                f"LM_STUDIO_MODEL is not set: {DEFAULT_MODEL!r} stands for the server's one chat model, {chosen.id!r}"
            )
            return 0
        say.bad(f"LM_STUDIO_MODEL is not set and the server has several chat models: {_model_advice(models)}")
        return 1
    info = find_model(models, client.model)
    if info is None:
        try:
            info = client.get_model(client.model)  # asks the server's other model APIs too
        except ModelNotFoundError:
            say.bad(
                f"model {client.model!r} is not listed: no model id, loaded instance or variant matched in any of "
                f"the server's model lists; {_model_advice(models)}"
            )
            return 1
        except LMStudioAdapterError as exc:
            say.bad(str(exc))
            return 1
    named = "" if info.id == client.model else f" (as {info.id})"
    details = [
        f"state {info.state}" if info.state else "",
        f"context {info.context_length}" if info.context_length else "",
    ]
    shown = "; ".join(part for part in details if part)
    say.ok(f"model {client.model!r} is available{named}" + (f": {shown}" if shown else ""))
    return 0


def chat(client: LMStudioClient, prompt: str, out: TextIO, *, max_tokens: int | None) -> int:
    """Stream one answer to ``out``, then the stats; a notice appears if the first token is slow."""
    say = Out(sys.stderr)
    first = threading.Event()

    def waiting() -> None:
        if not first.wait(1.5):
            print("... waiting for the model (LM Studio may be loading it just in time)", file=sys.stderr)

    threading.Thread(target=waiting, daemon=True).start()
    start = time.monotonic()
    ttft: float | None = None
    usage = None
    stats = None
    finish = None
    with client.stream_chat([{"role": "user", "content": prompt}], max_tokens=max_tokens) as stream:
        for chunk in stream:
            for choice in chunk.choices:
                text = choice.delta.content
                if text:
                    if ttft is None:
                        ttft = time.monotonic() - start
                        first.set()
                    out.write(text)
                    out.flush()
                finish = choice.finish_reason or finish
            usage = chunk.usage or usage
            stats = chunk.stats or stats
    first.set()
    out.write("\n")
    elapsed = time.monotonic() - start
    parts = [f"{elapsed:.2f} s total"]
    if ttft is not None:
        parts.append(f"first token after {ttft:.2f} s")
    if usage is not None:
        parts.append(f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens")
        if elapsed > 0 and usage.completion_tokens:
            parts.append(f"{usage.completion_tokens / elapsed:.0f} tokens/s end to end")
    if stats is not None and stats.tokens_per_second:
        parts.append(f"server: {stats.tokens_per_second:.0f} tokens/s")
    say.info("; ".join(parts))
    if finish == "length" and max_tokens is not None:
        say.info(f"the answer stopped at the {max_tokens}-token cap; pass --max-tokens N for a longer one")
    return 0
