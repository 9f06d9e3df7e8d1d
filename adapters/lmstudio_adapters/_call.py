"""One prepared request, as both clients send it and every error names it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Call"]


@dataclass(frozen=True, slots=True)
class Call:
    """One prepared request: what to send, and what the errors should say about it."""

    method: str
    path: str
    content: bytes | None
    model: str
    timeout: float
    max_retries: int

    def url(self, base_url: str) -> str:
        """The full URL of this call."""
        return base_url + self.path
