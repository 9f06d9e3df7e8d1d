r"""Server-sent events: bytes in, events out. Knows nothing of HTTP clients.

Follows the WHATWG event-stream rules that matter here: lines end in ``\\n``, ``\\r\\n`` or
``\\r``; ``data:`` lines of one event are joined with ``\\n``; a blank line dispatches;
``:`` starts a comment. Bytes may be split anywhere, a UTF-8 sequence included.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from lmstudio_adapters._errors import ResponseError
from lmstudio_adapters._limits import MAX_EVENT_CHARS, event_too_large

__all__ = ["SSEDecoder", "ServerSentEvent", "iter_events", "parse_block"]


class ServerSentEvent(NamedTuple):
    """One dispatched event."""

    event: str
    data: str


class SSEDecoder:
    """Incremental decoder: feed byte chunks, get complete events back.

    A blank line ends an event, so each complete *block* of lines stands alone and no state
    crosses it. :meth:`blocks` hands back the raw blocks (a C-level split, so a large read
    costs little before its first event is used); :func:`parse_block` turns one into an event.
    """

    __slots__ = ("_ends_in_newline", "_held_cr", "_max_chars", "_pending", "_pending_chars", "_text")

    def __init__(self, max_chars: int = MAX_EVENT_CHARS) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")()
        # The text of the unfinished block, in pieces: joined only once a blank line ends it,
        # so a block that arrives in many reads costs time linear in its length.
        self._pending: list[str] = []
        self._pending_chars = 0
        self._ends_in_newline = False
        self._held_cr = False
        self._max_chars = max_chars

    def blocks(self, chunk: bytes) -> list[str]:
        """Decode ``chunk`` and return the event blocks it completed (each a string of lines).

        Raises:
            ResponseError: if the bytes are not valid UTF-8, or an unfinished block grows
                past ``max_chars`` (``MAX_EVENT_CHARS``).
        """
        try:
            text = self._text.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ResponseError(f"The server sent a stream that is not valid UTF-8 ({exc.reason}).") from exc
        if self._held_cr:
            text = "\r" + text
            self._held_cr = False
        if not text:
            return []
        if "\r" in text:
            if text[-1] == "\r":  # may be the first half of '\r\n': decide when more arrives
                text = text[:-1]
                self._held_cr = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if not text:
                return []
        pending = self._pending
        if "\n\n" not in text and not (self._ends_in_newline and text[0] == "\n"):
            pending.append(text)
            self._pending_chars += len(text)
            self._ends_in_newline = text[-1] == "\n"
            if self._pending_chars > self._max_chars:
                raise event_too_large()
            return []
        if pending:
            pending.append(text)
            text = "".join(pending)
        blocks = text.split("\n\n")
        rest = blocks.pop()
        self._pending = [rest] if rest else []
        self._pending_chars = len(rest)
        self._ends_in_newline = rest[-1:] == "\n"
        if self._pending_chars > self._max_chars:
            raise event_too_large()
        return blocks

    def final_blocks(self) -> list[str]:
        """Finish the stream: the blocks left, a final unterminated one included.

        Raises:
            ResponseError: if the stream ended inside a UTF-8 sequence.
        """
        try:
            tail = self._text.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ResponseError("The server's stream ended in the middle of a UTF-8 character.") from exc
        remainder = "".join(self._pending) + ("\r" if self._held_cr else "") + tail
        self._pending, self._pending_chars, self._ends_in_newline, self._held_cr = [], 0, False, False
        return remainder.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completed.

        Raises:
            ResponseError: if the bytes are not valid UTF-8.
        """
        return [event for block in self.blocks(chunk) if (event := parse_block(block)) is not None]

    def flush(self) -> list[ServerSentEvent]:
        """Finish the stream: complete a final unterminated line and event, if any.

        Raises:
            ResponseError: if the stream ended inside a UTF-8 sequence.
        """
        return [event for block in self.final_blocks() if (event := parse_block(block)) is not None]


def parse_block(block: str) -> ServerSentEvent | None:
    """The event one block of lines dispatches, if any (comments and empty blocks give none)."""
    name = ""
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line[0] == ":":
            continue
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        # "id" and "retry" carry nothing an OpenAI-style stream uses.
    if not data:
        return None
    return ServerSentEvent(name or "message", "\n".join(data))


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode a whole byte stream into events (convenience for tests and tools)."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.flush()
