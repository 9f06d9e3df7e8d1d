"""Model lifecycle against loopback shims of LM Studio 0.4, LM Studio 0.3 and llama.cpp's router."""

from __future__ import annotations

import pytest

from lmstudio_adapters import (
    APITimeoutError,
    AsyncLMStudioClient,
    ConfigError,
    DownloadError,
    DownloadProgress,
    FeatureNotSupportedError,
    InputError,
    LMStudioAdapterError,
    LMStudioClient,
    LMStudioSettings,
    LoadedModel,
    ModelNotLoadedError,
)
from tests.lmstudio_shim import (
    ALREADY_DOWNLOADED,
    GEMMA,
    JOB,
    LOAD_FAILED,
    NOMIC,
    QWEN,
    TOTAL,
    download_job,
    llama_router,
    lmstudio_03,
    lmstudio_04,
    paths,
    router_listing,
    sent,
    v1_models,
)
from tests.loopback import LoopbackServer, Reply, chat_reply


def client_for(server: LoopbackServer, **kwargs: object) -> LMStudioClient:
    options: dict[str, object] = {"max_retries": 0, **kwargs}
    return LMStudioClient(server.url, model=GEMMA, **options)  # type: ignore[arg-type]


# --- LM Studio 0.4 --------------------------------------------------------------------


def test_list_loaded_models_reads_instances(server: LoopbackServer) -> None:
    """Each loaded instance, with its id (a custom one too), model key, type and context length."""
    lmstudio_04(server)
    with client_for(server) as client:
        loaded = client.list_loaded_models()
    assert loaded == [
        LoadedModel(instance_id="my-qwen", model=QWEN, type="llm", context_length=8192),
        LoadedModel(instance_id=NOMIC, model=NOMIC, type="embeddings", context_length=2048),
    ]
    assert paths(server) == ["GET /api/v1/models"]


async def test_async_list_loaded_models(server: LoopbackServer) -> None:
    lmstudio_04(server)
    async with AsyncLMStudioClient(server.url) as client:
        loaded = await client.list_loaded_models()
    assert [m.instance_id for m in loaded] == ["my-qwen", NOMIC]


def test_load_model_sends_options_and_returns_instance(server: LoopbackServer) -> None:
    """The load body has the model, the context length and the options; the reply becomes a LoadedModel."""
    lmstudio_04(server)
    with client_for(server) as client:
        client.list_loaded_models()  # finds the API; the load is then one request
        loaded = client.load_model(GEMMA, context_length=4096, flash_attention=True)
    assert loaded == LoadedModel(
        instance_id=GEMMA, model=GEMMA, type="llm", context_length=4096, load_time_seconds=7.916
    )
    assert sent(server, "POST", "/api/v1/models/load") == [
        {"model": GEMMA, "context_length": 4096, "flash_attention": True}
    ]
    assert paths(server) == ["GET /api/v1/models", "POST /api/v1/models/load"]


async def test_async_load_and_unload(server: LoopbackServer) -> None:
    lmstudio_04(server)
    async with AsyncLMStudioClient(server.url) as client:
        loaded = await client.load_model(GEMMA)
        await client.unload_model(loaded.instance_id)
    assert loaded.load_time_seconds == 7.916
    assert sent(server, "POST", "/api/v1/models/load") == [{"model": GEMMA}]
    assert sent(server, "POST", "/api/v1/models/unload") == [{"instance_id": GEMMA}]


def test_unload_model(server: LoopbackServer) -> None:
    lmstudio_04(server)
    with client_for(server) as client:
        assert client.unload_model("my-qwen") is None
    assert sent(server, "POST", "/api/v1/models/unload") == [{"instance_id": "my-qwen"}]


def test_load_failure_is_typed_with_server_message(server: LoopbackServer) -> None:
    """LM Studio's 400 "Failed to load model" body becomes ModelNotLoadedError, not retried."""
    lmstudio_04(server)
    server.route("POST", "/api/v1/models/load", Reply(status=400, body=LOAD_FAILED))
    with client_for(server, max_retries=2) as client, pytest.raises(ModelNotLoadedError) as caught:
        client.load_model(GEMMA)
    assert "Failed to load model" in caught.value.server_message
    assert caught.value.status_code == 400
    assert len(sent(server, "POST", "/api/v1/models/load")) == 1


def test_load_error_body_with_200_is_an_error(server: LoopbackServer) -> None:
    lmstudio_04(server)
    server.route("POST", "/api/v1/models/load", Reply(body=LOAD_FAILED))
    with client_for(server) as client, pytest.raises(ModelNotLoadedError):
        client.load_model(GEMMA)


def test_bad_load_arguments_send_nothing(server: LoopbackServer) -> None:
    lmstudio_04(server)
    with client_for(server) as client:
        with pytest.raises(TypeError, match="context_lenght"):
            client.load_model(GEMMA, context_lenght=4096)
        with pytest.raises(InputError, match="context_length"):
            client.load_model(GEMMA, context_length=0)
    assert server.requests == []


def test_ensure_loaded_when_loaded_makes_no_load_request(server: LoopbackServer) -> None:
    """A loaded model (by instance id or by key) costs one listing request."""
    lmstudio_04(server)
    with client_for(server) as client:
        assert client.ensure_loaded("my-qwen").model == QWEN
        assert client.ensure_loaded(QWEN).instance_id == "my-qwen"
        assert client.ensure_loaded(f"{QWEN}@4bit").instance_id == "my-qwen"  # a variant of it
    assert paths(server) == ["GET /api/v1/models"] * 3


def test_ensure_loaded_loads_the_clients_model(server: LoopbackServer) -> None:
    lmstudio_04(server)
    with client_for(server) as client:
        loaded = client.ensure_loaded(context_length=4096)
    assert loaded.instance_id == GEMMA
    assert sent(server, "POST", "/api/v1/models/load") == [{"model": GEMMA, "context_length": 4096}]


async def test_async_ensure_loaded(server: LoopbackServer) -> None:
    lmstudio_04(server)
    async with AsyncLMStudioClient(server.url, model=GEMMA) as client:
        assert (await client.ensure_loaded()).load_time_seconds == 7.916
        assert (await client.ensure_loaded()).load_time_seconds is None  # listed as loaded now
    assert len(sent(server, "POST", "/api/v1/models/load")) == 1


def test_download_reports_progress_until_completed(server: LoopbackServer) -> None:
    """Job, then status polls (downloading, downloading, completed); each reaches the callback."""
    lmstudio_04(server)
    seen: list[DownloadProgress] = []
    with client_for(server) as client:
        result = client.download_model(GEMMA, quantization="Q4_K_M", on_progress=seen.append, poll_interval=0.01)
    assert sent(server, "POST", "/api/v1/models/download") == [{"model": GEMMA, "quantization": "Q4_K_M"}]
    assert [p.status for p in seen] == ["downloading", "downloading", "downloading", "completed"]
    assert [p.downloaded_bytes for p in seen] == [0, TOTAL // 3, 2 * TOTAL // 3, TOTAL]
    assert all(p.job_id == JOB and p.total_size_bytes == TOTAL for p in seen)
    assert seen[1].bytes_per_second == 85_000_000.0  # the server's rate
    assert seen[2].bytes_per_second is not None
    assert seen[2].bytes_per_second > 0
    assert seen[1].fraction == pytest.approx(1 / 3, abs=0.01)
    assert result.finished
    assert result.completed_at
    assert result.fraction == 1.0
    assert len(sent(server, "GET", f"/api/v1/models/download/status/{JOB}")) == 3


async def test_async_download_with_progress(server: LoopbackServer) -> None:
    lmstudio_04(server)
    seen: list[str] = []
    async with AsyncLMStudioClient(server.url) as client:
        result = await client.download_model(GEMMA, on_progress=lambda p: seen.append(p.status), poll_interval=0.01)
    assert result.status == "completed"
    assert seen == ["downloading", "downloading", "downloading", "completed"]


def test_already_downloaded_returns_at_once(server: LoopbackServer) -> None:
    lmstudio_04(server)
    server.route("POST", "/api/v1/models/download", Reply(body=ALREADY_DOWNLOADED))
    seen: list[DownloadProgress] = []
    with client_for(server) as client:
        client.list_loaded_models()
        result = client.download_model(GEMMA, on_progress=seen.append)
    assert result.status == "already_downloaded"
    assert result.finished
    assert seen == [result]
    assert paths(server) == ["GET /api/v1/models", "POST /api/v1/models/download"]


def test_failed_download_raises_with_last_progress(server: LoopbackServer) -> None:
    lmstudio_04(server)
    server.route(
        "GET",
        f"/api/v1/models/download/status/{JOB}",
        Reply(body=download_job("downloading", 1000)),
        Reply(body=download_job("failed", 1000)),
    )
    with client_for(server) as client, pytest.raises(DownloadError) as caught:
        client.download_model(GEMMA, poll_interval=0.01)
    assert isinstance(caught.value.progress, DownloadProgress)
    assert caught.value.progress.status == "failed"
    assert "failed on the server" in str(caught.value)


def test_stalled_download_ends(server: LoopbackServer) -> None:
    """No new bytes for LM_STUDIO_LOAD_TIMEOUT: a DownloadError, not an endless poll."""
    lmstudio_04(server)
    server.route("GET", f"/api/v1/models/download/status/{JOB}", Reply(body=download_job("paused", 10)))
    settings = LMStudioSettings(load_timeout_ms=50)
    with client_for(server, settings=settings) as client, pytest.raises(DownloadError, match="no progress"):
        client.download_model(GEMMA, poll_interval=0.01)


def test_garbled_download_job_is_a_response_error(server: LoopbackServer) -> None:
    lmstudio_04(server)
    server.route("POST", "/api/v1/models/download", Reply(body={"job": "?"}))
    with client_for(server) as client, pytest.raises(LMStudioAdapterError, match="not a download job"):
        client.download_model(GEMMA)


# --- LM Studio 0.3 and older -------------------------------------------------------------


def test_03_server_has_no_load_route(server: LoopbackServer) -> None:
    """Load, unload and download say they need 0.4 and what to do instead; nothing is sent to them."""
    lmstudio_03(server)
    with client_for(server) as client:
        with pytest.raises(FeatureNotSupportedError) as caught:
            client.load_model(GEMMA)
        assert caught.value.since == "0.4.0"
        assert caught.value.feature == "load"
        assert f"`lms load {GEMMA}`" in str(caught.value)
        assert "ensure_loaded()" in str(caught.value)
        with pytest.raises(FeatureNotSupportedError, match="lms unload"):
            client.unload_model(GEMMA)
        with pytest.raises(FeatureNotSupportedError, match=f"lms get {GEMMA}"):
            client.download_model(GEMMA)
    assert paths(server) == ["GET /api/v1/models", "GET /api/v0/models"]  # found once, then remembered


async def test_03_async_load_is_typed(server: LoopbackServer) -> None:
    lmstudio_03(server)
    async with AsyncLMStudioClient(server.url) as client:
        with pytest.raises(FeatureNotSupportedError, match=r"LM Studio 0\.4\.0"):
            await client.load_model(GEMMA)


def test_03_lists_loaded_models_from_v0(server: LoopbackServer) -> None:
    lmstudio_03(server)
    with client_for(server) as client:
        assert client.list_loaded_models() == [
            LoadedModel(instance_id=QWEN, model=QWEN, type="llm", context_length=8192)
        ]


def test_03_ensure_loaded_warms_with_one_token(server: LoopbackServer) -> None:
    """Just-in-time loading: a 1-token chat for an LLM, a one-word embedding for an embedding model."""
    lmstudio_03(server)
    with client_for(server) as client:
        assert client.ensure_loaded() == LoadedModel(instance_id=GEMMA, model=GEMMA, type="llm")
        assert client.ensure_loaded(NOMIC).type == "embeddings"
        client.ensure_loaded(QWEN)  # listed as loaded: no warm-up
    chat = sent(server, "POST", "/v1/chat/completions")
    assert chat == [{"model": GEMMA, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}]
    assert sent(server, "POST", "/v1/embeddings") == [{"model": NOMIC, "input": "warm up"}]
    assert "POST /api/v1/models/load" not in paths(server)


async def test_03_async_ensure_loaded_warms(server: LoopbackServer) -> None:
    lmstudio_03(server)
    async with AsyncLMStudioClient(server.url, model=GEMMA) as client:
        await client.ensure_loaded()
    assert len(sent(server, "POST", "/v1/chat/completions")) == 1


def test_03_warm_up_is_bounded_by_the_load_timeout(server: LoopbackServer) -> None:
    """The warm-up waits LM_STUDIO_LOAD_TIMEOUT, not the shorter request timeout."""
    lmstudio_03(server)
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("H"), delay=0.4))
    settings = LMStudioSettings(timeout_ms=100, load_timeout_ms=20_000)
    with client_for(server, settings=settings) as client:
        assert client.ensure_loaded().instance_id == GEMMA
    settings = LMStudioSettings(timeout_ms=20_000, load_timeout_ms=100)
    with client_for(server, settings=settings) as client, pytest.raises(APITimeoutError):
        client.ensure_loaded()


def test_03_ensure_loaded_with_context_length_is_typed(server: LoopbackServer) -> None:
    lmstudio_03(server)
    with client_for(server) as client, pytest.raises(FeatureNotSupportedError, match=r"0\.4\.0"):
        client.ensure_loaded(context_length=8192)


def test_openai_only_server_cannot_list_loaded(server: LoopbackServer) -> None:
    """LM Studio 0.2.x (only /v1): listing what is loaded is typed, naming 0.3.6."""
    with client_for(server) as client, pytest.raises(FeatureNotSupportedError) as caught:
        client.list_loaded_models()
    assert caught.value.since == "0.3.6"
    assert "lms ps" in str(caught.value)


# --- llama.cpp router ------------------------------------------------------------------


def test_router_load_polls_until_loaded_then_unloads(server: LoopbackServer) -> None:
    llama_router(server)
    with LMStudioClient(server.url, max_retries=0) as client:
        assert [m.instance_id for m in client.list_loaded_models()] == ["chat"]
        loaded = client.load_model("second")
        assert loaded == LoadedModel(instance_id="second", model="second")
        gone = router_listing({"chat": {"value": "loaded"}, "second": {"value": "unloaded"}})
        server.route("GET", "/models", Reply(body=router_listing({"second": {"value": "loaded"}})), Reply(body=gone))
        client.unload_model("second")
        assert [m.instance_id for m in client.list_loaded_models()] == ["chat"]
    assert sent(server, "POST", "/models/load") == [{"model": "second"}]
    assert sent(server, "POST", "/models/unload") == [{"model": "second"}]


async def test_router_async_load(server: LoopbackServer) -> None:
    llama_router(server)
    async with AsyncLMStudioClient(server.url) as client:
        assert (await client.load_model("second")).instance_id == "second"


def test_router_failed_load_is_typed(server: LoopbackServer) -> None:
    llama_router(server, fail=True)
    with LMStudioClient(server.url) as client, pytest.raises(ModelNotLoadedError, match="could not load"):
        client.load_model("second")


def test_router_rejects_context_length_and_download(server: LoopbackServer) -> None:
    llama_router(server)
    with LMStudioClient(server.url) as client:
        with pytest.raises(InputError, match="preset"):
            client.load_model("second", context_length=8192)
        with pytest.raises(FeatureNotSupportedError, match="no download route"):
            client.download_model("x")


# --- first-call timeouts ---------------------------------------------------------------


def test_timeout_on_unloaded_model_explains_jit_loading(server: LoopbackServer) -> None:
    """A timed-out chat whose model is listed as not loaded names JIT loading and the fixes; one listing."""
    lmstudio_03(server)
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("H"), delay=1.0))
    with client_for(server, timeout=0.2) as client, pytest.raises(APITimeoutError) as caught:
        client.chat([{"role": "user", "content": "hi"}])
    message = str(caught.value)
    assert "probably loading it just in time" in message
    assert f"ensure_loaded('{GEMMA}')" in message
    assert f"lms load {GEMMA}" in message
    assert "LM_STUDIO_TIMEOUT" in message
    assert paths(server) == ["POST /v1/chat/completions", "GET /api/v0/models"]


async def test_async_timeout_on_unloaded_model_explains(server: LoopbackServer) -> None:
    lmstudio_04(server)
    server.route("GET", "/api/v1/models", Reply(body=v1_models(gemma_loaded=False)))
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("H"), delay=1.0))
    async with AsyncLMStudioClient(server.url, model=GEMMA, timeout=0.2, max_retries=0) as client:
        await client.list_loaded_models()
        with pytest.raises(APITimeoutError, match="just in time"):
            await client.chat([{"role": "user", "content": "hi"}])


def test_timeout_on_loaded_model_keeps_plain_message(server: LoopbackServer) -> None:
    lmstudio_03(server)
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("H"), delay=1.0))
    with (
        LMStudioClient(server.url, model=QWEN, timeout=0.2, max_retries=0) as client,
        pytest.raises(APITimeoutError) as caught,
    ):
        client.chat([{"role": "user", "content": "hi"}])
    assert "probably loading" not in str(caught.value)
    assert len([p for p in paths(server) if p.startswith("GET")]) == 1


# --- settings ---------------------------------------------------------------------------


def test_load_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LMStudioSettings().load_timeout == 600.0
    monkeypatch.setenv("LM_STUDIO_LOAD_TIMEOUT", "120000")
    assert LMStudioSettings().load_timeout == 120.0
    monkeypatch.setenv("LM_STUDIO_LOAD_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="LM_STUDIO_LOAD_TIMEOUT='soon' is invalid"):
        LMStudioSettings()


def test_router_unload_that_never_finishes_times_out(server: LoopbackServer) -> None:
    llama_router(server)
    server.route("GET", "/models", Reply(body=router_listing({"second": {"value": "loaded"}})))
    with LMStudioClient(server.url, timeout=0.3) as client, pytest.raises(APITimeoutError, match="still lists"):
        client.unload_model("second")


def test_timeout_on_a_server_without_states_keeps_plain_message(server: LoopbackServer) -> None:
    """A /v1-only server does not say what is loaded: no hint, one listing at most."""
    server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("H"), delay=1.0))
    with (
        LMStudioClient(server.url, model="loop-model", timeout=0.2, max_retries=0, api="openai") as client,
        pytest.raises(APITimeoutError) as caught,
    ):
        client.chat([{"role": "user", "content": "hi"}])
    assert "probably loading" not in str(caught.value)
    assert len([p for p in paths(server) if p.startswith("GET")]) <= 1


def test_router_load_of_a_running_model_returns_it(server: LoopbackServer) -> None:
    """The router answers 400 "model is already running" (e.g. loaded just in time): that is a success."""
    llama_router(server)
    running = {"error": {"code": 400, "message": "model is already running", "type": "invalid_request_error"}}
    server.route("POST", "/models/load", Reply(status=400, body=running))
    server.route("GET", "/models", Reply(body=router_listing({"second": {"value": "loaded"}})))
    with LMStudioClient(server.url, max_retries=0) as client:
        assert client.load_model("second").instance_id == "second"
