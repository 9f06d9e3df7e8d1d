"""Run LangChain and LlamaIndex code on LM Studio; fall back to the cloud when it isn't there.

The core (this module) needs only httpx and pydantic. The framework adapters live in
``lmstudio_adapters.langchain`` and ``lmstudio_adapters.llama_index`` (optional extras).
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from lmstudio_adapters._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigError,
    ContextLengthError,
    DownloadError,
    FeatureNotSupportedError,
    InputError,
    LMStudioAdapterError,
    MissingDependencyError,
    ModelNotFoundError,
    ModelNotLoadedError,
    ModelOutputError,
    NoBackendError,
    RateLimitError,
    ResponseError,
    ServerError,
    ToolCallError,
)
from lmstudio_adapters._lazy import lazy_exports as _lazy_exports
from lmstudio_adapters._version import __version__

if _TYPE_CHECKING:
    from lmstudio_adapters._async_client import AsyncLMStudioClient
    from lmstudio_adapters._client import LMStudioClient
    from lmstudio_adapters._config import LMStudioSettings
    from lmstudio_adapters._discovery import LocalServer, adiscover, discover
    from lmstudio_adapters._lifecycle_wire import DownloadProgress, LoadedModel
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
    from lmstudio_adapters._tool_calls import ToolCallAssembler

# The errors and the version are plain Python and load with the package; everything else
# loads on first use, as pydantic does with BaseModel. `import lmstudio_adapters` then costs
# nothing on its own, and the modules behind a name (httpx, pydantic models, asyncio,
# pydantic-settings) are imported by the code that uses them.
_LAZY = {
    "AsyncLMStudioClient": "lmstudio_adapters._async_client",
    "AsyncStream": "lmstudio_adapters._stream",
    "ChatCompletion": "lmstudio_adapters._schemas",
    "ChatCompletionChunk": "lmstudio_adapters._schemas",
    "ChatMessage": "lmstudio_adapters._schemas",
    "Completion": "lmstudio_adapters._schemas",
    "Decision": "lmstudio_adapters._selector",
    "DownloadProgress": "lmstudio_adapters._lifecycle_wire",
    "EmbeddingResponse": "lmstudio_adapters._schemas",
    "GenerationStats": "lmstudio_adapters._schemas",
    "LMStudioClient": "lmstudio_adapters._client",
    "LMStudioSettings": "lmstudio_adapters._config",
    "LoadedModel": "lmstudio_adapters._lifecycle_wire",
    "LocalServer": "lmstudio_adapters._discovery",
    "ModelInfo": "lmstudio_adapters._schemas",
    "ProbeResult": "lmstudio_adapters._selector",
    "Stream": "lmstudio_adapters._stream",
    "ToolCall": "lmstudio_adapters._schemas",
    "ToolCallAssembler": "lmstudio_adapters._tool_calls",
    "Usage": "lmstudio_adapters._schemas",
    "adiscover": "lmstudio_adapters._discovery",
    "clear_probe_cache": "lmstudio_adapters._selector",
    "decide_backend": "lmstudio_adapters._selector",
    "discover": "lmstudio_adapters._discovery",
}


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY)

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
    "ClientClosedError",
    "Completion",
    "ConfigError",
    "ContextLengthError",
    "Decision",
    "DownloadError",
    "DownloadProgress",
    "EmbeddingResponse",
    "FeatureNotSupportedError",
    "GenerationStats",
    "InputError",
    "LMStudioAdapterError",
    "LMStudioClient",
    "LMStudioSettings",
    "LoadedModel",
    "LocalServer",
    "MissingDependencyError",
    "ModelInfo",
    "ModelNotFoundError",
    "ModelNotLoadedError",
    "ModelOutputError",
    "NoBackendError",
    "ProbeResult",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "Stream",
    "ToolCall",
    "ToolCallAssembler",
    "ToolCallError",
    "Usage",
    "__version__",
    "adiscover",
    "clear_probe_cache",
    "decide_backend",
    "discover",
]
