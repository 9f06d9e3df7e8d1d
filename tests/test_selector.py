"""Local or cloud, for both frameworks, against real loopback servers.

"LM Studio" is a loopback server speaking the OpenAI-compatible routes; "the cloud" is a
second loopback server reached by the *official* integrations (LangChain's
``init_chat_model`` / ``ChatOpenAI``, LlamaIndex's ``OpenAI``) through their documented
base-URL settings, so no test leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from llama_index.core.base.llms.types import ChatMessage
from pydantic import BaseModel

from lmstudio_adapters import (
    ConfigError,
    LMStudioSettings,
    NoBackendError,
    clear_probe_cache,
    decide_backend,
    providers,
)
from lmstudio_adapters.langchain import LMStudioChatModel, LMStudioEmbeddings, select_chat_model, select_embeddings
from lmstudio_adapters.llama_index import LMStudioFallbackLLM, LMStudioLLM, select_llm
from tests.loopback import MODELS, LoopbackServer, Reply, chat_reply, closed_port, serve, silent_server

CHAT = ("POST", "/v1/chat/completions")
CLOUD_KEY = "sk-cloud-secret-123"


@pytest.fixture(autouse=True)
def _fresh_probes() -> Iterator[None]:
    clear_probe_cache()
    yield
    clear_probe_cache()


@pytest.fixture
def cloud() -> Iterator[LoopbackServer]:
    with serve() as srv:
        srv.route(*CHAT, Reply(body=chat_reply("from the cloud")))
        srv.route("POST", "/v1/embeddings", Reply(body={"data": [{"index": 0, "embedding": [0.5, 0.5]}], "model": "e"}))
        yield srv


@pytest.fixture
def local(server: LoopbackServer) -> LoopbackServer:
    server.route(*CHAT, Reply(body=chat_reply("from LM Studio")))
    return server


def cloud_kwargs(cloud: LoopbackServer) -> dict[str, str]:
    return {"base_url": f"{cloud.url}/v1", "api_key": CLOUD_KEY}


def run_chain(llm: object) -> str:
    chain = ChatPromptTemplate.from_messages([("human", "Say {word}")]) | llm | StrOutputParser()  # type: ignore[operator]
    return chain.invoke({"word": "hi"})


def test_same_chain_runs_local_then_cloud(local: LoopbackServer, cloud: LoopbackServer) -> None:
    """The same chain code runs on LM Studio when it answers, and on the cloud when it does not."""
    llm = select_chat_model(
        "loop-model", base_url=local.url, fallback="openai:gpt-4o-mini", cloud_kwargs=cloud_kwargs(cloud)
    )
    assert isinstance(llm, LMStudioChatModel)
    assert run_chain(llm) == "from LM Studio"
    assert "lists loop-model" in llm.metadata["lmstudio_adapters_selection"]
    with closed_port() as url:
        cloud_llm = select_chat_model(
            "loop-model", base_url=url, fallback="openai:gpt-4o-mini", cloud_kwargs=cloud_kwargs(cloud)
        )
    assert isinstance(cloud_llm, BaseChatModel)
    assert type(cloud_llm).__name__ == "ChatOpenAI"
    assert run_chain(cloud_llm) == "from the cloud"
    assert cloud.requests[-1][3]["Authorization"] == f"Bearer {CLOUD_KEY}"


def test_same_query_code_runs_local_then_cloud(local: LoopbackServer, cloud: LoopbackServer) -> None:
    """LlamaIndex: LMStudioLLM when LM Studio answers, llama_index.llms.openai.OpenAI otherwise."""
    llm = select_llm(
        "loop-model",
        base_url=local.url,
        fallback="openai:gpt-4o-mini",
        cloud_kwargs=cloud_kwargs(cloud),
        context_window=4096,
        is_function_calling_model=True,
    )
    assert isinstance(llm, LMStudioLLM)
    assert llm.chat([ChatMessage(role="user", content="hi")]).message.content == "from LM Studio"
    with closed_port() as url:
        cloud_llm = select_llm(
            "loop-model", base_url=url, fallback="openai:gpt-4o-mini", cloud_kwargs=cloud_kwargs(cloud)
        )
    assert type(cloud_llm).__name__ == "OpenAI"
    assert cloud_llm.chat([ChatMessage(role="user", content="hi")]).message.content == "from the cloud"


def test_model_missing_goes_to_cloud_with_reason(local: LoopbackServer) -> None:
    """A reachable server without the model is a cloud decision that names what it has."""
    decision = decide_backend("qwen/qwen3-4b", base_url=local.url, fallback="openai:gpt-4o-mini")
    assert decision.target == "cloud"
    assert (decision.provider, decision.model) == ("openai", "gpt-4o-mini")
    assert "model qwen/qwen3-4b is not available on LM Studio" in decision.reason
    assert "loop-model" in decision.reason


def test_refused_port_is_decided_in_milliseconds() -> None:
    """A closed port is decided at once, never after the request timeout."""
    with closed_port() as url:
        start = time.monotonic()
        decision = decide_backend("m", base_url=url, fallback="openai:gpt-4o-mini")
        assert time.monotonic() - start < 0.5
    assert decision.target == "cloud"
    assert "not reachable" in decision.reason
    assert "connection refused" in decision.reason


def test_silent_host_respects_probe_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that accepts and never answers is given up after the probe timeout, not LM_STUDIO_TIMEOUT."""
    monkeypatch.setenv("LM_STUDIO_PROBE_TIMEOUT", "300")
    monkeypatch.setenv("LM_STUDIO_TIMEOUT", "30000")
    with silent_server() as url:
        start = time.monotonic()
        decision = decide_backend("m", base_url=url, fallback="openai:gpt-4o-mini")
        elapsed = time.monotonic() - start
    assert elapsed < 1.5
    assert "no answer within the probe timeout" in decision.reason


def test_probe_is_cached_then_expires(local: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop of selections probes once; after the cache TTL it probes again."""
    monkeypatch.setenv("LM_STUDIO_PROBE_CACHE_TTL", "0.3")
    for _ in range(5):
        decide_backend("loop-model", base_url=local.url)
    assert local.hits.get(("GET", "/v1/models"), 0) == 1
    time.sleep(0.35)
    decide_backend("loop-model", base_url=local.url)
    assert local.hits[("GET", "/v1/models")] == 2


def test_preferences(local: LoopbackServer) -> None:
    """prefer=cloud skips the probe; local-only and a missing fallback raise NoBackendError with the fix."""
    decision = decide_backend("loop-model", base_url=local.url, fallback="anthropic:claude-haiku-4-5", prefer="cloud")
    assert (decision.target, decision.reason) == ("cloud", "forced by configuration (prefer=cloud)")
    assert ("GET", "/v1/models") not in local.hits
    with closed_port() as url:
        with pytest.raises(NoBackendError, match="LM_STUDIO_FALLBACK"):
            decide_backend("m", base_url=url)
        with pytest.raises(NoBackendError, match="local-only"):
            decide_backend("m", base_url=url, fallback="openai:gpt-4o-mini", prefer="local-only")
    with pytest.raises(ConfigError, match="provider:model"):
        decide_backend("m", base_url=local.url, fallback="openai")


def test_environment_drives_the_selector(local: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_URL, LM_STUDIO_MODEL and LM_STUDIO_FALLBACK are the defaults."""
    monkeypatch.setenv("LM_STUDIO_URL", local.url)
    monkeypatch.setenv("LM_STUDIO_MODEL", "loop-model")
    monkeypatch.setenv("LM_STUDIO_FALLBACK", "openai:gpt-4o-mini")
    assert decide_backend().target == "local"
    monkeypatch.setenv("LM_STUDIO_MODEL", "other")
    assert str(decide_backend()).startswith("cloud (openai), model gpt-4o-mini")
    assert LMStudioSettings().fallback == "openai:gpt-4o-mini"


def test_runtime_fallback_langchain(cloud: LoopbackServer) -> None:
    """With runtime_fallback, a local connection failure mid-session goes to the cloud; tools still bind."""
    with serve() as lmstudio:
        lmstudio.route(*CHAT, Reply(body=chat_reply("from LM Studio")))
        llm = select_chat_model(
            "loop-model",
            base_url=lmstudio.url,
            fallback="openai:gpt-4o-mini",
            runtime_fallback=True,
            cloud_kwargs=cloud_kwargs(cloud),
            max_retries=0,
        )
        assert run_chain(llm) == "from LM Studio"
    assert run_chain(llm) == "from the cloud"  # LM Studio is gone now

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    assert llm.bind_tools([add]).invoke("hi").content == "from the cloud"  # type: ignore[attr-defined]

    class Answer(BaseModel):
        text: str

    cloud.route(*CHAT, Reply(body=chat_reply('{"text": "structured"}')))
    assert llm.with_structured_output(Answer, method="json_mode").invoke("hi") == Answer(text="structured")  # type: ignore[attr-defined]


def test_runtime_fallback_llama_index(cloud: LoopbackServer) -> None:
    """The LlamaIndex wrapper switches to the cloud LLM when LM Studio stops answering."""
    with serve() as lmstudio:
        lmstudio.route(*CHAT, Reply(body=chat_reply("from LM Studio")))
        llm = select_llm(
            "loop-model",
            base_url=lmstudio.url,
            fallback="openai:gpt-4o-mini",
            runtime_fallback=True,
            cloud_kwargs=cloud_kwargs(cloud),
            max_retries=0,
            context_window=4096,
            is_function_calling_model=True,
        )
        assert isinstance(llm, LMStudioFallbackLLM)
        assert llm.chat([ChatMessage(role="user", content="hi")]).message.content == "from LM Studio"
    assert llm.chat([ChatMessage(role="user", content="hi")]).message.content == "from the cloud"
    assert llm.complete("hi").text == "from the cloud"
    assert llm.metadata.context_window == 4096


def test_embeddings_selection(local: LoopbackServer, cloud: LoopbackServer) -> None:
    """select_embeddings: LMStudioEmbeddings locally, OpenAIEmbeddings (strings, not token ids) in the cloud."""
    assert isinstance(select_embeddings("loop-model", base_url=local.url), LMStudioEmbeddings)
    with closed_port() as url:
        embeddings = select_embeddings(
            "m", base_url=url, fallback="openai:text-embedding-3-small", cloud_kwargs=cloud_kwargs(cloud)
        )
    assert embeddings.embed_query("hello") == [0.5, 0.5]
    assert b'"input":["hello"]' in cloud.requests[-1][2].replace(b" ", b"")


def test_keys_never_in_decisions_or_logs(
    local: LoopbackServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cloud keys and the LM Studio token appear in no decision, metadata or log line."""
    monkeypatch.setenv("OPENAI_API_KEY", CLOUD_KEY)
    monkeypatch.setenv("LM_STUDIO_API_KEY", "sk-lm-local-secret")
    caplog.set_level(logging.DEBUG)
    decision = decide_backend("nope", base_url=local.url, fallback="openai:gpt-4o-mini")
    llm = select_chat_model("loop-model", base_url=local.url, fallback="openai:gpt-4o-mini")
    for text in (str(decision), repr(decision), caplog.text, str(llm.metadata), repr(llm)):  # type: ignore[attr-defined]
        assert CLOUD_KEY not in text
        assert "sk-lm-local-secret" not in text


def test_provider_registry() -> None:
    """Built-ins are registered, say what is missing, and users can add their own."""
    assert {"lmstudio", "openai", "anthropic", "replicate", "openai-compatible"} <= set(providers.names())
    assert not providers.get("openai").availability("langchain")
    assert "OPENAI_API_KEY" in providers.get("openai").availability("langchain").reason
    assert "pip install llama-index-llms-replicate" in providers.get("replicate").availability("llama_index").reason
    assert "base_url" in providers.get("openai-compatible").availability("langchain").reason
    assert providers.get("groq").name == "groq"  # any provider init_chat_model knows
    custom = providers.Provider(name="echo", builders={"chat": lambda model, **kw: f"echo:{model}"})
    providers.register(custom, replace=True)
    assert providers.get("echo").build("chat", "m") == "echo:m"
    with pytest.raises(ConfigError, match="already registered"):
        providers.register(custom)


def test_openai_compatible_endpoint(cloud: LoopbackServer) -> None:
    """openai-compatible:<model> reaches any OpenAI-style endpoint by base_url, in both frameworks."""
    with closed_port() as url:
        lc = select_chat_model(
            "m", base_url=url, fallback="openai-compatible:my-model", cloud_kwargs={"base_url": f"{cloud.url}/v1"}
        )
        li = select_llm(
            "m", base_url=url, fallback="openai-compatible:my-model", cloud_kwargs={"base_url": f"{cloud.url}/v1"}
        )
    assert run_chain(lc) == "from the cloud"
    assert li.chat([ChatMessage(role="user", content="hi")]).message.content == "from the cloud"
    assert type(li).__name__ == "OpenAILike"
    assert MODELS["data"]


def sent_body(server: LoopbackServer) -> dict[str, object]:
    return json.loads(server.requests[-1][2])  # type: ignore[no-any-return]


def test_sampling_arguments_reach_the_cloud_model(cloud: LoopbackServer) -> None:
    """temperature and max_tokens given to the selector reach the cloud model too; cloud_kwargs wins."""
    with closed_port() as url:
        lc = select_chat_model(
            "m",
            base_url=url,
            fallback="openai:gpt-4o-mini",
            cloud_kwargs=cloud_kwargs(cloud),
            temperature=0.25,
            max_tokens=7,
        )
        li = select_llm(
            "m",
            base_url=url,
            fallback="openai:gpt-4o-mini",
            cloud_kwargs=cloud_kwargs(cloud),
            temperature=0.25,
            max_tokens=7,
        )
        overridden = select_chat_model(
            "m",
            base_url=url,
            fallback="openai:gpt-4o-mini",
            cloud_kwargs={**cloud_kwargs(cloud), "temperature": 0.9},
            temperature=0.25,
        )
    assert run_chain(lc) == "from the cloud"
    body = sent_body(cloud)
    assert body["temperature"] == 0.25
    assert 7 in (body.get("max_tokens"), body.get("max_completion_tokens"))
    li.chat([ChatMessage(role="user", content="hi")])
    body = sent_body(cloud)
    assert body["temperature"] == 0.25
    assert 7 in (body.get("max_tokens"), body.get("max_completion_tokens"))
    run_chain(overridden)
    assert sent_body(cloud)["temperature"] == 0.9


def test_openai_compatible_base_url_from_environment(cloud: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_FALLBACK=openai-compatible:m: the error says where base_url goes; the variable works."""
    monkeypatch.setenv("LM_STUDIO_FALLBACK", "openai-compatible:my-model")
    monkeypatch.delenv("LM_STUDIO_FALLBACK_BASE_URL", raising=False)
    with closed_port() as url:
        with pytest.raises(ConfigError) as caught:
            select_chat_model("m", base_url=url)
        assert "cloud_kwargs={'base_url': ...}" in str(caught.value)
        assert "LM_STUDIO_FALLBACK_BASE_URL" in str(caught.value)
        monkeypatch.setenv("LM_STUDIO_FALLBACK_BASE_URL", f"{cloud.url}/v1")
        lc = select_chat_model("m", base_url=url)
        li = select_llm("m", base_url=url)
    assert run_chain(lc) == "from the cloud"
    assert li.chat([ChatMessage(role="user", content="hi")]).message.content == "from the cloud"
    assert sent_body(cloud)["model"] == "my-model"


def test_availability_is_per_kind_and_matches_what_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every built-in reported ready builds, every one reported not ready raises ConfigError with the same reason."""
    monkeypatch.delenv("LM_STUDIO_FALLBACK_BASE_URL", raising=False)
    args = {"api_key": "sk-test", "base_url": "http://127.0.0.1:9/v1"}
    for framework, kinds in (("langchain", ("chat", "embeddings")), ("llama_index", ("llm", "embedding"))):
        for kind in kinds:
            for name in providers.names():
                provider = providers.get(name)
                ready = provider.availability(framework, kind, **args)  # type: ignore[arg-type]
                if ready:
                    assert provider.build(kind, "m", **args) is not None
                else:
                    with pytest.raises(ConfigError) as caught:
                        provider.build(kind, "m", **args)
                    assert ready.reason in str(caught.value)
    assert "no chat builder" in providers.get("replicate").availability("langchain").reason
    with pytest.raises(ConfigError, match="not a langchain kind"):
        providers.get("openai").availability("langchain", "llm")


def test_missing_integration_names_the_pip_install() -> None:
    """A provider whose integration is absent says what to pip install, as an ImportError too."""
    from lmstudio_adapters import MissingDependencyError

    absent = providers.Provider(
        name="absent",
        modules={"chat": "no_such_integration_pkg"},
        packages={"chat": "no-such-integration-pkg"},
        builders={"chat": lambda model, **kw: model},
    )
    assert absent.availability("langchain").install == "no-such-integration-pkg"
    with pytest.raises(MissingDependencyError, match="pip install no-such-integration-pkg") as caught:
        absent.build("chat", "m")
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, ConfigError)
    undeclared = providers.Provider(name="undeclared", builders={"chat": lambda model, **kw: __import__("no_such_mod")})
    with pytest.raises(MissingDependencyError, match="pip install no-such-mod"):
        undeclared.build("chat", "m")
    assert "langchain-google-genai" in providers.get("google_genai").availability("langchain").reason
