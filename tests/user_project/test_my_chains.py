"""How a user tests their own chains built on lmstudio-adapters.

Record once against LM Studio (or the real local server the plugin starts):
    pytest --lmstudio-record
Replay in CI, with no server and no network:
    pytest --disable-socket --allow-unix-socket
"""

import json
import os

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from llama_index.core import Document, VectorStoreIndex

from lmstudio_adapters import decide_backend
from lmstudio_adapters.langchain import LMStudioChatModel, select_chat_model
from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM

MODEL = os.environ.get("LM_STUDIO_MODEL", "qwen/qwen3-4b")
EMBEDDING_MODEL = os.environ.get("EMBEDDING_MODEL", "text-embedding-nomic-embed-text-v1.5")


def save(name, value):
    """Write a result where the harness can compare runs (a user would just assert)."""
    path = os.environ.get("USER_PROJECT_RESULTS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({name: value}) + "\n")


def test_langchain_chain(lmstudio_cassette):
    llm = LMStudioChatModel(model=MODEL, temperature=0, max_tokens=32)
    chain = ChatPromptTemplate.from_messages([("human", "What is the capital of {country}?")]) | llm | StrOutputParser()
    answer = chain.invoke({"country": "France"})
    streamed = "".join(chain.stream({"country": "France"}))
    save("chain", [answer, streamed])
    assert answer == streamed


def test_llama_index_query_engine(lmstudio_cassette):
    llm = LMStudioLLM(model=MODEL, temperature=0, max_tokens=48)
    embed_model = LMStudioEmbedding(model_name=EMBEDDING_MODEL)
    documents = [Document(text="The Eiffel Tower is in Paris."), Document(text="Bananas are yellow.")]
    index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    response = index.as_query_engine(llm=llm, similarity_top_k=1).query("Where is the Eiffel Tower?")
    save("query", [str(response), response.source_nodes[0].node.get_content()])
    assert "Eiffel" in response.source_nodes[0].node.get_content()


def test_selector_decides_the_same(lmstudio_cassette):
    decision = decide_backend(MODEL, fallback="openai:gpt-4o-mini")
    llm = select_chat_model(MODEL, fallback="openai:gpt-4o-mini", temperature=0, max_tokens=16)
    save("selector", [decision.target, decision.model, type(llm).__name__, llm.invoke("Say hi").content])
    assert decision.target == "local"
