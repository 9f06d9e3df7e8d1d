# %% [markdown]
# # LlamaIndex on LM Studio: a local query engine and an agent
#
# What this shows: a `VectorStoreIndex` over a few documents embedded with `LMStudioEmbedding`, a query engine on `LMStudioLLM` (streaming), then a `FunctionAgent` with a tool. Nothing leaves your machine.
#
# What it needs: Install what the notebooks need (from a checkout: `pip install -e ".[notebooks]"`; once published: `pip install "lmstudio-adapters[notebooks]"`), and have LM Studio running with a chat model loaded. For the index, an embedding model too (LM Studio ships one; without one the documents are matched by keywords instead). Outputs below come from the project's real local test server (SmolLM2-135M).

# %%
import os

from lmstudio_adapters import LMStudioClient

# Which server and models: LM_STUDIO_URL (default http://localhost:1234), LM_STUDIO_MODEL and
# LM_STUDIO_EMBEDDING_MODEL when set, else picked from what the server lists (loaded ones first).
listed = sorted(LMStudioClient().list_models(), key=lambda m: m.is_loaded is not True)
chat_ids = [m.id for m in listed if not m.is_embedding_model]
embedding_ids = [m.id for m in listed if m.is_embedding_model]
MODEL = os.environ.get("LM_STUDIO_MODEL") or (chat_ids[0] if chat_ids else "local-model")
EMBEDDING_MODEL = os.environ.get("LM_STUDIO_EMBEDDING_MODEL") or (embedding_ids[0] if embedding_ids else None)
print("LM Studio at", os.environ.get("LM_STUDIO_URL", "http://localhost:1234"), "chat model", MODEL)

# %%
from llama_index.core import Document, Settings, VectorStoreIndex

from lmstudio_adapters.llama_index import LMStudioEmbedding, LMStudioLLM

Settings.llm = LMStudioLLM(model=MODEL, temperature=0, seed=42, max_tokens=256)
Settings.embed_model = LMStudioEmbedding(model_name=EMBEDDING_MODEL) if EMBEDDING_MODEL else None
print(Settings.llm.metadata)

# %%
documents = [
    Document(text="The Eiffel Tower is in Paris. It was finished in 1889."),
    Document(text="LM Studio runs language models on your own computer."),
    Document(text="Bananas are yellow when they are ripe."),
]
if EMBEDDING_MODEL:
    engine = VectorStoreIndex.from_documents(documents).as_query_engine(similarity_top_k=1, streaming=True)
else:  # no embedding model on this server: match by keywords
    from llama_index.core import SimpleKeywordTableIndex

    engine = SimpleKeywordTableIndex.from_documents(documents).as_query_engine(streaming=True)
response = engine.query("Where is the Eiffel Tower?")
for text in response.response_gen:
    print(text, end="", flush=True)
print("\n\nsource:", response.source_nodes[0].node.get_content())

# %% [markdown]
# An agent with a tool. A 135M model needs a nudge, so the first turn forces the tool (`initial_tool_choice="add"`); with a real model in LM Studio you can leave that out.

# %%
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


agent = FunctionAgent(
    tools=[FunctionTool.from_defaults(fn=add, description="Add two integers.")],
    initial_tool_choice="add",
    early_stopping_method="generate",
)
result = await agent.run(user_msg="Call the add tool with a=2 and b=3.", max_iterations=2)
for call in result.tool_calls[:1]:
    print("tool", call.tool_name, call.tool_kwargs, "->", call.tool_output.content)
print("answer:", str(result)[:200])
