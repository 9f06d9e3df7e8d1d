# %% [markdown]
# # Inspecting the server
#
# What this shows: the models the server has, with type, load state, context length and capabilities (as much as its API version tells), and generation statistics of a few requests as a small plot.
#
# What it needs: Install what the notebooks need (from a checkout: `pip install -e ".[notebooks]"`; once published: `pip install "lmstudio-adapters[notebooks]"`), and have LM Studio running with a chat model loaded. (the `notebooks` extra brings matplotlib). On LM Studio 0.3.6+ the native API fills every column; the saved run used the project's llama.cpp test server, which speaks only the OpenAI-compatible routes, so type and capabilities show as unknown.

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
from lmstudio_adapters import LMStudioClient
from lmstudio_adapters.__main__ import models_table

client = LMStudioClient(model=MODEL)
models = client.list_models()
print("API generation:", client.detected_api)
rows = models_table(models)
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))

# %%
import time

stats = []
for n in (16, 32, 64, 96):
    start = time.monotonic()
    first = None
    with client.stream_chat(
        [{"role": "user", "content": "Tell me about the sea."}], max_tokens=n, temperature=0, seed=1
    ) as stream:
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.monotonic() - start
            usage = chunk.usage or None
    elapsed = time.monotonic() - start
    first = elapsed if first is None else first  # an answer with no text at all
    tokens = usage.completion_tokens if usage else 0
    stats.append((n, first, tokens / elapsed))
    print(f"max_tokens={n}: first token after {first:.3f} s, {tokens} tokens")

# %%
# %matplotlib inline
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
left.bar([str(n) for n, _, _ in stats], [f for _, f, _ in stats])
left.set_title("time to first token (s)")
right.bar([str(n) for n, _, _ in stats], [t for _, _, t in stats])
right.set_title("tokens/s end to end")
for ax in (left, right):
    ax.set_xlabel("max_tokens")
fig.tight_layout()
