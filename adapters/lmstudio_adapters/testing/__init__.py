"""Test helpers for code built on lmstudio-adapters: a real local model server and cassettes.

Nothing here is imported by ``import lmstudio_adapters``.
"""

from lmstudio_adapters.testing._server import (
    CHAT_MODEL,
    COMPLETION_MODEL,
    EMBEDDING_MODEL,
    LocalModelServer,
    ServerSetupError,
)

__all__ = ["CHAT_MODEL", "COMPLETION_MODEL", "EMBEDDING_MODEL", "LocalModelServer", "ServerSetupError"]
