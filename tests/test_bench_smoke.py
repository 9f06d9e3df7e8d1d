"""A tiny run of the benchmark, so bench/ cannot rot. It checks that every row is produced; it
asserts no timing (figures come from the full run, reported in bench/results)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_bench_quick_run(tmp_path: Path) -> None:
    """bench/run.py --quick writes the JSON, the plot and every row for every contender."""
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
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
