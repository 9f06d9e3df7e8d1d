"""The lifecycle commands (ps, load, unload, get) and doctor's loaded line, with and without a terminal."""

from __future__ import annotations

import io

import pytest

from lmstudio_adapters.__main__ import main
from tests.lmstudio_shim import GEMMA, JOB, NOMIC, QWEN, lmstudio_03, lmstudio_04, sent, v1_models
from tests.loopback import LoopbackServer, Reply


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, tty: bool = False) -> tuple[int, str]:
    out = Terminal() if tty else io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_ps_pipe_is_tab_separated(server: LoopbackServer) -> None:
    lmstudio_04(server)
    status, text = run("--url", server.url, "ps")
    assert status == 0
    assert text.splitlines() == [
        "instance\tmodel\ttype\tcontext\tstatus",
        f"my-qwen\t{QWEN}\tllm\t8192\tloaded",
        f"{NOMIC}\t{NOMIC}\tembeddings\t2048\tloaded",
    ]


def test_ps_terminal_is_a_table(server: LoopbackServer) -> None:
    lmstudio_04(server)
    status, text = run("--url", server.url, "ps", tty=True)
    assert status == 0
    lines = text.splitlines()
    assert lines[0].split() == ["instance", "model", "type", "context", "status"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["my-qwen", QWEN, "llm", "8192", "loaded"]


def test_ps_on_old_server_is_one_line_error(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run("--url", server.url, "ps")
    assert status == 2
    assert "needs LM Studio 0.3.6" in capsys.readouterr().err


@pytest.mark.parametrize("tty", [False, True])
def test_load(server: LoopbackServer, tty: bool) -> None:
    lmstudio_04(server)
    status, text = run("--url", server.url, "load", GEMMA, "--context-length", "4096", tty=tty)
    assert (status, text) == (0, f"loaded {GEMMA}, context 4096, in 7.9 s\n")
    assert sent(server, "POST", "/api/v1/models/load") == [{"model": GEMMA, "context_length": 4096}]


def test_load_on_03_says_what_to_do(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    lmstudio_03(server)
    assert run("--url", server.url, "load", GEMMA)[0] == 2
    err = capsys.readouterr().err
    assert "needs LM Studio 0.4.0 or newer" in err
    assert f"lms load {GEMMA}" in err


@pytest.mark.parametrize("tty", [False, True])
def test_unload_by_key_unloads_its_instances(server: LoopbackServer, tty: bool) -> None:
    lmstudio_04(server)
    status, text = run("--url", server.url, "unload", QWEN, tty=tty)
    assert (status, text) == (0, "unloaded my-qwen\n")
    assert sent(server, "POST", "/api/v1/models/unload") == [{"instance_id": "my-qwen"}]


def test_unload_all(server: LoopbackServer) -> None:
    lmstudio_04(server)
    status, text = run("--url", server.url, "unload", "--all")
    assert (status, text) == (0, f"unloaded my-qwen\nunloaded {NOMIC}\n")


def test_unload_not_loaded(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    lmstudio_04(server)
    assert run("--url", server.url, "unload", GEMMA)[0] == 2
    assert f"'{GEMMA}' is not loaded" in capsys.readouterr().err
    assert sent(server, "POST", "/api/v1/models/unload") == []


def test_get_in_a_pipe_prints_plain_lines(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """No bar, no carriage returns: one line per status change or tenth done, then the result."""
    monkeypatch.setattr("lmstudio_adapters._lifecycle_clients.DEFAULT_POLL_INTERVAL", 0.01)
    lmstudio_04(server)
    status, text = run("--url", server.url, "get", GEMMA)
    assert status == 0
    assert "\r" not in text
    assert "\033[" not in text
    assert text.splitlines() == [
        f"{GEMMA}: downloading 0% (0 B of 771.9 MB)",
        f"{GEMMA}: downloading 33% (257.3 MB of 771.9 MB, 85.0 MB/s)",
        f"{GEMMA}: downloading 67% (514.6 MB of 771.9 MB, " + text.split("514.6 MB of 771.9 MB, ")[1].split("\n")[0],
        f"downloaded {GEMMA} (771.9 MB)",
    ]
    assert len(sent(server, "GET", f"/api/v1/models/download/status/{JOB}")) == 3


def test_get_on_a_terminal_draws_a_bar(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lmstudio_adapters._lifecycle_clients.DEFAULT_POLL_INTERVAL", 0.01)
    lmstudio_04(server)
    status, text = run("--url", server.url, "get", GEMMA, tty=True)
    assert status == 0
    assert "\r" in text  # tqdm redraws the bar in place
    assert "100%" in text
    assert text.endswith(f"downloaded {GEMMA} (771.9 MB)\n")


@pytest.mark.parametrize("tty", [False, True])
def test_get_already_downloaded(server: LoopbackServer, tty: bool) -> None:
    lmstudio_04(server)
    server.route("POST", "/api/v1/models/download", Reply(body={"status": "already_downloaded"}))
    status, text = run("--url", server.url, "get", GEMMA, "--quantization", "Q4_K_M", tty=tty)
    assert status == 0
    assert text.splitlines()[-1] == f"{GEMMA} is already downloaded"
    assert sent(server, "POST", "/api/v1/models/download") == [{"model": GEMMA, "quantization": "Q4_K_M"}]


def test_get_failed_exits_2(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    lmstudio_04(server)
    server.route("POST", "/api/v1/models/download", Reply(body={"job_id": JOB, "status": "failed"}))
    assert run("--url", server.url, "get", GEMMA)[0] == 2
    assert "failed on the server" in capsys.readouterr().err


def test_doctor_shows_what_is_loaded(server: LoopbackServer) -> None:
    lmstudio_04(server)
    server.route("GET", "/api/v1/models", Reply(body=v1_models(gemma_loaded=False)))
    status, text = run("--url", server.url, "--model", QWEN, "doctor")
    assert status == 0
    assert f"in memory: {QWEN} as my-qwen, context 8192, {NOMIC}, context 2048" in text


def test_doctor_on_03(server: LoopbackServer) -> None:
    lmstudio_03(server)
    text = run("--url", server.url, "--model", QWEN, "doctor")[1]
    assert f"in memory: {QWEN}, context 8192" in text


def test_doctor_on_02_says_it_is_not_reported(server: LoopbackServer) -> None:
    status, text = run("--url", server.url, "--model", "loop-model", "doctor")
    assert status == 0
    assert "info  loaded models: not reported by this server (needs LM Studio 0.3.6+)" in text
