"""Benchmark: what lmstudio-adapters costs on top of the HTTP round trip, next to what users pick instead.

    python bench/run.py                 # full run: table, bench/results/bench.json and bench.png
    python bench/run.py --quick         # tiny sizes (the test suite runs this so it cannot rot)
    python bench/run.py --only history,ingest   # a subset of the scenarios (see --help)

A stub server in its own process answers with pre-rendered bytes (checked against a raw httpx
client, so the server is never the bottleneck). Every contender runs in the same process,
interleaved round by round; figures are medians.

Rows: per-call overhead (µs above the raw floor), per-chunk cost of a long stream, added time
to first token, abatch throughput and TCP connections, import time, construction time and
peak memory; at scale (bench/scale.py): N concurrent slow streams (wall time, peak
sockets), per-call cost by history length (slope per message), 2,000-text ingestion.
Peers: ``ChatOpenAI(base_url=...)``, ``OpenAIEmbeddings(base_url=...)``,
``llama_index.llms.lmstudio.LMStudio`` and ``OpenAILike``. Floors: raw httpx; a trivial
in-memory ``BaseChatModel`` / ``CustomLLM`` (what each framework costs by itself), timed alone
and right after each raw request; and the same trivial model calling raw httpx (the thinnest
possible adapter, measured whole). Imports are timed from bytecode for every package.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale
from stub_server import MODEL, SLOW_CHUNKS, SLOW_GAP, StubServer

RESULTS = Path(__file__).resolve().parent / "results"
MESSAGES = [{"role": "user", "content": "Say hello."}]


# --- contenders ---------------------------------------------------------------------------
#
# A contender is a dict: its ``group`` (who it is), and what each measurement calls on it:
# ``call`` (one request), ``after`` (run before each ``call``, untimed), ``stream`` (an
# iterator over one long stream), ``acall``/``batch``/``achat`` (async) and ``new`` (a
# constructor). build() lists them in the order of the report's rows.

Contenders = dict[str, dict[str, Any]]


class RawRequests(NamedTuple):
    """Raw httpx against the stub server: the floor, and what the thin adapters call."""

    call: Callable[[], Any]
    stream: Callable[[], Iterator[Any]]
    deltas: Callable[[], Iterator[str]]
    embed: Callable[[], Any]


def raw_requests(url: str) -> RawRequests:
    """Pre-encoded bodies posted with a plain ``httpx.Client``: no adapter at all."""
    raw = httpx.Client(base_url=url)
    stream_body = json.dumps({"model": MODEL, "messages": MESSAGES, "stream": True}).encode()
    chat_body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()
    headers = {"content-type": "application/json"}

    def raw_call() -> Any:
        return raw.post("/v1/chat/completions", content=chat_body, headers=headers).json()

    def raw_stream() -> Iterator[Any]:
        with raw.stream("POST", "/v1/chat/completions", content=stream_body, headers=headers) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    yield json.loads(line[6:])

    def raw_deltas() -> Iterator[str]:
        for chunk in raw_stream():
            if chunk["choices"]:
                yield chunk["choices"][0]["delta"].get("content") or ""

    def raw_embed() -> Any:
        return raw.post("/v1/embeddings", content=b'{"model":"bench-model","input":["x"]}', headers=headers).json()

    return RawRequests(raw_call, raw_stream, raw_deltas, raw_embed)


def client_contenders(url: str, raw: RawRequests) -> Contenders:
    """The HTTP floor and our framework-free client."""
    from lmstudio_adapters import LMStudioClient

    client = LMStudioClient(url, model=MODEL)
    return {
        "raw httpx": {"group": "floor", "call": raw.call, "stream": raw.stream},
        "LMStudioClient": {
            "group": "ours",
            "call": lambda: client.chat(MESSAGES),
            "stream": lambda: iter(client.stream_chat(MESSAGES)),
            "new": lambda: LMStudioClient(url, model=MODEL),
        },
    }


def langchain_floors(raw: RawRequests, chunks: int) -> Contenders:
    """LangChain's own cost: an in-memory chat model, alone, after a raw request, and over raw httpx."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    class FloorChatModel(BaseChatModel):
        """LangChain's own cost: a chat model that answers from memory (thin=True: over raw httpx)."""

        thin: bool = False

        @property
        def _llm_type(self) -> str:
            return "floor"

        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
            text = raw.call()["choices"][0]["message"]["content"] if self.thin else "Hello from the bench server."
            return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

        def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Iterator[Any]:
            deltas = raw.deltas() if self.thin else ("tok " for _ in range(chunks))
            for delta in deltas:
                yield ChatGenerationChunk(message=AIMessageChunk(content=delta))

    floor, thin = FloorChatModel(), FloorChatModel(thin=True)
    return {
        "LangChain floor (in-memory model)": {
            "group": "lc-floor",
            "call": lambda: floor.invoke("Say hello."),
            "stream": lambda: floor.stream("Say hello."),
        },
        "LangChain floor, after a raw request": {
            "group": "lc-floor",
            "call": lambda: floor.invoke("Say hello."),
            "after": raw.call,
        },
        "LangChain thin adapter (raw httpx)": {
            "group": "lc-floor",
            "call": lambda: thin.invoke("Say hello."),
            "stream": lambda: thin.stream("Say hello."),
        },
    }


def langchain_chat_models(url: str) -> Contenders:
    """``LMStudioChatModel`` and the peer LangChain users pick instead, ``ChatOpenAI(base_url=...)``."""
    from langchain_openai import ChatOpenAI

    from lmstudio_adapters.langchain import LMStudioChatModel

    ours = LMStudioChatModel(model=MODEL, base_url=url)
    peer = ChatOpenAI(model=MODEL, base_url=f"{url}/v1", api_key="bench", stream_usage=True)
    return {
        "LMStudioChatModel": {
            "group": "lc-ours",
            "call": lambda: ours.invoke("Say hello."),
            "stream": lambda: ours.stream("Say hello."),
            "acall": lambda: ours.ainvoke("Say hello."),
            "batch": ours,
            "new": lambda: LMStudioChatModel(model=MODEL, base_url=url),
        },
        "ChatOpenAI(base_url)": {
            "group": "lc-peer",
            "call": lambda: peer.invoke("Say hello."),
            "stream": lambda: peer.stream("Say hello."),
            "batch": peer,
            "new": lambda: ChatOpenAI(model=MODEL, base_url=f"{url}/v1", api_key="bench"),
        },
    }


def llama_index_floors(raw: RawRequests, chunks: int) -> Contenders:
    """LlamaIndex's own cost: an in-memory ``CustomLLM``, alone, after a raw request, and over raw httpx."""
    from llama_index.core.base.llms.types import ChatMessage, CompletionResponse, LLMMetadata
    from llama_index.core.llms.custom import CustomLLM

    class FloorLLM(CustomLLM):
        """LlamaIndex's own cost: an LLM that answers from memory (thin=True: over raw httpx)."""

        thin: bool = False

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=True)

        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            text = raw.call()["choices"][0]["message"]["content"] if self.thin else "Hello from the bench server."
            return CompletionResponse(text=text)

        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            deltas = raw.deltas() if self.thin else ("tok " for _ in range(chunks))

            def gen() -> Iterator[CompletionResponse]:
                text = ""
                for delta in deltas:
                    text += delta
                    yield CompletionResponse(text=text, delta=delta)

            return gen()

    floor, thin = FloorLLM(), FloorLLM(thin=True)
    messages = [ChatMessage(role="user", content="Say hello.")]
    return {
        "LlamaIndex floor (CustomLLM)": {
            "group": "li-floor",
            "call": lambda: floor.chat(messages),
            "stream": lambda: floor.stream_chat(messages),
        },
        "LlamaIndex floor, after a raw request": {
            "group": "li-floor",
            "call": lambda: floor.chat(messages),
            "after": raw.call,
        },
        "LlamaIndex thin adapter (raw httpx)": {
            "group": "li-floor",
            "call": lambda: thin.chat(messages),
            "stream": lambda: thin.stream_chat(messages),
        },
    }


def llama_index_llms(url: str) -> Contenders:
    """``LMStudioLLM`` and the peers LlamaIndex users pick instead: ``OpenAILike`` and llama-index-llms-lmstudio."""
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index.llms.lmstudio import LMStudio
    from llama_index.llms.openai_like import OpenAILike

    from lmstudio_adapters.llama_index import LMStudioLLM

    known = {"context_window": 4096, "is_function_calling_model": True}  # so no metadata lookup is timed
    ours = LMStudioLLM(model=MODEL, base_url=url, **known)
    openailike = OpenAILike(
        model=MODEL,
        api_base=f"{url}/v1",
        api_key="bench",
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=4096,
    )
    lmstudio = LMStudio(model_name=MODEL, base_url=f"{url}/v1")
    messages = [ChatMessage(role="user", content="Say hello.")]
    return {
        "LMStudioLLM": {
            "group": "li-ours",
            "call": lambda: ours.chat(messages),
            "stream": lambda: ours.stream_chat(messages),
            "achat": ours,
            "new": lambda: LMStudioLLM(model=MODEL, base_url=url, **known),
        },
        "OpenAILike": {
            "group": "li-peer",
            "call": lambda: openailike.chat(messages),
            "stream": lambda: openailike.stream_chat(messages),
            "achat": openailike,
            "new": lambda: OpenAILike(
                model=MODEL, api_base=f"{url}/v1", api_key="bench", is_chat_model=True, context_window=4096
            ),
        },
        "llama-index-llms-lmstudio": {
            "group": "li-peer",
            "call": lambda: lmstudio.chat(messages),
            "stream": lambda: lmstudio.stream_chat(messages),
            "achat": lmstudio,
            "new": lambda: LMStudio(model_name=MODEL, base_url=f"{url}/v1"),
        },
    }


def embeddings(url: str, raw: RawRequests) -> Contenders:
    """One-text embeddings: raw httpx, ``LMStudioEmbeddings`` and ``OpenAIEmbeddings(base_url=...)``."""
    from langchain_openai import OpenAIEmbeddings

    from lmstudio_adapters.langchain import LMStudioEmbeddings

    ours = LMStudioEmbeddings(model=MODEL, base_url=url)
    peer = OpenAIEmbeddings(model=MODEL, base_url=f"{url}/v1", api_key="bench", check_embedding_ctx_length=False)
    return {
        "raw httpx embeddings": {"group": "emb-floor", "call": raw.embed},
        "LMStudioEmbeddings": {
            "group": "emb-ours",
            "call": lambda: ours.embed_query("x"),
            "new": lambda: LMStudioEmbeddings(model=MODEL, base_url=url),
        },
        "OpenAIEmbeddings(base_url)": {
            "group": "emb-peer",
            "call": lambda: peer.embed_query("x"),
            "new": lambda: OpenAIEmbeddings(
                model=MODEL, base_url=f"{url}/v1", api_key="bench", check_embedding_ctx_length=False
            ),
        },
    }


def build(url: str, chunks: int) -> Contenders:
    """Every contender, in the order of the report's rows: floors first, then ours, then peers."""
    raw = raw_requests(url)
    return {
        **client_contenders(url, raw),
        **langchain_floors(raw, chunks),
        **langchain_chat_models(url),
        **llama_index_floors(raw, chunks),
        **llama_index_llms(url),
        **embeddings(url, raw),
    }


# --- measurements -------------------------------------------------------------------------


def per_call(contenders: Contenders, calls: int, rounds: int) -> dict[str, float]:
    """Median µs per call, interleaved round by round.

    A row with an ``after`` function times only its call, each one made right after
    ``after()`` (a raw request): the framework's own cost as it runs inside an adapter,
    between round trips. That is more than in a loop of its own (not garbage collection: the
    same with gc off; most likely the CPU caches a round trip leaves cold).
    """
    samples: dict[str, list[float]] = {name: [] for name, c in contenders.items() if "call" in c}
    for name in samples:  # warm up every pool and code path
        for _ in range(5):
            contenders[name]["call"]()
    clock = time.perf_counter
    for _ in range(rounds):
        for name in samples:
            fn, after = contenders[name]["call"], contenders[name].get("after")
            if after is None:
                start = clock()
                for _ in range(calls):
                    fn()
                elapsed = clock() - start
            else:
                elapsed = 0.0
                for _ in range(calls):
                    after()
                    start = clock()
                    fn()
                    elapsed += clock() - start
            samples[name].append(elapsed / calls * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def per_stream(contenders: Contenders, chunks: int, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median µs per chunk over a whole stream, and median µs to the first chunk."""
    per_chunk: dict[str, list[float]] = {name: [] for name, c in contenders.items() if "stream" in c}
    first: dict[str, list[float]] = {name: [] for name in per_chunk}
    for name in per_chunk:
        for _ in contenders[name]["stream"]():
            pass
    for _ in range(rounds):
        for name in per_chunk:
            start = time.perf_counter()
            first_at = None
            for _ in contenders[name]["stream"]():
                if first_at is None:
                    first_at = time.perf_counter()
            end = time.perf_counter()
            per_chunk[name].append((end - start) / chunks * 1e6)
            first[name].append(((first_at or end) - start) * 1e6)
    return (
        {n: statistics.median(v) for n, v in per_chunk.items()},
        {n: statistics.median(v) for n, v in first.items()},
    )


def throughput(
    contenders: Contenders, server: StubServer, requests: int, concurrency: int
) -> dict[str, dict[str, float]]:
    """abatch/achat of ``requests`` at ``concurrency``: requests per second and connections opened."""
    out: dict[str, dict[str, float]] = {}
    for name, spec in contenders.items():
        model = spec.get("batch")
        llm = spec.get("achat")
        if model is None and llm is None:
            continue
        before = server.connections()

        async def run(model: Any = model, llm: Any = llm) -> float:
            start = time.perf_counter()
            if model is not None:
                await model.abatch(["Say hello."] * requests, config={"max_concurrency": concurrency})
            else:
                from llama_index.core.base.llms.types import ChatMessage

                gate = asyncio.Semaphore(concurrency)

                async def one() -> None:
                    async with gate:
                        await llm.achat([ChatMessage(role="user", content="Say hello.")])

                await asyncio.gather(*(one() for _ in range(requests)))
            return time.perf_counter() - start

        elapsed = asyncio.run(run())
        opened = server.connections() - before - 1  # the /stats request itself is one connection
        out[name] = {"requests_per_s": requests / elapsed, "connections": opened}
    return out


IMPORTS = {
    "httpx + pydantic (baseline)": "import httpx, pydantic",
    "lmstudio_adapters": "import lmstudio_adapters",
    # `import pydantic` is lazy: it loads none of the model machinery. These two rows compare
    # the client with what it needs from its dependencies, loaded the same way.
    "httpx + pydantic BaseModel, SecretStr": "import httpx; from pydantic import BaseModel, SecretStr",
    "lmstudio_adapters LMStudioClient": "from lmstudio_adapters import LMStudioClient",
    "lmstudio_adapters.langchain": "import lmstudio_adapters.langchain",
    "langchain_openai": "import langchain_openai",
    "lmstudio_adapters.llama_index": "import lmstudio_adapters.llama_index",
    "llama_index.llms.openai_like": "import llama_index.llms.openai_like",
    "llama_index.llms.lmstudio": "import llama_index.llms.lmstudio",
}


def import_times(repeats: int) -> dict[str, float]:
    """Median ms to import each entry point in a fresh interpreter, interleaved.

    Every package is imported from bytecode, as ``pip install`` leaves it: the interpreters
    share a fresh bytecode cache, filled by one import of each entry point before timing
    (a development checkout installed in editable mode, or ``PYTHONDONTWRITEBYTECODE=1``,
    would otherwise compile our modules from source on every import and no one else's).
    """
    samples: dict[str, list[float]] = {name: [] for name in IMPORTS}
    code = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache

        def timed(stmt: str) -> float:
            command = [sys.executable, "-c", code.format(stmt=stmt)]
            result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
            return float(result.stdout) * 1000

        for stmt in IMPORTS.values():
            timed(stmt)
        for _ in range(repeats):
            for name, stmt in IMPORTS.items():
                samples[name].append(timed(stmt))
    return {name: statistics.median(values) for name, values in samples.items()}


def construction(contenders: Contenders, repeats: int) -> dict[str, float]:
    """Median µs to construct each model (no I/O expected)."""
    out = {}
    for name, spec in contenders.items():
        if "new" not in spec:
            continue
        spec["new"]()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                spec["new"]()
            times.append((time.perf_counter() - start) / repeats * 1e6)
        out[name] = statistics.median(times)
    return out


def peak_memory(contenders: Contenders) -> dict[str, float]:
    """Peak KiB allocated (tracemalloc) while consuming one long stream."""
    out = {}
    for name, spec in contenders.items():
        if "stream" not in spec:
            continue
        gc.collect()
        tracemalloc.start()
        for _ in spec["stream"]():
            pass
        out[name] = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
    return out


# --- report -------------------------------------------------------------------------------


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


def report(results: dict[str, Any]) -> str:
    lines = []
    floor_call = results["per_call_us"]["raw httpx"]
    lines.append(f"Per call (µs; raw httpx round trip = {floor_call:.0f} µs)")
    for name, value in results["per_call_us"].items():
        lines.append(f"  {name:40s} {value:9.0f} µs   overhead {value - floor_call:8.0f} µs")
    lines.append(f"Per chunk of a {results['chunks']}-chunk stream (µs)")
    for name, value in results["per_chunk_us"].items():
        lines.append(f"  {name:40s} {value:9.2f}   first chunk after {results['first_chunk_us'][name]:8.0f} µs")
    lines.append(f"abatch of {results['batch']['requests']} at concurrency {results['batch']['concurrency']}")
    for name, value in results["batch"]["results"].items():
        lines.append(f"  {name:40s} {value['requests_per_s']:9.0f} req/s   {value['connections']:.0f} connections")
    lines.append("Import (ms, fresh interpreter)")
    base = results["import_ms"]["httpx + pydantic (baseline)"]
    for name, value in results["import_ms"].items():
        lines.append(f"  {name:40s} {value:9.1f}   {ratio(value, base)} of httpx + pydantic")
    lines.append("Construction (µs)")
    for name, value in results["construct_us"].items():
        lines.append(f"  {name:40s} {value:9.1f}")
    lines.append("Peak memory while streaming (KiB, tracemalloc)")
    for name, value in results["peak_kib"].items():
        lines.append(f"  {name:40s} {value:9.0f}")
    lines += scale.report(results)
    lines.append("Ratios (ours vs floor and best peer; lower is better)")
    for key, value in results["ratios"].items():
        lines.append(f"  {key:58s} {value:6.2f}")
    return "\n".join(lines)


def ratios(r: dict[str, Any]) -> dict[str, float]:
    """Ours against the floors and the best peer, all from this run.

    The floor of a framework is raw httpx + its in-memory model. Per call it is given three
    ways: the in-memory model timed in a loop of its own (the lowest), timed right after each
    raw request (as it runs inside an adapter: the floor the targets use), and the thin
    adapter (the in-memory model calling raw httpx itself, measured whole).
    """
    call, chunk, batch = r["per_call_us"], r["per_chunk_us"], r["batch"]["results"]
    raw = call["raw httpx"]
    lc_sum = raw + call["LangChain floor (in-memory model)"]
    li_sum = raw + call["LlamaIndex floor (CustomLLM)"]
    lc_floor = raw + call["LangChain floor, after a raw request"]
    li_floor = raw + call["LlamaIndex floor, after a raw request"]
    lc_chunk_sum = chunk["raw httpx"] + chunk["LangChain floor (in-memory model)"]
    li_chunk_sum = chunk["raw httpx"] + chunk["LlamaIndex floor (CustomLLM)"]
    lc_thin, li_thin = "LangChain thin adapter (raw httpx)", "LlamaIndex thin adapter (raw httpx)"
    li_peers = ("OpenAILike", "llama-index-llms-lmstudio")
    return {
        "LMStudioClient call / raw httpx": call["LMStudioClient"] / raw,
        "LMStudioChatModel call / (raw + LangChain floor after a request)": call["LMStudioChatModel"] / lc_floor,
        "LMStudioChatModel call / (raw + LangChain floor in its own loop)": call["LMStudioChatModel"] / lc_sum,
        "LMStudioChatModel call / LangChain thin adapter": call["LMStudioChatModel"] / call[lc_thin],
        "LMStudioChatModel call / ChatOpenAI": call["LMStudioChatModel"] / call["ChatOpenAI(base_url)"],
        "LMStudioLLM call / (raw + LlamaIndex floor after a request)": call["LMStudioLLM"] / li_floor,
        "LMStudioLLM call / (raw + LlamaIndex floor in its own loop)": call["LMStudioLLM"] / li_sum,
        "LMStudioLLM call / LlamaIndex thin adapter": call["LMStudioLLM"] / call[li_thin],
        "LMStudioLLM call / best LlamaIndex peer": call["LMStudioLLM"] / min(call[p] for p in li_peers),
        "LMStudioEmbeddings call / OpenAIEmbeddings": call["LMStudioEmbeddings"] / call["OpenAIEmbeddings(base_url)"],
        "LMStudioClient chunk / raw httpx chunk": chunk["LMStudioClient"] / chunk["raw httpx"],
        "LMStudioChatModel chunk / (raw + LangChain floor)": chunk["LMStudioChatModel"] / lc_chunk_sum,
        "LMStudioChatModel chunk / LangChain thin adapter": chunk["LMStudioChatModel"] / chunk[lc_thin],
        "LMStudioChatModel chunk / ChatOpenAI": chunk["LMStudioChatModel"] / chunk["ChatOpenAI(base_url)"],
        "LMStudioLLM chunk / (raw + LlamaIndex floor)": chunk["LMStudioLLM"] / li_chunk_sum,
        "LMStudioLLM chunk / LlamaIndex thin adapter": chunk["LMStudioLLM"] / chunk[li_thin],
        "LMStudioLLM chunk / best LlamaIndex peer": chunk["LMStudioLLM"] / min(chunk[p] for p in li_peers),
        "LMStudioChatModel abatch req/s, ChatOpenAI / ours": batch["ChatOpenAI(base_url)"]["requests_per_s"]
        / batch["LMStudioChatModel"]["requests_per_s"],
        "LMStudioLLM achat req/s, best peer / ours": max(batch[p]["requests_per_s"] for p in li_peers)
        / batch["LMStudioLLM"]["requests_per_s"],
        "import lmstudio_adapters / import httpx, pydantic": r["import_ms"]["lmstudio_adapters"]
        / r["import_ms"]["httpx + pydantic (baseline)"],
        "LMStudioClient import / httpx + pydantic BaseModel": r["import_ms"]["lmstudio_adapters LMStudioClient"]
        / r["import_ms"]["httpx + pydantic BaseModel, SecretStr"],
        "import lmstudio_adapters.langchain / import langchain_openai": r["import_ms"]["lmstudio_adapters.langchain"]
        / r["import_ms"]["langchain_openai"],
        "import lmstudio_adapters.llama_index / best LlamaIndex peer": r["import_ms"]["lmstudio_adapters.llama_index"]
        / min(r["import_ms"]["llama_index.llms.openai_like"], r["import_ms"]["llama_index.llms.lmstudio"]),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    names = list(results["per_chunk_us"])
    left.barh(names, [results["per_chunk_us"][n] for n in names], color="tab:blue")
    left.set_xlabel(f"µs per chunk ({results['chunks']}-chunk stream, lower is better)")
    batch = results["batch"]["results"]
    right.barh(list(batch), [v["requests_per_s"] for v in batch.values()], color="tab:green")
    right.set_xlabel(
        f"requests/s, {results['batch']['requests']} requests at concurrency "
        f"{results['batch']['concurrency']} (higher is better)"
    )
    fig.suptitle("lmstudio-adapters vs floors and peers (same run, loopback stub server)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


SCENARIOS = ("calls", "streams", "batch", "construct", "memory", "imports", "slow-streams", "history", "ingest")


class Sizes(NamedTuple):
    """How much each scenario does: the full run's sizes, or the smoke test's (``--quick``)."""

    chunks: int  # of the long stream
    calls: int  # per round, per contender
    rounds: int
    batch: int  # abatch requests
    concurrency: int
    imports: int  # fresh interpreters per entry point
    constructs: int
    streams: int  # concurrent slow streams
    slow_chunks: int
    slow_gap: float  # seconds between slow chunks
    slow_rounds: int
    history_sizes: tuple[int, ...]  # messages
    history_calls: int
    history_rounds: int
    ingest_texts: int
    ingest_rounds: int


FULL = Sizes(
    chunks=2000,
    calls=200,
    rounds=7,
    batch=512,
    concurrency=64,
    imports=7,
    constructs=300,
    streams=256,
    slow_chunks=SLOW_CHUNKS,
    slow_gap=SLOW_GAP,
    slow_rounds=3,
    history_sizes=scale.HISTORY_SIZES,
    history_calls=20,
    history_rounds=5,
    ingest_texts=scale.INGEST_TEXTS,
    ingest_rounds=3,
)
QUICK = FULL._replace(
    chunks=50,
    calls=5,
    rounds=2,
    batch=16,
    concurrency=4,
    imports=1,
    constructs=20,
    streams=16,
    slow_chunks=5,
    slow_gap=0.01,
    slow_rounds=1,
    history_sizes=(1, 10, 50),
    history_calls=2,
    history_rounds=1,
    ingest_texts=200,
    ingest_rounds=1,
)


def measure(only: set[str], sizes: Sizes) -> dict[str, Any]:
    """Run the chosen scenarios against one stub server; the results as bench.json holds them."""
    s = sizes
    results: dict[str, Any] = {"chunks": s.chunks, "python": sys.version.split()[0]}
    with StubServer(s.chunks, s.slow_chunks, s.slow_gap) as server:
        contenders = build(server.url, s.chunks)
        if "calls" in only:
            results["per_call_us"] = per_call(contenders, s.calls, s.rounds)
        if "streams" in only:
            results["per_chunk_us"], results["first_chunk_us"] = per_stream(contenders, s.chunks, s.rounds)
        if "batch" in only:
            results["batch"] = {
                "requests": s.batch,
                "concurrency": s.concurrency,
                "results": throughput(contenders, server, s.batch, s.concurrency),
            }
        if "construct" in only:
            results["construct_us"] = construction(contenders, s.constructs)
        if "memory" in only:
            results["peak_kib"] = peak_memory(contenders)
        if "slow-streams" in only:
            results["slow_streams"] = {
                "streams": s.streams,
                "chunks": s.slow_chunks,
                "gap_s": s.slow_gap,
                "results": scale.slow_streams(server, s.streams, s.slow_rounds),
            }
        if "history" in only:
            results["history_us"] = scale.history(server.url, s.history_sizes, s.history_calls, s.history_rounds)
        if "ingest" in only:
            results["ingest"] = {
                "texts": s.ingest_texts,
                "results": scale.ingestion(server, s.ingest_texts, s.ingest_rounds),
            }
    if "imports" in only:
        results["import_ms"] = import_times(s.imports)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)} (default: all)"
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {','.join(SCENARIOS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    results = measure(only, QUICK if args.quick else FULL)
    complete = only >= set(SCENARIOS[:6])
    results["ratios"] = {**(ratios(results) if complete else {}), **scale.scale_ratios(results)}
    (args.out / "bench.json").write_text(json.dumps(results, indent=2))
    if complete:
        plot(results, args.out / "bench.png")
        print(report(results))
    else:
        print("\n".join(scale.report(results)))
    print(f"\nwrote {args.out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
