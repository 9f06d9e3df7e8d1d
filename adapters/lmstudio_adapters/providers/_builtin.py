"""The built-in providers. Every import of a framework or cloud package happens inside a builder.

LM Studio's own builders name the adapter classes by module, as LangChain's
``init_chat_model`` names its integrations: the registry sits below the adapters (which use
it to build their cloud fallbacks) and imports them only when it builds one.
"""

from __future__ import annotations

import importlib
from typing import Any

from lmstudio_adapters.providers._provider import Builder, Provider

__all__ = ["BUILTINS", "langchain_only"]


def _init_chat(provider: str) -> Any:
    def build(model: str, **kwargs: Any) -> Any:
        from langchain.chat_models import init_chat_model

        return init_chat_model(model, model_provider=provider, **kwargs)

    return build


def _init_embeddings(provider: str) -> Any:
    def build(model: str, **kwargs: Any) -> Any:
        from langchain.embeddings import init_embeddings

        return init_embeddings(model, provider=provider, **kwargs)

    return build


def _openai_chat(model: str, **kwargs: Any) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=model, **kwargs)


def _openai_embeddings(model: str, **kwargs: Any) -> Any:
    from langchain_openai import OpenAIEmbeddings

    # Send strings, not token ids (LM Studio and most OpenAI-style servers reject ids).
    kwargs.setdefault("check_embedding_ctx_length", False)
    return OpenAIEmbeddings(model=model, **kwargs)


def _anthropic_chat(model: str, **kwargs: Any) -> Any:
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(model=model, **kwargs)


def _lmstudio(module: str, class_name: str, model_argument: str) -> Builder:
    def build(model: str, **kwargs: Any) -> Any:
        model_class = getattr(importlib.import_module(module), class_name)
        return model_class(**{model_argument: model}, **kwargs)

    return build


def _openai_llm(model: str, **kwargs: Any) -> Any:
    from llama_index.llms.openai import OpenAI

    if "base_url" in kwargs:
        kwargs["api_base"] = kwargs.pop("base_url")
    return OpenAI(model=model, **kwargs)


def _openai_embedding(model: str, **kwargs: Any) -> Any:
    from llama_index.embeddings.openai import OpenAIEmbedding

    if "base_url" in kwargs:
        kwargs["api_base"] = kwargs.pop("base_url")
    return OpenAIEmbedding(model_name=model, **kwargs)


def _openai_like_llm(model: str, **kwargs: Any) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    kwargs["api_base"] = kwargs.pop("base_url")
    kwargs.setdefault("api_key", "not-needed")
    kwargs.setdefault("is_chat_model", True)
    kwargs.setdefault("is_function_calling_model", True)
    return OpenAILike(model=model, **kwargs)


def _openai_like_chat(model: str, **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", "not-needed")
    return _openai_chat(model, **kwargs)


def _openai_like_embeddings(model: str, **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", "not-needed")
    return _openai_embeddings(model, **kwargs)


def _openai_like_embedding(model: str, **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", "not-needed")
    return _openai_embedding(model, **kwargs)


def _anthropic_llm(model: str, **kwargs: Any) -> Any:
    from llama_index.llms.anthropic import Anthropic

    return Anthropic(model=model, **kwargs)


def _replicate_llm(model: str, **kwargs: Any) -> Any:
    from llama_index.llms.replicate import Replicate

    return Replicate(model=model, **kwargs)


BUILTINS = (
    Provider(
        name="lmstudio",
        modules={"langchain": "langchain_core", "llama_index": "llama_index.core"},
        packages={"langchain": '"lmstudio-adapters[langchain]"', "llama_index": '"lmstudio-adapters[llama-index]"'},
        builders={
            "chat": _lmstudio("lmstudio_adapters.langchain", "LMStudioChatModel", "model"),
            "embeddings": _lmstudio("lmstudio_adapters.langchain", "LMStudioEmbeddings", "model"),
            "llm": _lmstudio("lmstudio_adapters.llama_index", "LMStudioLLM", "model"),
            "embedding": _lmstudio("lmstudio_adapters.llama_index", "LMStudioEmbedding", "model_name"),
        },
    ),
    Provider(
        name="openai",
        key_env="OPENAI_API_KEY",
        modules={
            "langchain": "langchain_openai",
            "llm": "llama_index.llms.openai",
            "embedding": "llama_index.embeddings.openai",
        },
        packages={
            "langchain": "langchain-openai",
            "llm": "llama-index-llms-openai",
            "embedding": "llama-index-embeddings-openai",
        },
        builders={
            "chat": _openai_chat,
            "embeddings": _openai_embeddings,
            "llm": _openai_llm,
            "embedding": _openai_embedding,
        },
    ),
    Provider(
        name="anthropic",
        key_env="ANTHROPIC_API_KEY",
        modules={"langchain": "langchain_anthropic", "llama_index": "llama_index.llms.anthropic"},
        packages={"langchain": "langchain-anthropic", "llama_index": "llama-index-llms-anthropic"},
        builders={"chat": _anthropic_chat, "llm": _anthropic_llm},
    ),
    Provider(
        name="replicate",
        key_env="REPLICATE_API_TOKEN",
        modules={"llama_index": "llama_index.llms.replicate"},
        packages={"llama_index": "llama-index-llms-replicate"},
        builders={"llm": _replicate_llm},
    ),
    Provider(
        name="openai-compatible",
        modules={
            "langchain": "langchain_openai",
            "llm": "llama_index.llms.openai_like",
            "embedding": "llama_index.embeddings.openai",
        },
        packages={
            "langchain": "langchain-openai",
            "llm": "llama-index-llms-openai-like",
            "embedding": "llama-index-embeddings-openai",
        },
        builders={
            "chat": _openai_like_chat,
            "embeddings": _openai_like_embeddings,
            "llm": _openai_like_llm,
            "embedding": _openai_like_embedding,
        },
        needs_base_url=True,
        base_url_env="LM_STUDIO_FALLBACK_BASE_URL",
    ),
)


def _integration_module(name: str, table: str) -> str:
    """The integration module ``init_chat_model`` / ``init_embeddings`` import for ``name``."""
    known: dict[str, Any] = {}
    try:
        if table == "chat":
            from langchain.chat_models.base import _BUILTIN_PROVIDERS as known
        else:
            from langchain.embeddings.base import _BUILTIN_PROVIDERS as known
    except ImportError:  # langchain missing, or its table moved: fall back to the integrations' naming rule
        pass
    entry = known.get(name)
    return str(entry[0]).split(".")[0] if entry else f"langchain_{name}"


def langchain_only(name: str) -> Provider:
    """A provider for any other name LangChain's ``init_chat_model`` / ``init_embeddings`` know.

    Needs the ``langchain`` package (home of ``init_chat_model``) and the provider's integration.
    """
    chat, embeddings = _integration_module(name, "chat"), _integration_module(name, "embeddings")
    return Provider(
        name=name,
        modules={"chat": ("langchain", chat), "embeddings": ("langchain", embeddings)},
        packages={
            "chat": f"langchain {chat.replace('_', '-')}",
            "embeddings": f"langchain {embeddings.replace('_', '-')}",
        },
        builders={"chat": _init_chat(name), "embeddings": _init_embeddings(name)},
    )
