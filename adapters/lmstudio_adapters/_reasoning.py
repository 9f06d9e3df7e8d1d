"""Reasoning kept apart from the answer when a model writes it inline as ``<think>...</think>``.

LM Studio leaves think tags in ``content`` when its "separate reasoning_content" setting is
off (the default); see docs/lmstudio-api.md, section 2.2.
"""

from __future__ import annotations

__all__ = ["ThinkTagSplitter", "split_think_tags"]

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


def split_think_tags(content: str) -> tuple[str, str]:
    """Split a whole reply into ``(reasoning, answer)``.

    A reply that starts with ``<think>`` loses that block; a reply with a lone ``</think>``
    (templates that open the tag inside the prompt) loses everything before it.
    """
    stripped = content.lstrip()
    if stripped.startswith(OPEN_TAG):
        end = stripped.find(CLOSE_TAG)
        if end < 0:
            return stripped[len(OPEN_TAG) :], ""
        return stripped[len(OPEN_TAG) : end].strip(), stripped[end + len(CLOSE_TAG) :].lstrip()
    if CLOSE_TAG in content and OPEN_TAG not in content:
        reasoning, _, answer = content.partition(CLOSE_TAG)
        return reasoning.strip(), answer.lstrip()
    return "", content


def _partial_suffix(text: str, tag: str) -> int:
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkTagSplitter:
    """The streaming form of :func:`split_think_tags`: tags may be cut across deltas."""

    __slots__ = ("_pending", "_state", "settled")

    def __init__(self) -> None:
        self._state = "start"
        self._pending = ""
        # True once the answer has begun with nothing held back: every later delta passes unchanged.
        self.settled = False

    def feed(self, text: str) -> tuple[str, str]:
        """Take the next content delta; return the ``(reasoning, answer)`` text it releases."""
        if self.settled:
            return "", text
        buffer = self._pending + text
        self._pending = ""
        reasoning = answer = ""
        while buffer:
            if self._state == "start":
                stripped = buffer.lstrip()
                if not stripped or (OPEN_TAG.startswith(stripped) and stripped != OPEN_TAG):
                    self._pending = buffer
                    break
                if stripped.startswith(OPEN_TAG):
                    self._state = "thinking"
                    buffer = stripped[len(OPEN_TAG) :]
                else:
                    self._state = "answer"
            elif self._state == "thinking":
                end = buffer.find(CLOSE_TAG)
                if end >= 0:
                    reasoning += buffer[:end]
                    buffer = buffer[end + len(CLOSE_TAG) :]
                    self._state = "after"
                else:
                    keep = _partial_suffix(buffer, CLOSE_TAG)
                    reasoning += buffer[: len(buffer) - keep]
                    self._pending = buffer[len(buffer) - keep :]
                    break
            elif self._state == "after":
                buffer = buffer.lstrip()
                if buffer:
                    self._state = "answer"
            else:
                answer += buffer
                break
        self.settled = self._state == "answer" and not self._pending
        return reasoning, answer

    def flush(self) -> tuple[str, str]:
        """End of stream: release whatever was held back."""
        pending, self._pending = self._pending, ""
        if self._state == "thinking":
            return pending, ""
        return "", pending
