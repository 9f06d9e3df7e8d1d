"""Bench rows at scale: many concurrent slow streams, long histories, large ingestion.

Each row sets ours beside raw httpx and the peers, in the same run (see run.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from stub_server import MODEL, StubServer

HISTORY_SIZES = (1, 100, 1000, 5000)
SAMPLE_S = 0.05
INGEST_TEXTS = 2000


# --- N concurrent slow streams ------------------------------------------------------------


def slow_streams(server: StubServer, streams: int, rounds: int) -> dict[str, dict[str, float]]:
    """``streams`` concurrent consumers of slow streams: wall seconds and most sockets open at once.

    Rounds are interleaved; the wall time is the fastest round (the first opens every socket
    from cold, and a busy machine stretches any of them).
    """
    from langchain_openai import ChatOpenAI

    from lmstudio_adapters.langchain import LMStudioChatModel

    slow = f"{server.url}/slow"
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()

    async def raw() -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:

            async def one() -> None:
                async with client.stream("POST", f"{slow}/v1/chat/completions", content=body) as response:
                    async for _ in response.aiter_lines():
                        pass

            await asyncio.gather(*(one() for _ in range(streams)))

    def framework(model: Any) -> Callable[[], Any]:
        async def run() -> None:
            async def one() -> None:
                async for _ in model.astream("hi"):
                    pass

            await asyncio.gather(*(one() for _ in range(streams)))

        return run

    contenders: dict[str, Callable[[], Any]] = {
        "raw httpx (unlimited pool)": raw,
        "LMStudioChatModel": framework(LMStudioChatModel(model=MODEL, base_url=slow, timeout=60)),
        "LMStudioChatModel, max_connections=100 (before)": framework(
            LMStudioChatModel(model=MODEL, base_url=slow, timeout=60, max_connections=100)
        ),
        "ChatOpenAI(base_url)": framework(ChatOpenAI(model=MODEL, base_url=f"{slow}/v1", api_key="bench", timeout=60)),
    }
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    peaks: dict[str, int] = dict.fromkeys(contenders, 0)
    for _ in range(rounds):
        for name, run in contenders.items():
            baseline = server.stats("/reset")["open"]
            start = time.perf_counter()
            asyncio.run(run())
            walls[name].append(time.perf_counter() - start)
            peaks[name] = max(peaks[name], server.stats()["peak"] - baseline)
    return {name: {"wall_s": min(walls[name]), "peak_sockets": peaks[name]} for name in contenders}


# --- per-message cost of a long history ----------------------------------------------------


def history(url: str, sizes: tuple[int, ...], calls: int, rounds: int) -> dict[str, dict[str, float]]:
    """µs per call at each history length, interleaved by round; the slope is µs per message.

    The time is the client process's CPU time (every thread), the cost a history puts on the
    caller: at 5,000 messages a body is ~300 KB, and its wall time mostly measures when a busy
    machine schedules the stub server to read it. Each figure is the fastest round (a round
    averages several calls); the slope is a difference of two such figures.
    """
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_openai import ChatOpenAI
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index.llms.lmstudio import LMStudio
    from llama_index.llms.openai_like import OpenAILike

    from lmstudio_adapters.langchain import LMStudioChatModel
    from lmstudio_adapters.llama_index import LMStudioLLM

    raw = httpx.Client(base_url=url)
    headers = {"content-type": "application/json"}
    lc_ours = LMStudioChatModel(model=MODEL, base_url=url)
    lc_peer = ChatOpenAI(model=MODEL, base_url=f"{url}/v1", api_key="bench")
    li_ours = LMStudioLLM(model=MODEL, base_url=url, context_window=4096, is_function_calling_model=True)
    li_like = OpenAILike(model=MODEL, api_base=f"{url}/v1", api_key="bench", is_chat_model=True, context_window=4096)
    li_lms = LMStudio(model_name=MODEL, base_url=f"{url}/v1")

    def texts(n: int) -> list[tuple[str, str]]:
        return [
            ("user" if i % 2 == 0 else "assistant", f"Message {i}: a sentence of ordinary length.") for i in range(n)
        ]

    def contenders(n: int) -> dict[str, Callable[[], Any]]:
        pairs = texts(n)
        wire = [{"role": role, "content": text} for role, text in pairs]
        lc = [HumanMessage(t) if r == "user" else AIMessage(t) for r, t in pairs]
        li = [ChatMessage(role=r, content=t) for r, t in pairs]

        def raw_call() -> Any:
            content = json.dumps({"model": MODEL, "messages": wire}).encode()
            return raw.post("/v1/chat/completions", content=content, headers=headers).json()

        return {
            "raw httpx (json.dumps + post)": raw_call,
            "LMStudioChatModel": lambda: lc_ours.invoke(lc),
            "ChatOpenAI(base_url)": lambda: lc_peer.invoke(lc),
            "LMStudioLLM": lambda: li_ours.chat(li),
            "OpenAILike": lambda: li_like.chat(li),
            "llama-index-llms-lmstudio": lambda: li_lms.chat(li),
        }

    per_size = {n: contenders(n) for n in sizes}
    names = list(per_size[sizes[0]])
    samples: dict[str, dict[int, list[float]]] = {name: {n: [] for n in sizes} for name in names}
    # Each sample lasts about SAMPLE_S (at most `calls` calls): one call of a few milliseconds
    # is too short a figure to subtract another from, one of a second needs no company.
    repeats: dict[tuple[str, int], int] = {}
    for n in sizes:
        for name, fn in per_size[n].items():
            start = time.process_time()
            fn()
            repeats[name, n] = max(1, min(calls, int(SAMPLE_S / max(time.process_time() - start, 1e-6))))
    for _ in range(rounds):
        for n in sizes:
            for name, fn in per_size[n].items():
                repeat = repeats[name, n]
                # The prepared histories (some 50,000 objects) and what earlier contenders left
                # would make every full collection scan them, a cost that lands on whichever
                # call triggers one: each contender starts on a settled heap, frozen out.
                gc.collect()
                gc.freeze()
                start = time.process_time()
                for _ in range(repeat):
                    fn()
                samples[name][n].append((time.process_time() - start) / repeat * 1e6)
    short, long = sizes[1] if len(sizes) > 2 else sizes[0], sizes[-1]
    out: dict[str, dict[str, float]] = {}
    for name in names:
        row = {f"{n}": min(samples[name][n]) for n in sizes}
        row["slope_us_per_message"] = (row[f"{long}"] - row[f"{short}"]) / (long - short)
        out[name] = row
    gc.unfreeze()
    raw.close()
    return out


# --- large ingestion ---------------------------------------------------------------------------


def ingestion(server: StubServer, texts: int, rounds: int) -> dict[str, dict[str, float]]:
    """Embed ``texts`` chunks with each class's defaults: texts per second and requests sent."""
    from langchain_openai import OpenAIEmbeddings
    from llama_index.embeddings.openai import OpenAIEmbedding

    from lmstudio_adapters.langchain import LMStudioEmbeddings
    from lmstudio_adapters.llama_index import LMStudioEmbedding

    url = server.url
    raw = httpx.Client(base_url=url)
    chunks = [f"Chunk {i} of a document, a paragraph of text to embed." for i in range(texts)]

    def raw_ingest() -> Any:
        for start in range(0, texts, 64):
            content = json.dumps({"model": MODEL, "input": chunks[start : start + 64]}).encode()
            raw.post("/v1/embeddings", content=content, headers={"content-type": "application/json"}).json()

    lc_ours = LMStudioEmbeddings(model=MODEL, base_url=url)
    lc_peer = OpenAIEmbeddings(model=MODEL, base_url=f"{url}/v1", api_key="bench", check_embedding_ctx_length=False)
    li_ours = LMStudioEmbedding(model_name=MODEL, base_url=url)
    li_peer = OpenAIEmbedding(model_name=MODEL, api_base=f"{url}/v1", api_key="bench")
    contenders: dict[str, Callable[[], Any]] = {
        "raw httpx (64 per request)": raw_ingest,
        "LMStudioEmbeddings": lambda: lc_ours.embed_documents(chunks),
        "OpenAIEmbeddings(base_url)": lambda: lc_peer.embed_documents(chunks),
        "LMStudioEmbedding": lambda: li_ours.get_text_embedding_batch(chunks),
        "LMStudioEmbedding, embed_batch_size=10 (before)": lambda: LMStudioEmbedding(
            model_name=MODEL, base_url=url, embed_batch_size=10
        ).get_text_embedding_batch(chunks),
        "OpenAIEmbedding (LlamaIndex)": lambda: li_peer.get_text_embedding_batch(chunks),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    requests: dict[str, int] = {}
    for name, fn in contenders.items():
        before = server.stats()["embed_requests"]
        fn()
        requests[name] = server.stats()["embed_requests"] - before
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    raw.close()
    return {
        name: {"texts_per_s": texts / statistics.median(times[name]), "requests": requests[name]} for name in contenders
    }


# --- report ----------------------------------------------------------------------------------


def scale_ratios(r: dict[str, Any]) -> dict[str, float]:
    """The targets of the scale rows (lower is better, except where named)."""
    out: dict[str, float] = {}
    if "slow_streams" in r:
        streams = r["slow_streams"]["results"]
        raw = streams["raw httpx (unlimited pool)"]["wall_s"]
        out["slow streams wall, LMStudioChatModel / raw httpx unlimited"] = streams["LMStudioChatModel"]["wall_s"] / raw
        out["slow streams wall, ChatOpenAI / raw httpx unlimited"] = streams["ChatOpenAI(base_url)"]["wall_s"] / raw
    if "history_us" in r:
        history = r["history_us"]
        raw = history["raw httpx (json.dumps + post)"]["slope_us_per_message"]
        for name in ("LMStudioChatModel", "ChatOpenAI(base_url)", "LMStudioLLM", "llama-index-llms-lmstudio"):
            out[f"history slope, {name} / raw"] = history[name]["slope_us_per_message"] / raw
    if "ingest" in r:
        ingest = r["ingest"]["results"]
        raw = ingest["raw httpx (64 per request)"]["texts_per_s"]
        for name in ("LMStudioEmbeddings", "LMStudioEmbedding", "OpenAIEmbeddings(base_url)"):
            out[f"ingest texts/s, {name} / raw (higher is better)"] = ingest[name]["texts_per_s"] / raw
        out["ingest requests, LMStudioEmbedding"] = ingest["LMStudioEmbedding"]["requests"]
    return out


def report(r: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if "slow_streams" in r:
        spec = r["slow_streams"]
        lines.append(
            f"{spec['streams']} concurrent slow streams ({spec['chunks']} chunks, {spec['gap_s'] * 1000:.0f} ms apart)"
        )
        for name, value in spec["results"].items():
            lines.append(f"  {name:48s} {value['wall_s']:7.2f} s   peak {value['peak_sockets']:.0f} sockets")
    if "history_us" in r:
        rows = r["history_us"]
        sizes = [key for key in next(iter(rows.values())) if key != "slope_us_per_message"]
        lines.append("Per call by history length (µs of client CPU), slope (µs per message)")
        lines.append("  " + " " * 40 + "".join(f"{size:>10s}" for size in sizes) + "     slope")
        for name, row in rows.items():
            lines.append(
                f"  {name:40s}"
                + "".join(f"{row[size]:10.0f}" for size in sizes)
                + f"{row['slope_us_per_message']:10.2f}"
            )
    if "ingest" in r:
        lines.append(f"Ingestion of {r['ingest']['texts']} texts (each class's defaults)")
        for name, value in r["ingest"]["results"].items():
            lines.append(f"  {name:48s} {value['texts_per_s']:9.0f} texts/s   {value['requests']:.0f} requests")
    for key, value in scale_ratios(r).items():
        lines.append(f"  {key:64s} {value:7.2f}")
    return lines
