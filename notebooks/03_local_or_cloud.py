# %% [markdown]
# # Local or cloud: one chain, two backends
#
# What this shows: the selector choosing LM Studio when it serves the model and a cloud model when it does not, with its reason, and the same chain running on both.
#
# What it needs: Install what the notebooks need (from a checkout: `pip install -e ".[notebooks]"`; once published: `pip install "lmstudio-adapters[notebooks]"`), and have LM Studio running with a chat model loaded. For the cloud side, the integration and key of the cloud model in `LM_STUDIO_FALLBACK` (default `openai:gpt-4o-mini`: `pip install langchain-openai` and `OPENAI_API_KEY`). Without them the notebook still shows every decision and says which cloud call it skipped. In the run saved here the "cloud" was an OpenAI-compatible endpoint given by `CLOUD_BASE_URL` (`LM_STUDIO_FALLBACK=openai-compatible:<model>`), so it ran without internet.

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
FALLBACK = os.environ.get("LM_STUDIO_FALLBACK", "openai:gpt-4o-mini")
CLOUD_KWARGS = {"base_url": os.environ["CLOUD_BASE_URL"]} if "CLOUD_BASE_URL" in os.environ else {}

# %%
from lmstudio_adapters import decide_backend

print(decide_backend(MODEL, fallback=FALLBACK))
print(decide_backend(MODEL, base_url="http://127.0.0.1:9", fallback=FALLBACK))  # nothing listens there
print(decide_backend("a-model-it-does-not-have", fallback=FALLBACK))

# %%
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from lmstudio_adapters import providers
from lmstudio_adapters.langchain import select_chat_model

prompt = ChatPromptTemplate.from_messages([("human", "Name one fruit. Answer with one word.")])

for url in (os.environ.get("LM_STUDIO_URL", "http://localhost:1234"), "http://127.0.0.1:9"):
    decision = decide_backend(MODEL, base_url=url, fallback=FALLBACK)
    ready = providers.get(decision.provider).availability("langchain", **CLOUD_KWARGS)
    if decision.target == "cloud" and not ready:  # no key or integration: say so, call nothing
        print(f"{url}: needs the cloud ({FALLBACK}), skipped: {ready.reason}")
        continue
    llm = select_chat_model(
        MODEL, base_url=url, fallback=FALLBACK, cloud_kwargs=CLOUD_KWARGS, temperature=0, max_tokens=16
    )
    chain = prompt | llm | StrOutputParser()  # the same chain code both times
    print(f"{url}:", type(llm).__name__, "->", chain.invoke({}).strip())
