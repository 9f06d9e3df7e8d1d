# %% [markdown]
# # LangChain quickstart on LM Studio
#
# What this shows: `LMStudioChatModel` where you would use `ChatOpenAI`: invoke, stream, a `prompt | model | parser` chain, tool calling with an agent loop, and structured output into a pydantic model.
#
# What it needs: Install what the notebooks need (from a checkout: `pip install -e ".[notebooks]"`; once published: `pip install "lmstudio-adapters[notebooks]"`), and have LM Studio running with a chat model loaded. The outputs below come from the project's real local test server (llama.cpp with SmolLM2-135M), so expect a small model's answers.
#
# To test chains like these without a server, record them once with `lmstudio_adapters.testing` (see "Testing your own chains" in the README).

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
from lmstudio_adapters.langchain import LMStudioChatModel

llm = LMStudioChatModel(model=MODEL, temperature=0, seed=42, max_tokens=64)
reply = llm.invoke("What is the capital of France? Answer in one sentence.")
print(reply.content)
print(reply.usage_metadata)
print(reply.response_metadata.get("stats"))

# %% [markdown]
# Streaming: chunks arrive as the model writes them; the last one carries the token usage.

# %%
for chunk in llm.stream("Name three colours."):
    print(chunk.content, end="", flush=True)

# %% [markdown]
# A chain: prompt template, model, output parser.

# %%
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages(
    [("system", "You answer in one short sentence."), ("human", "What is {thing} used for?")]
)
chain = prompt | llm | StrOutputParser()
print(chain.invoke({"thing": "a hammer"}))

# %% [markdown]
# Tool calling with a small agent loop: the model asks for a tool, we run it and send the result back. `tool_choice="add"` forces the named tool (LM Studio ignores the OpenAI object form, so the adapter sends only that tool with `required`).

# %%
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


messages = [HumanMessage("Call the add tool with a=2 and b=3.")]
ai = llm.bind_tools([add], tool_choice="add").invoke(messages, max_tokens=256)
messages.append(ai)
for call in ai.tool_calls[:1]:
    print("model asked for", call["name"], call["args"])
    messages.append(ToolMessage(str(add.invoke(call["args"])), tool_call_id=call["id"]))
for call in ai.invalid_tool_calls:  # e.g. cut off by max_tokens: never run, never sent back
    print("incomplete call:", call["error"])
print(llm.invoke(messages).content)

# %% [markdown]
# Structured output uses LM Studio's grammar-constrained `json_schema` mode by default. A length limit in the schema keeps a small model from writing until `max_tokens` cuts the JSON off.

# %%
from pydantic import BaseModel, Field


class Person(BaseModel):
    name: str = Field(max_length=40)
    age: int = Field(ge=0, le=150)


roomy = LMStudioChatModel(model=MODEL, temperature=0, seed=42, max_tokens=128)
structured = roomy.with_structured_output(Person)
print(structured.invoke("Alice is 30 years old."))
