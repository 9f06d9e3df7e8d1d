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

    __slots__ = ("_buffer", "_text")

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""

    def blocks(self, chunk: bytes) -> list[str]:
        """Decode ``chunk`` and return the event blocks it completed (each a string of lines).

        Raises:
            ResponseError: if the bytes are not valid UTF-8.
        """
        try:
            text = self._text.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ResponseError(f"The server sent a stream that is not valid UTF-8 ({exc.reason}).") from exc
        if not text:
            return []
        buffer = self._buffer + text if self._buffer else text
        held = ""
        if "\r" in buffer:
            if buffer[-1] == "\r":  # may be the first half of '\r\n': decide when more arrives
                buffer, held = buffer[:-1], "\r"
            buffer = buffer.replace("\r\n", "\n").replace("\r", "\n")
        blocks = buffer.split("\n\n")
        self._buffer = blocks.pop() + held
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
        remainder = (self._buffer + tail).replace("\r\n", "\n").replace("\r", "\n")
        self._buffer = ""
        return remainder.split("\n\n")

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
