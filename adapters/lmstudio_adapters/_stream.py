"""Streams: SSE events to typed chunks (shared, no I/O), and the sync/async stream objects.

A stream is closed the moment the consumer stops: an early ``break`` (sync), an exception,
a cancelled task, or ``close()``/``aclose()``. Errors in the middle of a stream are raised,
never swallowed, and nothing is retried once a chunk has reached the caller.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from lmstudio_adapters._deadline import Deadline, current
from lmstudio_adapters._errors import (
    APIStatusError,
    AuthenticationError,
    ContextLengthError,
    ModelNotFoundError,
    ModelOutputError,
    ResponseError,
)
from lmstudio_adapters._limits import DRAIN_BYTES, DRAIN_SECONDS
from lmstudio_adapters._mapping import decode_body, status_error
from lmstudio_adapters._reasoning import ThinkTagSplitter
from lmstudio_adapters._schemas import ChatCompletionChunk, ChoiceDelta, Completion
from lmstudio_adapters._secrets import redact
from lmstudio_adapters._sse import SSEDecoder, parse_block

__all__ = ["AsyncStream", "ChunkParser", "Stream"]

ChunkT = TypeVar("ChunkT", bound=BaseModel)

# Mid-stream errors that name a cause the caller can act on keep their own class.
_SPECIFIC_ERRORS = (ContextLengthError, ModelNotFoundError, AuthenticationError, ModelOutputError)


def _is_error_body(data: str) -> bool:
    body = decode_body(data.encode())
    return isinstance(body, dict) and "error" in body


class ChunkParser(Generic[ChunkT]):
    """Turns SSE events into chunks and decides whether the stream ended complete."""

    def __init__(
        self,
        chunk_type: type[ChunkT],
        *,
        method: str,
        url: str,
        base_url: str,
        model: str,
        parse_think_tags: bool,
    ) -> None:
        self._chunk_type = chunk_type
        self._method, self._url, self._base_url, self._model = method, url, base_url, model
        self._decoder = SSEDecoder()
        self._splitters: dict[int, ThinkTagSplitter] | None = {} if parse_think_tags else None
        self._done = False
        self._finished = False
        self._content_seen = False
        #: Chunks that carried something (text, reasoning, tool calls, a finish, usage): what
        #: restarts a stream's deadline. Keep-alive comments and empty deltas do not count.
        self.progress = 0
        self._last: ChunkT | None = None
        self._validate_json: Callable[[str], ChunkT] = chunk_type.__pydantic_validator__.validate_json
        self._observe: Callable[[Any], None] = (
            self._observe_completion if issubclass(chunk_type, Completion) else self._observe_chat
        )

    def feed(self, raw: bytes) -> Iterator[ChunkT]:
        """Chunks completed by the next bytes of the body, each parsed only when it is reached."""
        try:
            blocks = self._decoder.blocks(raw)
        except ResponseError as exc:
            exc.method, exc.url = self._method, self._url
            raise
        # map/filter iterate in C: one Python frame less per chunk than a generator.
        return filter(None, map(self._block, blocks))

    def finish(self) -> list[ChunkT]:
        """Chunks left at the end of the body; raises if the stream was cut short."""
        chunks = [chunk for block in self._decoder.final_blocks() if (chunk := self._block(block)) is not None]
        tail = self._flush_splitters()
        if tail is not None:
            chunks.append(tail)
        if not (self._finished or (self._done and self._content_seen)):
            why = "it sent no content" if not self._content_seen else "it stopped before the end (no [DONE])"
            raise ResponseError(
                f"The stream from LM Studio ended incomplete: {why}. The answer was not returned as "
                "complete. A prompt longer than the loaded context can cause this; check the server log.",
                method=self._method,
                url=self._url,
            )
        return chunks

    @property
    def done(self) -> bool:
        """Whether ``[DONE]`` arrived."""
        return self._done

    def _error(self, data: str) -> APIStatusError | ResponseError:
        data = redact(data)  # before it is cut below
        typed = status_error(
            200, data.encode(), method=self._method, url=self._url, base_url=self._base_url, model=self._model
        )
        if not isinstance(typed, _SPECIFIC_ERRORS):
            return ResponseError(
                f"LM Studio reported an error in the middle of the stream: {typed.server_message or data[:300]}. "
                "The partial answer was discarded.",
                method=self._method,
                url=self._url,
            )
        return typed

    def _block(self, block: str) -> ChunkT | None:
        if block.startswith("data: ") and "\n" not in block:  # the usual one-line event
            name, data = "message", block[6:]
        else:
            event = parse_block(block)
            if event is None:
                return None
            name, data = event
        if data == "[DONE]":
            self._done = True
            return None
        if self._done:
            return None
        if name == "error":
            raise self._error(data)
        if '"error"' in data and _is_error_body(data):
            raise self._error(data)
        try:
            chunk = self._validate_json(data)
        except ValidationError:
            if not data.strip():
                return None
            raise ResponseError(
                f"LM Studio sent a stream line that is not a valid chunk: {redact(data)[:200]!r}.",
                method=self._method,
                url=self._url,
            ) from None
        self._observe(chunk)
        self._last = chunk
        return chunk

    def _observe_chat(self, chunk: ChatCompletionChunk) -> None:
        splitters = self._splitters
        if chunk.usage is not None:
            self.progress += 1
        for choice in chunk.choices:
            if choice.finish_reason:
                self._finished = True
                self.progress += 1
            delta = choice.delta
            content = delta.content
            if content and splitters is not None:
                splitter = splitters.get(choice.index)
                if splitter is None:
                    splitter = splitters[choice.index] = ThinkTagSplitter()
                if not splitter.settled:
                    reasoning, answer = splitter.feed(content)
                    if reasoning or answer != content:
                        delta.content = content = answer
                        delta.reasoning_content += reasoning
            if content or delta.reasoning_content or delta.tool_calls:
                self._content_seen = True
                self.progress += 1

    def _observe_completion(self, chunk: Completion) -> None:
        if chunk.usage is not None:
            self.progress += 1
        for choice in chunk.choices:
            if choice.finish_reason:
                self._finished = True
                self.progress += 1
            if choice.text:
                self._content_seen = True
                self.progress += 1

    def _flush_splitters(self) -> ChunkT | None:
        if not self._splitters or self._chunk_type is not ChatCompletionChunk:
            return None
        choices = []
        for index, splitter in self._splitters.items():
            reasoning, answer = splitter.flush()
            if reasoning or answer:
                choices.append({"index": index, "delta": ChoiceDelta(content=answer, reasoning_content=reasoning)})
        if not choices:
            return None
        last = self._last
        return self._chunk_type.model_validate(
            {"id": getattr(last, "id", ""), "model": getattr(last, "model", ""), "choices": choices}
        )


def _stalled(deadline: Deadline) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(f"no new content within {deadline.limit:g} s")


def _iterate(
    response: httpx.Response, parser: ChunkParser[ChunkT], guard: Callable[[], Any], deadline: Deadline
) -> Generator[ChunkT, None, None]:
    """The chunks of a streamed answer, each read bounded by ``deadline``.

    The deadline covers the time to the first chunk and then each gap between chunks that
    carry something; it is restarted only by such progress.
    """
    try:
        with guard():
            body = response.iter_bytes()
            progress = parser.progress
            while True:
                token = current.set(deadline)
                try:
                    raw = next(body)
                except StopIteration:
                    break
                finally:
                    current.reset(token)
                yield from parser.feed(raw)
                if parser.progress != progress:
                    progress = parser.progress
                    deadline.restart()
                elif deadline.expired():
                    raise _stalled(deadline)
                if parser.done:
                    break
        yield from parser.finish()
        if parser.done:
            # Read what follows [DONE] so the connection can go back to the pool (servers end
            # the body there; one that keeps sending is cut off, in size and in time).
            drained = 0
            drain = Deadline(min(deadline.limit, DRAIN_SECONDS))
            token = current.set(drain)
            try:
                with contextlib.suppress(httpx.HTTPError):
                    for rest in body:
                        drained += len(rest)
                        if drained > DRAIN_BYTES or drain.expired():
                            break
            finally:
                current.reset(token)
    finally:
        response.close()


async def _aiterate(
    response: httpx.Response, parser: ChunkParser[ChunkT], guard: Callable[[], Any], deadline: Deadline
) -> AsyncGenerator[ChunkT, None]:
    try:
        with guard():
            body = response.aiter_bytes()
            progress = parser.progress
            while True:
                token = current.set(deadline)
                try:
                    raw = await body.__anext__()
                except StopAsyncIteration:
                    break
                finally:
                    current.reset(token)
                for chunk in parser.feed(raw):
                    yield chunk
                if parser.progress != progress:
                    progress = parser.progress
                    deadline.restart()
                elif deadline.expired():
                    raise _stalled(deadline)
                if parser.done:
                    break
        for chunk in parser.finish():
            yield chunk
        if parser.done:
            drained = 0
            drain = Deadline(min(deadline.limit, DRAIN_SECONDS))
            token = current.set(drain)
            try:
                with contextlib.suppress(httpx.HTTPError):
                    async for rest in body:
                        drained += len(rest)
                        if drained > DRAIN_BYTES or drain.expired():
                            break
            finally:
                current.reset(token)
    finally:
        await response.aclose()


class Stream(Generic[ChunkT]):
    """A streamed answer: iterate it for chunks; closes the connection when done or abandoned.

    Example:
        >>> with client.stream_chat([{"role": "user", "content": "Hi"}]) as stream:  # doctest: +SKIP
        ...     for chunk in stream:
        ...         print(chunk.choices[0].delta.content, end="")
    """

    def __init__(
        self, response: httpx.Response, parser: ChunkParser[ChunkT], guard: Callable[[], Any], deadline: Deadline
    ) -> None:
        self.response = response
        # The generator must not hold `self`: then an abandoned `for` loop frees it at once,
        # which runs its `finally` and closes the connection.
        self._iterator: Generator[ChunkT, None, None] = _iterate(response, parser, guard, deadline)

    def __iter__(self) -> Iterator[ChunkT]:
        return self._iterator

    def __next__(self) -> ChunkT:
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> Stream[ChunkT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncStream(Generic[ChunkT]):
    """The async form of :class:`Stream`; use ``async with`` or ``aclose()`` to stop early."""

    def __init__(
        self, response: httpx.Response, parser: ChunkParser[ChunkT], guard: Callable[[], Any], deadline: Deadline
    ) -> None:
        self.response = response
        self._iterator: AsyncGenerator[ChunkT, None] = _aiterate(response, parser, guard, deadline)

    def __aiter__(self) -> AsyncIterator[ChunkT]:
        return self._iterator

    async def __anext__(self) -> ChunkT:
        return await self._iterator.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[ChunkT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
