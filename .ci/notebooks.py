"""Build the notebooks in notebooks/ from the cells below, run them, and save them with outputs.

    python .ci/notebooks.py            # against LM_STUDIO_URL if it answers, else the local server

Outputs come from a real run; execution metadata (timings, ids) is stripped so diffs stay
readable. tests/test_notebooks.py executes the same files on every test run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

INSTALL = (
    'Install what the notebooks need (from a checkout: `pip install -e ".[notebooks]"`; once published: '
    '`pip install "lmstudio-adapters[notebooks]"`), and have LM Studio running with a chat model loaded.'
)

SETUP = """\
import os

from lmstudio_adapters import LMStudioClient

# Which server and models: LM_STUDIO_URL (default http://localhost:1234), LM_STUDIO_MODEL and
# LM_STUDIO_EMBEDDING_MODEL when set, else picked from what the server lists (loaded ones first).
listed = sorted(LMStudioClient().list_models(), key=lambda m: m.is_loaded is not True)
chat_ids = [m.id for m in listed if not m.is_embedding_model]
embedding_ids = [m.id for m in listed if m.is_embedding_model]
MODEL = os.environ.get("LM_STUDIO_MODEL") or (chat_ids[0] if chat_ids else "local-model")
EMBEDDING_MODEL = os.environ.get("LM_STUDIO_EMBEDDING_MODEL") or (embedding_ids[0] if embedding_ids else None)
print("LM Studio at", os.environ.get("LM_STUDIO_URL", "http://localhost:1234"), "chat model", MODEL)"""

LANGCHAIN = [
    (
        "md",
        "# LangChain quickstart on LM Studio\n\n"
        "What this shows: `LMStudioChatModel` where you would use `ChatOpenAI`: invoke, stream, a "
        "`prompt | model | parser` chain, tool calling with an agent loop, and structured output into a "
        "pydantic model.\n\n"
        f"What it needs: {INSTALL} The outputs below come from the project's real "
        "local test server (llama.cpp with SmolLM2-135M), so expect a small model's answers.\n\n"
        "To test chains like these without a server, record them once with `lmstudio_adapters.testing` "
        '(see "Testing your own chains" in the README).',
    ),
    ("code", SETUP),
    (
        "code",
        "from lmstudio_adapters.langchain import LMStudioChatModel\n\n"
        "llm = LMStudioChatModel(model=MODEL, temperature=0, seed=42, max_tokens=64)\n"
        'reply = llm.invoke("What is the capital of France? Answer in one sentence.")\n'
        "print(reply.content)\n"
        "print(reply.usage_metadata)\n"
        'print(reply.response_metadata.get("stats"))',
    ),
    ("md", "Streaming: chunks arrive as the model writes them; the last one carries the token usage."),
    (
        "code",
        'for chunk in llm.stream("Name three colours."):\n    print(chunk.content, end="", flush=True)',
    ),
    ("md", "A chain: prompt template, model, output parser."),
    (
        "code",
        "from langchain_core.output_parsers import StrOutputParser\n"
        "from langchain_core.prompts import ChatPromptTemplate\n\n"
        "prompt = ChatPromptTemplate.from_messages(\n"
        '    [("system", "You answer in one short sentence."), ("human", "What is {thing} used for?")]\n'
        ")\n"
        "chain = prompt | llm | StrOutputParser()\n"
        'print(chain.invoke({"thing": "a hammer"}))',
    ),
    (
        "md",
        "Tool calling with a small agent loop: the model asks for a tool, we run it and send the result back. "
        '`tool_choice="add"` forces the named tool (LM Studio ignores the OpenAI object form, so the adapter '
        "sends only that tool with `required`).",
    ),
    (
        "code",
        "from langchain_core.messages import HumanMessage, ToolMessage\n"
        "from langchain_core.tools import tool\n\n\n"
        "@tool\n"
        "def add(a: int, b: int) -> int:\n"
        '    """Add two integers."""\n'
        "    return a + b\n\n\n"
        'messages = [HumanMessage("Call the add tool with a=2 and b=3.")]\n'
        'ai = llm.bind_tools([add], tool_choice="add").invoke(messages, max_tokens=256)\n'
        "messages.append(ai)\n"
        "for call in ai.tool_calls[:1]:\n"
        '    print("model asked for", call["name"], call["args"])\n'
        '    messages.append(ToolMessage(str(add.invoke(call["args"])), tool_call_id=call["id"]))\n'
        "for call in ai.invalid_tool_calls:  # e.g. cut off by max_tokens: never run, never sent back\n"
        '    print("incomplete call:", call["error"])\n'
        "print(llm.invoke(messages).content)",
    ),
    (
        "md",
        "Structured output uses LM Studio's grammar-constrained `json_schema` mode by default. A length limit "
        "in the schema keeps a small model from writing until `max_tokens` cuts the JSON off.",
    ),
    (
        "code",
        "from pydantic import BaseModel, Field\n\n\n"
        "class Person(BaseModel):\n"
        "    name: str = Field(max_length=40)\n"
        "    age: int = Field(ge=0, le=150)\n\n\n"
        "roomy = LMStudioChatModel(model=MODEL, temperature=0, seed=42, max_tokens=128)\n"
        "structured = roomy.with_structured_output(Person)\n"
        'print(structured.invoke("Alice is 30 years old."))',
    ),
]

LLAMA_INDEX = [
    (
        "md",
        "# LlamaIndex on LM Studio: a local query engine and an agent\n\n"
        "What this shows: a `VectorStoreIndex` over a few documents embedded with `LMStudioEmbedding`, a query "
        "engine on `LMStudioLLM` (streaming), then a `FunctionAgent` with a tool. Nothing leaves your machine.\n\n"
        f"What it needs: {INSTALL} For the index, an embedding model too (LM Studio ships one; without one "
        "the documents are matched by keywords instead). Outputs below come from the project's real local test "
        "server (SmolLM2-135M).",
    ),
    ("code", SETUP),
    (
        "code",
        "from llama_index.core import Document, Settings, VectorStoreIndex\n\n"
        "from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM\n\n"
        "Settings.llm = LMStudioLLM(model=MODEL, temperature=0, seed=42, max_tokens=256)\n"
        "Settings.embed_model = LMStudioEmbedding(model_name=EMBEDDING_MODEL) if EMBEDDING_MODEL else None\n"
        "print(Settings.llm.metadata)",
    ),
    (
        "code",
        "documents = [\n"
        '    Document(text="The Eiffel Tower is in Paris. It was finished in 1889."),\n'
        '    Document(text="LM Studio runs language models on your own computer."),\n'
        '    Document(text="Bananas are yellow when they are ripe."),\n'
        "]\n"
        "if EMBEDDING_MODEL:\n"
        "    engine = VectorStoreIndex.from_documents(documents).as_query_engine(similarity_top_k=1, streaming=True)\n"
        "else:  # no embedding model on this server: match by keywords\n"
        "    from llama_index.core import SimpleKeywordTableIndex\n\n"
        "    engine = SimpleKeywordTableIndex.from_documents(documents).as_query_engine(streaming=True)\n"
        'response = engine.query("Where is the Eiffel Tower?")\n'
        "for text in response.response_gen:\n"
        '    print(text, end="", flush=True)\n'
        'print("\\n\\nsource:", response.source_nodes[0].node.get_content())',
    ),
    (
        "md",
        "An agent with a tool. A 135M model needs a nudge, so the first turn forces the tool "
        '(`initial_tool_choice="add"`); with a real model in LM Studio you can leave that out.',
    ),
    (
        "code",
        "from llama_index.core.agent.workflow import FunctionAgent\n"
        "from llama_index.core.tools import FunctionTool\n\n\n"
        "def add(a: int, b: int) -> int:\n"
        '    """Add two integers."""\n'
        "    return a + b\n\n\n"
        'agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=add, description="Add two integers.")],\n'
        '                      initial_tool_choice="add", early_stopping_method="generate")\n'
        'result = await agent.run(user_msg="Call the add tool with a=2 and b=3.", max_iterations=2)\n'
        "for call in result.tool_calls[:1]:\n"
        '    print("tool", call.tool_name, call.tool_kwargs, "->", call.tool_output.content)\n'
        'print("answer:", str(result)[:200])',
    ),
]

LOCAL_OR_CLOUD = [
    (
        "md",
        "# Local or cloud: one chain, two backends\n\n"
        "What this shows: the selector choosing LM Studio when it serves the model and a cloud model when it "
        "does not, with its reason, and the same chain running on both.\n\n"
        f"What it needs: {INSTALL} For the cloud side, the integration and key of the cloud model in "
        "`LM_STUDIO_FALLBACK` (default `openai:gpt-4o-mini`: `pip install langchain-openai` and "
        "`OPENAI_API_KEY`). Without them the notebook still shows every decision and says which cloud call it "
        'skipped. In the run saved here the "cloud" was an OpenAI-compatible endpoint given by '
        "`CLOUD_BASE_URL` (`LM_STUDIO_FALLBACK=openai-compatible:<model>`), so it ran without internet.",
    ),
    (
        "code",
        SETUP + "\n"
        'FALLBACK = os.environ.get("LM_STUDIO_FALLBACK", "openai:gpt-4o-mini")\n'
        'CLOUD_KWARGS = {"base_url": os.environ["CLOUD_BASE_URL"]} if "CLOUD_BASE_URL" in os.environ else {}',
    ),
    (
        "code",
        "from lmstudio_adapters import decide_backend\n\n"
        "print(decide_backend(MODEL, fallback=FALLBACK))\n"
        'print(decide_backend(MODEL, base_url="http://127.0.0.1:9", fallback=FALLBACK))  # nothing listens there\n'
        'print(decide_backend("a-model-it-does-not-have", fallback=FALLBACK))',
    ),
    (
        "code",
        "from langchain_core.output_parsers import StrOutputParser\n"
        "from langchain_core.prompts import ChatPromptTemplate\n\n"
        "from lmstudio_adapters import providers\n"
        "from lmstudio_adapters.langchain import select_chat_model\n\n"
        'prompt = ChatPromptTemplate.from_messages([("human", "Name one fruit. Answer with one word.")])\n\n'
        'for url in (os.environ.get("LM_STUDIO_URL", "http://localhost:1234"), "http://127.0.0.1:9"):\n'
        "    decision = decide_backend(MODEL, base_url=url, fallback=FALLBACK)\n"
        '    ready = providers.get(decision.provider).availability("langchain", **CLOUD_KWARGS)\n'
        '    if decision.target == "cloud" and not ready:  # no key or integration: say so, call nothing\n'
        '        print(f"{url}: needs the cloud ({FALLBACK}), skipped: {ready.reason}")\n'
        "        continue\n"
        "    llm = select_chat_model(MODEL, base_url=url, fallback=FALLBACK, cloud_kwargs=CLOUD_KWARGS,\n"
        "                            temperature=0, max_tokens=16)\n"
        "    chain = prompt | llm | StrOutputParser()  # the same chain code both times\n"
        '    print(f"{url}:", type(llm).__name__, "->", chain.invoke({}).strip())',
    ),
]

INSPECT = [
    (
        "md",
        "# Inspecting the server\n\n"
        "What this shows: the models the server has, with type, load state, context length and capabilities "
        "(as much as its API version tells), and generation statistics of a few requests as a small plot.\n\n"
        f"What it needs: {INSTALL} (the `notebooks` extra brings matplotlib). On LM Studio 0.3.6+ "
        "the native API fills every column; the saved run used the project's llama.cpp test server, which "
        "speaks only the OpenAI-compatible routes, so type and capabilities show as unknown.",
    ),
    ("code", SETUP),
    (
        "code",
        "from lmstudio_adapters import LMStudioClient\n"
        "from lmstudio_adapters.__main__ import models_table\n\n"
        "client = LMStudioClient(model=MODEL)\n"
        "models = client.list_models()\n"
        'print("API generation:", client.detected_api)\n'
        "rows = models_table(models)\n"
        "widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]\n"
        "for row in rows:\n"
        '    print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))',
    ),
    (
        "code",
        "import time\n\n"
        "stats = []\n"
        "for n in (16, 32, 64, 96):\n"
        "    start = time.monotonic()\n"
        "    first = None\n"
        '    with client.stream_chat([{"role": "user", "content": "Tell me about the sea."}],\n'
        "                            max_tokens=n, temperature=0, seed=1) as stream:\n"
        "        for chunk in stream:\n"
        "            if first is None and chunk.choices and chunk.choices[0].delta.content:\n"
        "                first = time.monotonic() - start\n"
        "            usage = chunk.usage or None\n"
        "    elapsed = time.monotonic() - start\n"
        "    first = elapsed if first is None else first  # an answer with no text at all\n"
        "    tokens = usage.completion_tokens if usage else 0\n"
        "    stats.append((n, first, tokens / elapsed))\n"
        '    print(f"max_tokens={n}: first token after {first:.3f} s, {tokens} tokens")',
    ),
    (
        "code",
        "%matplotlib inline\n"
        "import matplotlib.pyplot as plt\n\n"
        "fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))\n"
        'left.bar([str(n) for n, _, _ in stats], [f for _, f, _ in stats]); left.set_title("time to first token (s)")\n'
        'right.bar([str(n) for n, _, _ in stats], [t for _, _, t in stats]); right.set_title("tokens/s end to end")\n'
        'for ax in (left, right): ax.set_xlabel("max_tokens")\n'
        "fig.tight_layout()",
    ),
]

BOOKS = {
    "01_langchain_quickstart.ipynb": LANGCHAIN,
    "02_llamaindex_query_engine.ipynb": LLAMA_INDEX,
    "03_local_or_cloud.ipynb": LOCAL_OR_CLOUD,
    "04_inspect_server.ipynb": INSPECT,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` from its cells, without outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    for kind, source in BOOKS[name]:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        notebook.cells.append(cell)
    return notebook


def strip_metadata(notebook: nbformat.NotebookNode) -> None:
    """Remove execution timings and ids so saved notebooks diff cleanly."""
    notebook.metadata.pop("widgets", None)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"
        cell.metadata = {}
        if cell.cell_type == "code":
            cell.execution_count = None
            merged: list[nbformat.NotebookNode] = []
            for output in cell.outputs:
                output.pop("execution_count", None)
                if isinstance(output.get("metadata"), dict):
                    output["metadata"] = {}
                previous = merged[-1] if merged else None
                if (
                    previous is not None
                    and output.output_type == previous.output_type == "stream"
                    and output.name == previous.name
                ):
                    previous.text += output.text  # one block per stream, not one per streamed token
                else:
                    merged.append(output)
            cell.outputs = merged


def run(notebook: nbformat.NotebookNode, env: dict[str, str], timeout: int = 120) -> nbformat.NotebookNode:
    """Execute in a fresh kernel with ``env`` (the notebook directory as working directory)."""
    os.environ.update(env)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return notebook


def notebook_env(url: str, cloud_url: str | None) -> dict[str, str]:
    """The environment the notebooks run in: LM Studio at ``url``; a stand-in "cloud" at ``cloud_url``.

    The model ids are not set: the notebooks pick them from what the server lists. Without
    ``cloud_url`` no fallback is configured, as for a user with no cloud key.
    """
    from lmstudio_adapters.testing import CHAT_MODEL

    env = {"LM_STUDIO_URL": url, "MPLBACKEND": "Agg"}
    if cloud_url is not None:
        env.update({"LM_STUDIO_FALLBACK": f"openai-compatible:{CHAT_MODEL}", "CLOUD_BASE_URL": f"{cloud_url}/v1"})
    return env


def main() -> int:
    """Start the local server (unless LM_STUDIO_URL answers), run every notebook, save it."""
    from lmstudio_adapters import LMStudioClient
    from lmstudio_adapters.testing import LocalModelServer, Perturbation, SamplingProxy

    url = os.environ.get("LM_STUDIO_URL")
    perturbation = Perturbation.from_env()
    with LocalModelServer() as server, contextlib.ExitStack() as stack:
        if not url or not LMStudioClient(url).ping():
            url = server.base_url
        cloud = server.base_url
        if perturbation is not None:  # LMSTUDIO_ADAPTERS_PERTURB: sample every answer (see testing/_perturb.py)
            url = stack.enter_context(SamplingProxy(url, perturbation)).base_url
            cloud = stack.enter_context(SamplingProxy(cloud, perturbation)).base_url
        env = notebook_env(url, cloud)
        NOTEBOOKS.mkdir(exist_ok=True)
        for name in BOOKS:
            notebook = run(build(name), env)
            strip_metadata(notebook)
            nbformat.write(notebook, NOTEBOOKS / name)
            print("wrote", NOTEBOOKS / name)
    subprocess.run([sys.executable, "-m", "ruff", "format", str(NOTEBOOKS)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
