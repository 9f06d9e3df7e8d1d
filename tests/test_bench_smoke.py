"""A tiny run of the benchmark, so bench/ cannot rot. It checks that every row is produced; it
asserts no timing (figures come from the full run, reported in bench/results)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def _run_bench(out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", *options, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_bench_quick_run(tmp_path: Path) -> None:
    """bench/run.py --quick writes the JSON, the plot and every row for every contender."""
    result = _run_bench(tmp_path)
    data = json.loads((tmp_path / "bench.json").read_text())
    assert (tmp_path / "bench.png").stat().st_size > 0
    for row in ("per_call_us", "per_chunk_us", "first_chunk_us", "construct_us", "peak_kib", "import_ms", "ratios"):
        assert data[row], row
    assert {
        "LMStudioClient",
        "LMStudioChatModel",
        "ChatOpenAI(base_url)",
        "LMStudioLLM",
        "OpenAILike",
        "llama-index-llms-lmstudio",
        "LMStudioEmbeddings",
        "OpenAIEmbeddings(base_url)",
    } <= set(data["per_call_us"])
    batch = data["batch"]["results"]
    assert batch["LMStudioChatModel"]["connections"] <= data["batch"]["concurrency"]
    assert "Ratios" in result.stdout
    streams = data["slow_streams"]["results"]
    assert {"raw httpx (unlimited pool)", "LMStudioChatModel", "ChatOpenAI(base_url)"} <= set(streams)
    assert streams["LMStudioChatModel"]["peak_sockets"] == data["slow_streams"]["streams"]  # none queued
    history = data["history_us"]
    for name in ("raw httpx (json.dumps + post)", "LMStudioChatModel", "LMStudioLLM", "llama-index-llms-lmstudio"):
        assert "slope_us_per_message" in history[name], name
    ingest = data["ingest"]["results"]
    assert ingest["LMStudioEmbedding"]["requests"] == ingest["LMStudioEmbeddings"]["requests"]
    assert ingest["LMStudioEmbedding"]["requests"] * 32 <= data["ingest"]["texts"]  # >= 32 texts per request


def test_bench_runs_a_subset(tmp_path: Path) -> None:
    """--only runs just the named scenarios (the others are absent from the JSON)."""
    result = _run_bench(tmp_path, "--only", "ingest")
    data = json.loads((tmp_path / "bench.json").read_text())
    assert "ingest" in data
    assert "per_call_us" not in data
    assert "Ingestion of" in result.stdout
