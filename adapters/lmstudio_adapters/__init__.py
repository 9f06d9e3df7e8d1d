"""Run LangChain and LlamaIndex code on LM Studio; fall back to the cloud when it isn't there.

The core (this module) needs only httpx and pydantic. The framework adapters live in
``lmstudio_adapters.langchain`` and ``lmstudio_adapters.llama_index`` (optional extras).
"""

from lmstudio_adapters._async_client import AsyncLMStudioClient
from lmstudio_adapters._client import LMStudioClient
from lmstudio_adapters._config import LMStudioSettings
from lmstudio_adapters._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContextLengthError,
    InputError,
    LMStudioAdapterError,
    ModelNotFoundError,
    ModelNotLoadedError,
    NoBackendError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from lmstudio_adapters._schemas import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    Completion,
    EmbeddingResponse,
    GenerationStats,
    ModelInfo,
    ToolCall,
    Usage,
)
from lmstudio_adapters._selector import Decision, ProbeResult, clear_probe_cache, decide_backend
from lmstudio_adapters._stream import AsyncStream, Stream
from lmstudio_adapters._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncLMStudioClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "Completion",
    "ConfigError",
    "ContextLengthError",
    "Decision",
    "EmbeddingResponse",
    "GenerationStats",
    "InputError",
    "LMStudioAdapterError",
    "LMStudioClient",
    "LMStudioSettings",
    "ModelInfo",
    "ModelNotFoundError",
    "ModelNotLoadedError",
    "NoBackendError",
    "ProbeResult",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "Stream",
    "ToolCall",
    "Usage",
    "__version__",
    "clear_probe_cache",
    "decide_backend",
]
