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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale
from stub_server import MODEL, SLOW_CHUNKS, SLOW_GAP, StubServer

RESULTS = Path(__file__).resolve().parent / "results"
MESSAGES = [{"role": "user", "content": "Say hello."}]


# --- contenders ---------------------------------------------------------------------------


def build(url: str, chunks: int) -> dict[str, dict[str, Any]]:
    """Every contender: a per-call function, a streaming function, an async call, a constructor."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings
    from llama_index.core.base.llms.types import ChatMessage, CompletionResponse, LLMMetadata
    from llama_index.core.llms.custom import CustomLLM
    from llama_index.llms.lmstudio import LMStudio
    from llama_index.llms.openai_like import OpenAILike

    from lmstudio_adapters import LMStudioClient
    from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings
    from lmstudio_adapters.llama_index import LMStudioLLM

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

    class FloorChatModel(BaseChatModel):
        """LangChain's own cost: a chat model that answers from memory (thin=True: over raw httpx)."""

        thin: bool = False

        @property
        def _llm_type(self) -> str:
            return "floor"

        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
            text = raw_call()["choices"][0]["message"]["content"] if self.thin else "Hello from the bench server."
            return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

        def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Iterator[Any]:
            deltas = raw_deltas() if self.thin else ("tok " for _ in range(chunks))
            for delta in deltas:
                yield ChatGenerationChunk(message=AIMessageChunk(content=delta))

    class FloorLLM(CustomLLM):
        """LlamaIndex's own cost: an LLM that answers from memory (thin=True: over raw httpx)."""

        thin: bool = False

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=True)

        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            text = raw_call()["choices"][0]["message"]["content"] if self.thin else "Hello from the bench server."
            return CompletionResponse(text=text)

        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            deltas = raw_deltas() if self.thin else ("tok " for _ in range(chunks))

            def gen() -> Iterator[CompletionResponse]:
                text = ""
                for delta in deltas:
                    text += delta
                    yield CompletionResponse(text=text, delta=delta)

            return gen()

    client = LMStudioClient(url, model=MODEL)
    lc_ours = LMStudioChatModel(model=MODEL, base_url=url)
    lc_peer = ChatOpenAI(model=MODEL, base_url=f"{url}/v1", api_key="bench", stream_usage=True)
    lc_floor = FloorChatModel()
    lc_thin = FloorChatModel(thin=True)
    li_kw = {"context_window": 4096, "is_function_calling_model": True}
    li_ours = LMStudioLLM(model=MODEL, base_url=url, **li_kw)
    li_openailike = OpenAILike(
        model=MODEL,
        api_base=f"{url}/v1",
        api_key="bench",
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=4096,
    )
    li_lmstudio = LMStudio(model_name=MODEL, base_url=f"{url}/v1")
    li_floor = FloorLLM()
    li_thin = FloorLLM(thin=True)
    emb_ours = LMStudioEmbeddings(model=MODEL, base_url=url)
    emb_peer = OpenAIEmbeddings(model=MODEL, base_url=f"{url}/v1", api_key="bench", check_embedding_ctx_length=False)
    li_msgs = [ChatMessage(role="user", content="Say hello.")]

    def raw_embed() -> Any:
        return raw.post("/v1/embeddings", content=b'{"model":"bench-model","input":["x"]}', headers=headers).json()

    return {
        "raw httpx": {"group": "floor", "call": raw_call, "stream": raw_stream},
        "LMStudioClient": {
            "group": "ours",
            "call": lambda: client.chat(MESSAGES),
            "stream": lambda: iter(client.stream_chat(MESSAGES)),
            "new": lambda: LMStudioClient(url, model=MODEL),
        },
        "LangChain floor (in-memory model)": {
            "group": "lc-floor",
            "call": lambda: lc_floor.invoke("Say hello."),
            "stream": lambda: lc_floor.stream("Say hello."),
        },
        "LangChain floor, after a raw request": {
            "group": "lc-floor",
            "call": lambda: lc_floor.invoke("Say hello."),
            "after": raw_call,
        },
        "LangChain thin adapter (raw httpx)": {
            "group": "lc-floor",
            "call": lambda: lc_thin.invoke("Say hello."),
            "stream": lambda: lc_thin.stream("Say hello."),
        },
        "LMStudioChatModel": {
            "group": "lc-ours",
            "call": lambda: lc_ours.invoke("Say hello."),
            "stream": lambda: lc_ours.stream("Say hello."),
            "acall": lambda: lc_ours.ainvoke("Say hello."),
            "batch": lc_ours,
            "new": lambda: LMStudioChatModel(model=MODEL, base_url=url),
        },
        "ChatOpenAI(base_url)": {
            "group": "lc-peer",
            "call": lambda: lc_peer.invoke("Say hello."),
            "stream": lambda: lc_peer.stream("Say hello."),
            "batch": lc_peer,
            "new": lambda: ChatOpenAI(model=MODEL, base_url=f"{url}/v1", api_key="bench"),
        },
        "LlamaIndex floor (CustomLLM)": {
            "group": "li-floor",
            "call": lambda: li_floor.chat(li_msgs),
            "stream": lambda: li_floor.stream_chat(li_msgs),
        },
        "LlamaIndex floor, after a raw request": {
            "group": "li-floor",
            "call": lambda: li_floor.chat(li_msgs),
            "after": raw_call,
        },
        "LlamaIndex thin adapter (raw httpx)": {
            "group": "li-floor",
            "call": lambda: li_thin.chat(li_msgs),
            "stream": lambda: li_thin.stream_chat(li_msgs),
        },
        "LMStudioLLM": {
            "group": "li-ours",
            "call": lambda: li_ours.chat(li_msgs),
            "stream": lambda: li_ours.stream_chat(li_msgs),
            "achat": li_ours,
            "new": lambda: LMStudioLLM(model=MODEL, base_url=url, **li_kw),
        },
        "OpenAILike": {
            "group": "li-peer",
            "call": lambda: li_openailike.chat(li_msgs),
            "stream": lambda: li_openailike.stream_chat(li_msgs),
            "achat": li_openailike,
            "new": lambda: OpenAILike(
                model=MODEL, api_base=f"{url}/v1", api_key="bench", is_chat_model=True, context_window=4096
            ),
        },
        "llama-index-llms-lmstudio": {
            "group": "li-peer",
            "call": lambda: li_lmstudio.chat(li_msgs),
            "stream": lambda: li_lmstudio.stream_chat(li_msgs),
            "achat": li_lmstudio,
            "new": lambda: LMStudio(model_name=MODEL, base_url=f"{url}/v1"),
        },
        "raw httpx embeddings": {"group": "emb-floor", "call": raw_embed},
        "LMStudioEmbeddings": {
            "group": "emb-ours",
            "call": lambda: emb_ours.embed_query("x"),
            "new": lambda: LMStudioEmbeddings(model=MODEL, base_url=url),
        },
        "OpenAIEmbeddings(base_url)": {
            "group": "emb-peer",
            "call": lambda: emb_peer.embed_query("x"),
            "new": lambda: OpenAIEmbeddings(
                model=MODEL, base_url=f"{url}/v1", api_key="bench", check_embedding_ctx_length=False
            ),
        },
    }


# --- measurements -------------------------------------------------------------------------


def per_call(contenders: dict[str, dict[str, Any]], calls: int, rounds: int) -> dict[str, float]:
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


def per_stream(
    contenders: dict[str, dict[str, Any]], chunks: int, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
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
    contenders: dict[str, dict[str, Any]], server: StubServer, requests: int, concurrency: int
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


def construction(contenders: dict[str, dict[str, Any]], repeats: int) -> dict[str, float]:
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


def peak_memory(contenders: dict[str, dict[str, Any]]) -> dict[str, float]:
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
    chunks, calls, rounds, batch, concurrency, imports, constructs = (
        (50, 5, 2, 16, 4, 1, 20) if args.quick else (2000, 200, 7, 512, 64, 7, 300)
    )
    streams, slow_chunks, slow_gap = (16, 5, 0.01) if args.quick else (256, SLOW_CHUNKS, SLOW_GAP)
    sizes, history_calls, history_rounds = ((1, 10, 50), 2, 1) if args.quick else (scale.HISTORY_SIZES, 20, 5)
    ingest_texts, ingest_rounds = (200, 1) if args.quick else (scale.INGEST_TEXTS, 3)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"chunks": chunks, "python": sys.version.split()[0]}
    with StubServer(chunks, slow_chunks, slow_gap) as server:
        contenders = build(server.url, chunks)
        if "calls" in only:
            results["per_call_us"] = per_call(contenders, calls, rounds)
        if "streams" in only:
            results["per_chunk_us"], results["first_chunk_us"] = per_stream(contenders, chunks, rounds)
        if "batch" in only:
            results["batch"] = {
                "requests": batch,
                "concurrency": concurrency,
                "results": throughput(contenders, server, batch, concurrency),
            }
        if "construct" in only:
            results["construct_us"] = construction(contenders, constructs)
        if "memory" in only:
            results["peak_kib"] = peak_memory(contenders)
        if "slow-streams" in only:
            results["slow_streams"] = {
                "streams": streams,
                "chunks": slow_chunks,
                "gap_s": slow_gap,
                "results": scale.slow_streams(server, streams, 1 if args.quick else 3),
            }
        if "history" in only:
            results["history_us"] = scale.history(server.url, sizes, history_calls, history_rounds)
        if "ingest" in only:
            results["ingest"] = {"texts": ingest_texts, "results": scale.ingestion(server, ingest_texts, ingest_rounds)}
    if "imports" in only:
        results["import_ms"] = import_times(imports)
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
