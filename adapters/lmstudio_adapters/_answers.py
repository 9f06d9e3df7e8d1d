"""Reading the server's answers: status errors, JSON bodies, schema checks, chunk parsers.

Sans-I/O: both clients hand what they read to these methods, so a malformed or hostile answer
becomes the same typed error in sync and async code.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lmstudio_adapters._call import Call
from lmstudio_adapters._errors import APIStatusError, ResponseError
from lmstudio_adapters._mapping import decode_body, status_error
from lmstudio_adapters._reasoning import split_think_tags
from lmstudio_adapters._schemas import ChatCompletion, ChatCompletionChunk, EmbeddingResponse
from lmstudio_adapters._secrets import redact_bytes
from lmstudio_adapters._stream import ChunkParser
from lmstudio_adapters._tool_calls import mark_tool_calls

__all__ = ["AnswerReader"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class AnswerReader:
    """The response half of the client core (mixed into ``ClientCore``)."""

    base_url: str
    parse_think_tags: bool

    def _error(
        self, call: Call, status_code: int, content: bytes, available: tuple[str, ...] = (), location: str = ""
    ) -> APIStatusError:
        return status_error(
            status_code,
            content,
            method=call.method,
            url=call.url(self.base_url),
            base_url=self.base_url,
            model=call.model,
            available=available,
            location=location,
        )

    def _parse(self, call: Call, model_type: type[ModelT], content: bytes) -> ModelT:
        try:
            return model_type.model_validate_json(content)
        except ValidationError as exc:
            body = decode_body(content)
            if isinstance(body, dict) and "error" in body:
                raise self._error(call, 200, content) from None
            raise self._unreadable(call, model_type.__name__, content, _first_problem(exc)) from None

    def _unreadable(self, call: Call, expected: str, content: bytes, problem: str) -> ResponseError:
        shown = redact_bytes(content)[:200].decode("utf-8", "replace")  # hidden before it is cut
        return ResponseError(
            f"LM Studio's answer to {call.method} {call.path} could not be read as {expected} ({problem}): "
            f"{shown!r}. Check that LM_STUDIO_URL points at LM Studio.",
            method=call.method,
            url=call.url(self.base_url),
        )

    def _json(self, call: Call, content: bytes) -> Any:
        """An answer's JSON; None when it is not JSON (the plan decides what that means)."""
        body = decode_body(content)
        if body is None and content.strip()[:1] in (b"[", b"{"):
            raise self._unreadable(call, "JSON", content, "nested too deeply or cut short")
        return body

    def _check_embeddings(self, call: Call, response: EmbeddingResponse, sent: int) -> EmbeddingResponse:
        """One vector per text sent, each index once, all of one length; else a ResponseError.

        A vector store pairs vectors with documents by position: a missing, extra or
        duplicated vector would silently mis-pair them.
        """
        indexes = sorted(item.index for item in response.data)
        problem = ""
        if len(indexes) != sent:
            problem = f"{sent} text(s) sent, {len(indexes)} vector(s) returned"
        elif indexes != list(range(sent)):
            problem = f"the vectors' indexes are {indexes[:10]}, expected 0 to {sent - 1} once each"
        elif len({len(item.embedding) for item in response.data}) > 1:
            problem = "the vectors have different lengths"
        if problem:
            raise ResponseError(
                f"LM Studio's embeddings answer does not match the request ({problem}); nothing was returned. "
                "Check that the model is an embedding model, and the server log.",
                method=call.method,
                url=call.url(self.base_url),
            )
        return response

    def _finish_chat(self, completion: ChatCompletion) -> ChatCompletion:
        for choice in completion.choices:
            message = choice.message
            if self.parse_think_tags and not message.reasoning_content and "think>" in message.content:
                message.reasoning_content, message.content = split_think_tags(message.content)
            if message.tool_calls:
                mark_tool_calls(message.tool_calls, choice.finish_reason)
        return completion

    def _chunk_parser(self, call: Call, chunk_type: type[ModelT]) -> ChunkParser[ModelT]:
        return ChunkParser(
            chunk_type,
            method=call.method,
            url=call.url(self.base_url),
            base_url=self.base_url,
            model=call.model,
            parse_think_tags=self.parse_think_tags and chunk_type is ChatCompletionChunk,
        )


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
