"""The built-in providers. Every import of a framework or cloud package happens inside a builder."""

from __future__ import annotations

from typing import Any

from lmstudio_adapters.providers import Provider

__all__ = ["BUILTINS", "langchain_only"]


def _lc_chat(provider: str) -> Any:
    def build(model: str, **kwargs: Any) -> Any:
        from langchain.chat_models import init_chat_model

        return init_chat_model(model, model_provider=provider, **kwargs)

    return build


def _lc_embeddings(provider: str) -> Any:
    def build(model: str, **kwargs: Any) -> Any:
        from langchain.embeddings import init_embeddings

        if provider == "openai":
            # Send strings, not token ids (LM Studio and most OpenAI-style servers reject ids).
            kwargs.setdefault("check_embedding_ctx_length", False)
        return init_embeddings(model, provider=provider, **kwargs)

    return build


def _lmstudio_chat(model: str, **kwargs: Any) -> Any:
    from lmstudio_adapters.langchain import LMStudioChatModel

    return LMStudioChatModel(model=model, **kwargs)


def _lmstudio_embeddings(model: str, **kwargs: Any) -> Any:
    from lmstudio_adapters.langchain import LMStudioEmbeddings

    return LMStudioEmbeddings(model=model, **kwargs)


def _lmstudio_llm(model: str, **kwargs: Any) -> Any:
    from lmstudio_adapters.llama_index import LMStudioLLM

    return LMStudioLLM(model=model, **kwargs)


def _lmstudio_embedding(model: str, **kwargs: Any) -> Any:
    from lmstudio_adapters.llama_index import LMStudioEmbedding

    return LMStudioEmbedding(model_name=model, **kwargs)


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
    from langchain.chat_models import init_chat_model

    kwargs.setdefault("api_key", "not-needed")
    return init_chat_model(model, model_provider="openai", **kwargs)


def _openai_like_embeddings(model: str, **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", "not-needed")
    return _lc_embeddings("openai")(model, **kwargs)


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
        packages={"langchain": "lmstudio-adapters[langchain]", "llama_index": "lmstudio-adapters[llama-index]"},
        builders={
            "chat": _lmstudio_chat,
            "embeddings": _lmstudio_embeddings,
            "llm": _lmstudio_llm,
            "embedding": _lmstudio_embedding,
        },
    ),
    Provider(
        name="openai",
        key_env="OPENAI_API_KEY",
        modules={"langchain": "langchain_openai", "llama_index": "llama_index.llms.openai"},
        packages={"langchain": "langchain langchain-openai", "llama_index": "llama-index-llms-openai"},
        builders={
            "chat": _lc_chat("openai"),
            "embeddings": _lc_embeddings("openai"),
            "llm": _openai_llm,
            "embedding": _openai_embedding,
        },
    ),
    Provider(
        name="anthropic",
        key_env="ANTHROPIC_API_KEY",
        modules={"langchain": "langchain_anthropic", "llama_index": "llama_index.llms.anthropic"},
        packages={"langchain": "langchain langchain-anthropic", "llama_index": "llama-index-llms-anthropic"},
        builders={"chat": _lc_chat("anthropic"), "llm": _anthropic_llm},
    ),
    Provider(
        name="replicate",
        key_env="REPLICATE_API_TOKEN",
        modules={"langchain": "langchain_community", "llama_index": "llama_index.llms.replicate"},
        packages={"langchain": "langchain-community replicate", "llama_index": "llama-index-llms-replicate"},
        builders={"llm": _replicate_llm},
    ),
    Provider(
        name="openai-compatible",
        modules={"langchain": "langchain_openai", "llama_index": "llama_index.llms.openai_like"},
        packages={"langchain": "langchain langchain-openai", "llama_index": "llama-index-llms-openai-like"},
        builders={
            "chat": _openai_like_chat,
            "embeddings": _openai_like_embeddings,
            "llm": _openai_like_llm,
            "embedding": _openai_embedding,
        },
        needs_base_url=True,
    ),
)


def langchain_only(name: str) -> Provider:
    """A provider for any name LangChain's ``init_chat_model`` / ``init_embeddings`` know."""
    return Provider(
        name=name,
        modules={"langchain": "langchain"},
        packages={"langchain": f"langchain and the langchain-{name.replace('_', '-')} integration"},
        builders={"chat": _lc_chat(name), "embeddings": _lc_embeddings(name)},
    )
