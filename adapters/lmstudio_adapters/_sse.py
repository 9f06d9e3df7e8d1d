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

__all__ = ["SSEDecoder", "ServerSentEvent", "iter_events"]


class ServerSentEvent(NamedTuple):
    """One dispatched event."""

    event: str
    data: str


class SSEDecoder:
    """Incremental decoder: feed byte chunks, get complete events back."""

    __slots__ = ("_buffer", "_data", "_event", "_has_data", "_text")

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._has_data = False

    def feed(self, chunk: bytes) -> Iterator[ServerSentEvent]:
        """Decode ``chunk`` and yield the events it completed, one at a time.

        Lazily, so the first event of a large network read reaches the caller without waiting
        for the rest to be decoded.

        Raises:
            ResponseError: if the bytes are not valid UTF-8.
        """
        try:
            text = self._text.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ResponseError(f"The server sent a stream that is not valid UTF-8 ({exc.reason}).") from exc
        if not text:
            return
        buffer = self._buffer + text
        self._buffer = ""
        start = 0
        length = len(buffer)
        try:
            while start < length:
                newline = buffer.find("\n", start)
                carriage = buffer.find("\r", start, newline if newline >= 0 else length)
                if carriage >= 0:
                    end = carriage
                    # A lone '\r' at the very end may be the first half of '\r\n': wait for more.
                    if end == length - 1:
                        break
                    step = 2 if buffer[end + 1] == "\n" else 1
                elif newline >= 0:
                    end, step = newline, 1
                else:
                    break
                event = self._line(buffer[start:end])
                start = end + step
                if event is not None:
                    yield event
        finally:
            self._buffer = buffer[start:]

    def flush(self) -> list[ServerSentEvent]:
        """Finish the stream: complete a final unterminated line and event, if any.

        Raises:
            ResponseError: if the stream ended inside a UTF-8 sequence.
        """
        try:
            tail = self._text.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ResponseError("The server's stream ended in the middle of a UTF-8 character.") from exc
        remainder = (self._buffer + tail).rstrip("\r")
        self._buffer = ""
        events: list[ServerSentEvent] = []
        if remainder:
            event = self._line(remainder)
            if event is not None:
                events.append(event)
        final = self._line("")
        if final is not None:
            events.append(final)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._has_data:
                self._event = ""
                return None
            event = ServerSentEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data, self._has_data = "", [], False
            return event
        if line[0] == ":":
            return None
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
            self._has_data = True
        elif field == "event":
            self._event = value
        # "id" and "retry" carry nothing an OpenAI-style stream uses.
        return None


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode a whole byte stream into events (convenience for tests and tools)."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.flush()
