"""Build the notebooks in notebooks/ from the cells below, run them, and save them with outputs.

    python .ci/notebooks.py            # against LM_STUDIO_URL if it answers, else the local server

Outputs come from a real run; execution metadata (timings, ids) is stripped so diffs stay
readable. tests/test_notebooks.py executes the same files on every test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

SETUP = """\
import os

# The notebook reads the usual LM Studio settings from the environment:
# LM_STUDIO_URL (default http://localhost:1234) and LM_STUDIO_MODEL.
MODEL = os.environ.get("LM_STUDIO_MODEL", "local-model")
print("LM Studio at", os.environ.get("LM_STUDIO_URL", "http://localhost:1234"), "model", MODEL)"""

LANGCHAIN = [
    (
        "md",
        "# LangChain quickstart on LM Studio\n\n"
        "What this shows: `LMStudioChatModel` where you would use `ChatOpenAI`: invoke, stream, a "
        "`prompt | model | parser` chain, tool calling with an agent loop, and structured output into a "
        "pydantic model.\n\n"
        'What it needs: `pip install "lmstudio-adapters[langchain]"` and LM Studio running with a chat model '
        "loaded (set `LM_STUDIO_URL` and `LM_STUDIO_MODEL`). The outputs below come from the project's real "
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
        'ai = llm.bind_tools([add], tool_choice="add").invoke(messages, max_tokens=96)\n'
        "messages.append(ai)\n"
        "for call in ai.tool_calls[:1]:\n"
        '    print("model asked for", call["name"], call["args"])\n'
        '    messages.append(ToolMessage(str(add.invoke(call["args"])), tool_call_id=call["id"]))\n'
        "print(llm.invoke(messages).content)",
    ),
    ("md", "Structured output uses LM Studio's grammar-constrained `json_schema` mode by default."),
    (
        "code",
        "from pydantic import BaseModel\n\n\n"
        "class Person(BaseModel):\n"
        "    name: str\n"
        "    age: int\n\n\n"
        'print(llm.with_structured_output(Person).invoke("Alice is 30 years old."))',
    ),
]

LLAMA_INDEX = [
    (
        "md",
        "# LlamaIndex on LM Studio: a local query engine and an agent\n\n"
        "What this shows: a `VectorStoreIndex` over a few documents embedded with `LMStudioEmbedding`, a query "
        "engine on `LMStudioLLM` (streaming), then a `FunctionAgent` with a tool. Nothing leaves your machine.\n\n"
        'What it needs: `pip install "lmstudio-adapters[llama-index]"`, LM Studio with a chat model and an '
        "embedding model (set `LM_STUDIO_MODEL` and `EMBEDDING_MODEL`). Outputs below come from the project's "
        "real local test server (SmolLM2-135M).",
    ),
    (
        "code",
        SETUP + '\nEMBEDDING_MODEL = os.environ.get("EMBEDDING_MODEL", "text-embedding-nomic-embed-text-v1.5")',
    ),
    (
        "code",
        "from llama_index.core import Document, Settings, VectorStoreIndex\n\n"
        "from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM\n\n"
        "Settings.llm = LMStudioLLM(model=MODEL, temperature=0, seed=42, max_tokens=96)\n"
        "Settings.embed_model = LMStudioEmbedding(model_name=EMBEDDING_MODEL)\n"
        "print(Settings.llm.metadata)",
    ),
    (
        "code",
        "documents = [\n"
        '    Document(text="The Eiffel Tower is in Paris. It was finished in 1889."),\n'
        '    Document(text="LM Studio runs language models on your own computer."),\n'
        '    Document(text="Bananas are yellow when they are ripe."),\n'
        "]\n"
        "index = VectorStoreIndex.from_documents(documents)\n"
        "engine = index.as_query_engine(similarity_top_k=1, streaming=True)\n"
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
        '    print("tool", call.tool_name, call.tool_kwargs, "->", call.tool_output.content)',
    ),
]

LOCAL_OR_CLOUD = [
    (
        "md",
        "# Local or cloud: one chain, two backends\n\n"
        "What this shows: the selector choosing LM Studio when it serves the model and a cloud model when it "
        "does not, with its reason, and the same chain running on both.\n\n"
        'What it needs: `pip install "lmstudio-adapters[langchain,cloud]"`. The cloud model is '
        "`LM_STUDIO_FALLBACK` (for example `openai:gpt-4o-mini` with `OPENAI_API_KEY`). In the run saved here "
        'the "cloud" was an OpenAI-compatible endpoint given by `CLOUD_BASE_URL` '
        "(`LM_STUDIO_FALLBACK=openai-compatible:<model>`), so the notebook runs without internet.",
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
        "from lmstudio_adapters.langchain import select_chat_model\n\n"
        'prompt = ChatPromptTemplate.from_messages([("human", "Name one fruit. Answer with one word.")])\n\n'
        'for url in (os.environ.get("LM_STUDIO_URL", "http://localhost:1234"), "http://127.0.0.1:9"):\n'
        "    llm = select_chat_model(MODEL, base_url=url, fallback=FALLBACK, cloud_kwargs=CLOUD_KWARGS,\n"
        "                            temperature=0, max_tokens=16)\n"
        "    chain = prompt | llm | StrOutputParser()  # the same chain code both times\n"
        '    print(type(llm).__name__, "->", chain.invoke({}).strip())',
    ),
]

INSPECT = [
    (
        "md",
        "# Inspecting the server\n\n"
        "What this shows: the models the server has, with type, load state, context length and capabilities "
        "(as much as its API version tells), and generation statistics of a few requests as a small plot.\n\n"
        "What it needs: `pip install lmstudio-adapters matplotlib` and a running server. On LM Studio 0.3.6+ "
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
        "    stats.append((n, first, usage.completion_tokens / elapsed))\n"
        '    print(f"max_tokens={n}: first token after {first:.3f} s, {usage.completion_tokens} tokens")',
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


def main() -> int:
    """Start the local server (unless LM_STUDIO_URL answers), run every notebook, save it."""
    from lmstudio_adapters import LMStudioClient
    from lmstudio_adapters.testing import CHAT_MODEL, EMBEDDING_MODEL, LocalModelServer

    url = os.environ.get("LM_STUDIO_URL")
    with LocalModelServer() as server:
        if not url or not LMStudioClient(url).ping():
            url = server.base_url
        env = {
            "LM_STUDIO_URL": url,
            "LM_STUDIO_MODEL": os.environ.get("LM_STUDIO_MODEL", CHAT_MODEL),
            "EMBEDDING_MODEL": os.environ.get("EMBEDDING_MODEL", EMBEDDING_MODEL),
            "LM_STUDIO_FALLBACK": f"openai-compatible:{CHAT_MODEL}",
            "CLOUD_BASE_URL": f"{server.base_url}/v1",
        }
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
