"""discover(): loopback fakes of each server kind, answering as each one documents.

LM Studio answers unknown routes with HTTP 200 and an error body; Ollama, llama.cpp and
vLLM answer them with 404. Dead ports (refused, silent, trickling) are left out, and the
whole call ends near its timeout whatever they do.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

import lmstudio_adapters
from lmstudio_adapters import (
    AsyncLMStudioClient,
    ConfigError,
    LMStudioClient,
    LMStudioSettings,
    ModelNotFoundError,
    clear_probe_cache,
    decide_backend,
)
from lmstudio_adapters.__main__ import main
from lmstudio_adapters._discovery import DEFAULT_PORTS, PORTS_ENV, default_ports
from lmstudio_adapters._identify import Answer, identify
from tests import loopback
from tests.loopback import LoopbackServer, Reply

TIMEOUT = 1.0
HANG_GUARD = TIMEOUT + 3.0  # generous: proves the deadline holds, not a speed figure


def _listing(*ids: str, owner: str = "organization_owner") -> dict[str, object]:
    return {"object": "list", "data": [{"id": i, "object": "model", "owned_by": owner} for i in ids]}


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def lmstudio(srv: LoopbackServer, *, greeting: bool = True) -> LoopbackServer:
    """LM Studio: the greeting (0.3.x+), its model list, 200 + error body for anything else."""
    if greeting:
        srv.route("GET", "/lmstudio-greeting", Reply(body={"lmstudio": True}))
    srv.route("GET", "/v1/models", Reply(body=_listing("qwen/qwen3-4b", "text-embedding-nomic-embed-text-v1.5")))
    return srv


def ollama(srv: LoopbackServer) -> LoopbackServer:
    """Ollama: /api/version, the OpenAI-style list, plain-text 404 elsewhere."""
    srv.unknown_route = Reply(404, "404 page not found", content_type="text/plain")
    srv.route("GET", "/api/version", Reply(body={"version": "0.5.7"}))
    srv.route("GET", "/v1/models", Reply(body=_listing("llama3.2:latest", owner="library")))
    return srv


def llama_cpp(srv: LoopbackServer) -> LoopbackServer:
    """llama.cpp llama-server: /props, /health, JSON 404 elsewhere."""
    srv.unknown_route = Reply(404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}})
    props = {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1, "build_info": "b4500-adc5dd92"}
    srv.route("GET", "/props", Reply(body=props))
    srv.route("GET", "/health", Reply(body={"status": "ok"}))
    srv.route("GET", "/v1/models", Reply(body=_listing("smollm2-135m", owner="llamacpp")))
    return srv


def vllm(srv: LoopbackServer) -> LoopbackServer:
    """vLLM: /version, /health with an empty body, FastAPI's 404 elsewhere."""
    srv.unknown_route = Reply(404, {"detail": "Not Found"})
    srv.route("GET", "/version", Reply(body={"version": "0.6.3"}))
    srv.route("GET", "/health", Reply(body=b"", content_type="text/plain"))
    srv.route("GET", "/v1/models", Reply(body=_listing("Qwen/Qwen2.5-0.5B-Instruct", owner="vllm")))
    return srv


def openai_like(srv: LoopbackServer) -> LoopbackServer:
    """Some other OpenAI-compatible server: /v1/models only."""
    srv.unknown_route = Reply(404, {"error": "not found"})
    srv.route("GET", "/v1/models", Reply(body=_listing("mystery-model")))
    return srv


def web_page(srv: LoopbackServer) -> LoopbackServer:
    """A web server that is no model server at all."""
    srv.unknown_route = Reply(404, "<html>Not Found</html>", content_type="text/html")
    srv.routes.clear()
    return srv


@contextmanager
def fakes(*builders: object) -> Iterator[list[LoopbackServer]]:
    with ExitStack() as stack:
        servers = [
            build(stack.enter_context(loopback.serve(lifetime=30)))  # type: ignore[operator]
            for build in builders
        ]
        yield servers


@contextmanager
def trickling() -> Iterator[str]:
    """A server that sends its greeting one byte every 0.2 s, for far longer than the timeout."""
    with loopback.serve(lifetime=30) as srv:
        srv.route("GET", "/lmstudio-greeting", Reply(raw_chunks=[b" "] * 200, chunk_delay=0.2))
        yield srv.url


def test_each_kind_is_named_by_its_routes_and_dead_ports_are_skipped() -> None:
    """Every kind comes back with its models and version; refused, silent, trickling and non-model ports do not."""
    with (
        fakes(lmstudio, lambda s: lmstudio(s, greeting=False), ollama, llama_cpp, vllm, openai_like, web_page) as alive,
        loopback.closed_port() as refused,
        loopback.silent_server() as silent,
        trickling() as slow,
    ):
        ports = [_port(s.url) for s in alive] + [_port(refused), _port(silent), _port(slow)]
        start = time.monotonic()
        found = lmstudio_adapters.discover(ports=ports, timeout=TIMEOUT)
        elapsed = time.monotonic() - start
    assert elapsed < HANG_GUARD
    by_url = {server.url: server for server in found}
    assert set(by_url) == {s.url for s in alive[:6]}
    kinds = [by_url[s.url].kind for s in alive[:6]]
    assert kinds == ["lmstudio", "lmstudio", "ollama", "llama.cpp", "vllm", "openai-compatible"]
    current = by_url[alive[0].url]
    assert current.models == ("qwen/qwen3-4b", "text-embedding-nomic-embed-text-v1.5")
    assert current.version is None
    assert by_url[alive[2].url].version == "0.5.7"
    assert by_url[alive[2].url].models == ("llama3.2:latest",)
    assert by_url[alive[3].url].version == "b4500-adc5dd92"
    assert by_url[alive[4].url].version == "0.6.3"
    assert by_url[alive[5].url].models == ("mystery-model",)
    assert [s.url for s in found] == [s.url for s in alive[:6]]  # port order
    # LM Studio said who it is: nothing else was asked of it (each unknown route lands in its log).
    assert [path for _, path, _, _ in alive[0].requests] == ["/lmstudio-greeting", "/v1/models"]


async def test_async_form_and_deadline() -> None:
    """adiscover runs on the caller's loop, with the same deadline."""
    with fakes(ollama) as (srv,), loopback.silent_server() as silent, trickling() as slow:
        start = time.monotonic()
        found = await lmstudio_adapters.adiscover(ports=[_port(srv.url), _port(silent), _port(slow)], timeout=TIMEOUT)
        elapsed = time.monotonic() - start
    assert elapsed < HANG_GUARD
    assert [(s.kind, s.url) for s in found] == [("ollama", srv.url)]


async def test_sync_form_inside_a_running_loop() -> None:
    """discover() works from code that already runs an event loop (a notebook cell)."""
    with fakes(lmstudio) as (srv,):
        found = lmstudio_adapters.discover(ports=[_port(srv.url)], timeout=TIMEOUT)
    assert [s.kind for s in found] == ["lmstudio"]
    assert found[0].to_dict() == {
        "url": srv.url,
        "kind": "lmstudio",
        "models": ["qwen/qwen3-4b", "text-embedding-nomic-embed-text-v1.5"],
        "version": None,
    }


def test_older_ollama_lists_its_models_at_api_tags() -> None:
    """Ollama before /v1/models: the names come from its own /api/tags."""
    with fakes(ollama) as (srv,):
        srv.routes.pop(("GET", "/v1/models"))
        srv.route("GET", "/api/tags", Reply(body={"models": [{"name": "llama3:latest", "model": "llama3:latest"}]}))
        found = lmstudio_adapters.discover(ports=[_port(srv.url)], timeout=TIMEOUT)
    assert [(s.kind, s.models, s.version) for s in found] == [("ollama", ("llama3:latest",), "0.5.7")]


def test_default_ports_and_their_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_URL's port comes first; LM_STUDIO_DISCOVER_PORTS replaces the rest; bad values are typed errors."""
    monkeypatch.delenv(PORTS_ENV)
    ports = default_ports("http://localhost:4321")
    assert ports[:2] == (4321, 1234)
    assert {41343, 52993, 16141, 39414, 22931, 11434, 8080, 8000} <= set(ports)
    assert default_ports("http://localhost:1234") == DEFAULT_PORTS
    monkeypatch.setenv(PORTS_ENV, "5555, 6666")
    assert default_ports("http://localhost:1234") == (1234, 5555, 6666)
    monkeypatch.setenv(PORTS_ENV, "12,abc")
    with pytest.raises(ConfigError, match="LM_STUDIO_DISCOVER_PORTS='12,abc' is invalid"):
        default_ports(None)
    with pytest.raises(ConfigError, match="ports contains 70000"):
        lmstudio_adapters.discover(ports=[70000])
    with pytest.raises(ConfigError, match="timeout=0"):
        lmstudio_adapters.discover(ports=[1234], timeout=0)


def test_identify_needs_a_documented_answer() -> None:
    """Rules alone: no answer, or only error pages, names nothing; a port number is never used."""
    assert identify({}) is None
    assert identify({"/lmstudio-greeting": Answer(404), "/v1/models": Answer(404, {"detail": "x"})}) is None
    assert identify({"/lmstudio-greeting": Answer(200, {"lmstudio": False}), "/v1/models": Answer(500)}) is None
    v0 = Answer(200, {"object": "list", "data": [{"id": "m", "type": "llm", "state": "loaded"}]})
    assert identify({"/api/v0/models": v0}) == ("lmstudio", None)


# --- the selector ---------------------------------------------------------------------------


def _unset_url_settings(url: str) -> LMStudioSettings:
    """Settings whose URL is the default (not set by the user), moved to ``url`` so no real port is touched."""
    return LMStudioSettings.model_construct(_fields_set=set(), url=url)


def test_selector_finds_lmstudio_elsewhere_when_the_default_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_URL unset, nothing at the default: the decision uses the LM Studio discovery found, and says so."""
    clear_probe_cache()
    with fakes(ollama, lmstudio) as (other, found), loopback.closed_port() as default:
        monkeypatch.setenv(PORTS_ENV, f"{_port(other.url)},{_port(found.url)}")
        decision = decide_backend("qwen/qwen3-4b", settings=_unset_url_settings(default))
    assert decision.target == "local"
    assert decision.base_url == found.url
    assert f"LM Studio at {found.url} lists qwen/qwen3-4b" in decision.reason
    assert f"found by discovery: nothing answers at {default}" in decision.reason
    clear_probe_cache()


def test_selector_probes_only_the_url_the_user_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_URL set: the only place probed, even when LM Studio answers elsewhere."""
    clear_probe_cache()
    with fakes(lmstudio) as (elsewhere,), loopback.closed_port() as configured:
        monkeypatch.setenv(PORTS_ENV, str(_port(elsewhere.url)))
        monkeypatch.setenv("LM_STUDIO_URL", configured)
        decision = decide_backend("qwen/qwen3-4b", fallback="openai:gpt-4o-mini")
        assert decision.target == "cloud"
        assert elsewhere.requests == []
    clear_probe_cache()


def test_selector_does_not_search_when_the_default_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case stays one request: the default answers, discovery never runs."""
    clear_probe_cache()
    with fakes(lmstudio, lmstudio) as (default, elsewhere):
        monkeypatch.setenv(PORTS_ENV, str(_port(elsewhere.url)))
        decision = decide_backend("qwen/qwen3-4b", settings=_unset_url_settings(default.url))
        assert decision.base_url == default.url
        assert "discovery" not in decision.reason
        assert elsewhere.requests == []
    clear_probe_cache()


# --- the client's errors and the CLI --------------------------------------------------------


OLLAMA_MISSING = Reply(404, {"error": 'model "qwen/qwen3-4b" not found, try pulling it first'})


def test_client_error_says_what_the_server_is() -> None:
    """A 404 from Ollama at LM_STUDIO_URL: the error names Ollama and the two ways out."""
    with fakes(ollama) as (srv,):
        srv.route("POST", "/v1/chat/completions", OLLAMA_MISSING)
        client = LMStudioClient(srv.url, model="qwen/qwen3-4b", max_retries=0)
        with client, pytest.raises(ModelNotFoundError) as caught:
            client.chat([{"role": "user", "content": "hi"}])
    message = str(caught.value)
    assert f"This is Ollama 0.5.7 at {srv.url}, not LM Studio" in message
    assert "use the openai-compatible provider" in message
    assert "point LM_STUDIO_URL at LM Studio" in message


async def test_async_client_error_says_what_the_server_is() -> None:
    with fakes(vllm) as (srv,):
        srv.route("POST", "/v1/chat/completions", Reply(404, {"detail": "Not Found"}))
        async with AsyncLMStudioClient(srv.url, model="m", max_retries=0) as client:
            with pytest.raises(lmstudio_adapters.APIStatusError) as caught:
                await client.chat([{"role": "user", "content": "hi"}])
    assert f"This is vLLM 0.6.3 at {srv.url}, not LM Studio" in str(caught.value)


def test_unknown_model_on_llama_cpp_says_what_the_server_is() -> None:
    """llama.cpp's router answers an unknown model with 400: still named, since the model is unknown."""
    missing = Reply(
        400, {"error": {"code": 400, "message": "model 'qwen/qwen3-4b' not found", "type": "invalid_request_error"}}
    )
    with fakes(llama_cpp) as (srv,):
        srv.route("POST", "/v1/chat/completions", missing)
        client = LMStudioClient(srv.url, model="qwen/qwen3-4b", max_retries=0)
        with client, pytest.raises(ModelNotFoundError) as caught:
            client.chat([{"role": "user", "content": "hi"}])
    assert f"This is a llama.cpp server b4500-adc5dd92 at {srv.url}, not LM Studio" in str(caught.value)


def test_lmstudio_errors_carry_no_note() -> None:
    """The same unknown model on LM Studio: one greeting asked, no note added."""
    with fakes(lmstudio) as (srv,):
        srv.route(
            "POST",
            "/v1/chat/completions",
            Reply(404, {"error": {"message": "model not found", "code": "model_not_found"}}),
        )
        client = LMStudioClient(srv.url, model="nope", max_retries=0)
        with client, pytest.raises(ModelNotFoundError) as caught:
            client.chat([{"role": "user", "content": "hi"}])
    assert "not LM Studio" not in str(caught.value)
    assert [path for _, path, _, _ in srv.requests].count("/lmstudio-greeting") == 1


def test_client_success_path_sends_no_identification() -> None:
    """Against LM Studio nothing but the call itself is sent, and model detection sends no greeting."""
    with fakes(lmstudio) as (srv,), LMStudioClient(srv.url, max_retries=0) as client:
        client.list_models()
    assert "/lmstudio-greeting" not in [path for _, path, _, _ in srv.requests]


def _run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_doctor_names_the_server_and_lists_what_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    with fakes(llama_cpp, lmstudio) as (other, found):
        monkeypatch.setenv(PORTS_ENV, f"{_port(other.url)},{_port(found.url)}")
        status, text = _run_cli("--url", other.url, "--model", "smollm2-135m", "doctor")
    assert status == 1
    assert f"This is a llama.cpp server b4500-adc5dd92 at {other.url}, not LM Studio" in text
    rows = [line.split("\t") for line in text.splitlines() if "\t" in line]
    assert rows[0] == ["url", "kind", "version", "models"]
    assert [other.url, "llama.cpp", "b4500-adc5dd92", "smollm2-135m"] in rows
    assert [found.url, "lmstudio", "?", "qwen/qwen3-4b, text-embedding-nomic-embed-text-v1.5"] in rows
    assert f"LM Studio answers at {found.url}: set LM_STUDIO_URL={found.url}" in text


def test_servers_command(monkeypatch: pytest.MonkeyPatch) -> None:
    with fakes(ollama, lmstudio) as (other, found), loopback.silent_server() as silent:
        monkeypatch.setenv(PORTS_ENV, f"{_port(other.url)},{_port(found.url)},{_port(silent)}")
        status, text = _run_cli("--url", found.url, "servers", "--json")
        assert status == 0
        assert [(s["kind"], s["url"], s["version"]) for s in json.loads(text)] == [
            ("lmstudio", found.url, None),
            ("ollama", other.url, "0.5.7"),
        ]
        status, text = _run_cli("--url", found.url, "servers")
    assert status == 0
    assert text.splitlines()[0] == "url\tkind\tversion\tmodels"
    assert f"{other.url}\tollama\t0.5.7\tllama3.2:latest" in text


def test_lazy_export() -> None:
    assert {"discover", "adiscover", "LocalServer"} <= set(lmstudio_adapters.__all__)
    assert asyncio.iscoroutinefunction(lmstudio_adapters.adiscover)


def test_selector_says_it_searched_when_nothing_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing at the default nor on the other ports: the reason says both; a non-LM Studio server is not used."""
    clear_probe_cache()
    with fakes(ollama) as (other,), loopback.closed_port() as default:
        monkeypatch.setenv(PORTS_ENV, str(_port(other.url)))
        decision = decide_backend(
            "llama3.2:latest", fallback="openai:gpt-4o-mini", settings=_unset_url_settings(default)
        )
    assert decision.target == "cloud"
    assert decision.reason.startswith(f"LM Studio is not reachable at {default} (")
    assert decision.reason.endswith(", nor found on the other ports LM Studio uses")
    clear_probe_cache()


def test_doctor_does_not_point_elsewhere_when_lmstudio_is_the_configured_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``localhost`` in LM_STUDIO_URL and ``127.0.0.1`` in the table are the same server: no advice to move."""
    with fakes(lmstudio) as (srv,):
        monkeypatch.setenv(PORTS_ENV, str(_port(srv.url)))
        url = srv.url.replace("127.0.0.1", "localhost")
        status, text = _run_cli("--url", url, "--model", "qwen/qwen3-4b", "doctor")
    assert status == 0, text
    assert f"{srv.url}\tlmstudio\t?\t" in text
    assert "set LM_STUDIO_URL=" not in text
    assert "not LM Studio" not in text


def test_langchain_selector_builds_the_model_on_the_found_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """select_chat_model hands the found URL to LMStudioChatModel, and a call reaches that server."""
    pytest.importorskip("langchain_core")
    from lmstudio_adapters.langchain import LMStudioChatModel, select_chat_model

    clear_probe_cache()
    with fakes(lmstudio) as (found,), loopback.closed_port() as default:
        found.route("POST", "/v1/chat/completions", Reply(body=loopback.chat_reply("Hi there")))
        monkeypatch.setenv(PORTS_ENV, str(_port(found.url)))
        llm = select_chat_model("qwen/qwen3-4b", settings=_unset_url_settings(default), max_retries=0)
        assert isinstance(llm, LMStudioChatModel)
        assert llm.invoke("hello").content == "Hi there"
        assert ("POST", "/v1/chat/completions") in [(m, p) for m, p, _, _ in found.requests]
    clear_probe_cache()
