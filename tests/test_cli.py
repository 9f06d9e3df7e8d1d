"""The lmstudio-adapters command: doctor, models and chat against loopback servers."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from lmstudio_adapters.__main__ import main
from tests.loopback import LoopbackServer, Reply, chat_chunk, closed_port, sse_reply


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_doctor_all_good(server: LoopbackServer) -> None:
    """A reachable server listing the configured model: exit 0, each check reported."""
    status, text = run("--url", server.url, "--model", "loop-model", "doctor")
    assert status == 0
    assert f"server answers at {server.url}" in text
    assert "API: OpenAI-compatible /v1 only" in text
    assert "model 'loop-model' is available" in text
    assert "extra [langchain] installed" in text
    assert "\033[" not in text  # no colour when not a terminal


def test_doctor_model_missing(server: LoopbackServer) -> None:
    """A model the server does not list is a problem with its fix; exit 1."""
    status, text = run("--url", server.url, "--model", "qwen/qwen3-4b", "doctor")
    assert status == 1
    assert "FAIL  model 'qwen/qwen3-4b' is not listed: no model id, loaded instance or variant matched" in text
    assert "set LM_STUDIO_MODEL to one of the models it lists: loop-model" in text


def test_doctor_server_down() -> None:
    """A refused connection is reported with how to start LM Studio; exit 1."""
    with closed_port() as url:
        status, text = run("--url", url, "doctor")
    assert status == 1
    assert f"LM Studio is not reachable at {url}" in text
    assert "lms server start" in text


def test_models_table_and_json(server: LoopbackServer) -> None:
    """models prints a tab-separated table (not a terminal) or JSON."""
    status, text = run("--url", server.url, "models")
    assert status == 0
    assert text.splitlines()[0].split("\t")[:3] == ["id", "type", "state"]
    assert text.splitlines()[1].startswith("loop-model\t")
    status, text = run("--url", server.url, "models", "--json")
    assert json.loads(text)[0]["id"] == "loop-model"


def test_chat_streams_then_stats(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """chat prints the streamed answer, then one line of stats on stderr."""
    server.route(
        "POST",
        "/v1/chat/completions",
        sse_reply(
            [
                chat_chunk("Hel"),
                chat_chunk("lo"),
                chat_chunk(finish="stop"),
                {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}},
            ]
        ),
    )
    status, text = run("--url", server.url, "--model", "loop-model", "chat", "Say hello")
    assert (status, text) == (0, "Hello\n")
    assert "3 prompt + 2 completion tokens" in capsys.readouterr().err


def test_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A failure prints one line without traceback (exit 2); --debug shows the traceback."""
    with closed_port() as url:
        assert run("--url", url, "models")[0] == 2
        err = capsys.readouterr().err
        assert err.startswith("error: LM Studio is not reachable")
        assert "Traceback" not in err
        result = subprocess.run(
            [sys.executable, "-m", "lmstudio_adapters", "--url", url, "--debug", "models"],
            capture_output=True,
            text=True,
            check=False,
        )
    assert "Traceback" in result.stderr
    assert result.returncode == 1


def test_model_missing_on_chat(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """chat with an unknown model says which models exist."""
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply(status=404, body={"error": {"message": "model not found", "code": "model_not_found"}}),
    )
    assert run("--url", server.url, "--model", "nope", "chat", "hi")[0] == 2
    assert "Models the server has: loop-model" in capsys.readouterr().err


V0_LISTING = {
    "object": "list",
    "data": [
        {"id": "text-embedding-nomic", "object": "model", "type": "embeddings", "state": "not-loaded"},
        {"id": "qwen/qwen3-4b", "object": "model", "type": "llm", "state": "not-loaded"},
        {"id": "gemma-3-1b", "object": "model", "type": "llm", "state": "loaded"},
    ],
}


def chat_stream(server: LoopbackServer, *, finish: str = "stop") -> None:
    server.route(
        "POST", "/v1/chat/completions", sse_reply([chat_chunk("Hel"), chat_chunk("lo"), chat_chunk(finish=finish)])
    )


def test_options_after_the_subcommand(server: LoopbackServer) -> None:
    """--url and --model work after the subcommand too, and chat --help shows them."""
    chat_stream(server)
    assert run("chat", "--url", server.url, "--model", "loop-model", "Say hello") == (0, "Hello\n")
    assert json.loads(server.requests[-1][2])["model"] == "loop-model"
    assert run("--url", server.url, "chat", "--model", "loop-model", "hi") == (0, "Hello\n")
    status, text = run("doctor", "--url", server.url, "--model", "loop-model")
    assert status == 0
    assert f"server answers at {server.url}" in text
    helped = subprocess.run(
        [sys.executable, "-m", "lmstudio_adapters", "chat", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--url", "--model", "--max-tokens", "default 512"):
        assert option in helped.stdout


def test_chat_caps_the_answer_by_default(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """chat sends max_tokens=512 unless --max-tokens says otherwise, and says when the cap cut the answer."""
    chat_stream(server, finish="length")
    assert run("--url", server.url, "--model", "loop-model", "chat", "Tell a story")[0] == 0
    assert json.loads(server.requests[-1][2])["max_tokens"] == 512
    assert "stopped at the 512-token cap; pass --max-tokens N" in capsys.readouterr().err
    assert run("--url", server.url, "--model", "loop-model", "chat", "--max-tokens", "2000", "Tell a story")[0] == 0
    assert json.loads(server.requests[-1][2])["max_tokens"] == 2000


def test_doctor_proposes_only_chat_models(server: LoopbackServer) -> None:
    """With a typed listing, doctor proposes the chat models (loaded first), not embedding models."""
    server.route("GET", "/api/v0/models", Reply(body=V0_LISTING))
    status, text = run("--url", server.url, "--model", "nope", "doctor")
    assert status == 1
    assert "set LM_STUDIO_MODEL to one of its chat models: gemma-3-1b, qwen/qwen3-4b" in text
    assert "text-embedding-nomic" not in text.split("not listed")[1]


def test_doctor_does_not_call_untyped_models_chat_models(server: LoopbackServer) -> None:
    """An ids-only listing (llama.cpp, a plain OpenAI-style server) may hold a completions-only base model:
    doctor lists the ids without calling them chat models."""
    server.route(
        "GET",
        "/v1/models",
        Reply(body={"object": "list", "data": [{"id": "smollm2-135m-instruct"}, {"id": "gemma-3-270m"}]}),
    )
    status, text = run("--url", server.url, "--model", "nope", "doctor")
    assert status == 1
    assert "one of the models it lists: smollm2-135m-instruct, gemma-3-270m" in text
    assert "does not say which are chat models" in text
    assert "chat models:" not in text
