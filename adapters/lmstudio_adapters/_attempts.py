"""What a call does after each attempt, decided without I/O: retry it, or fail it explained.

The clients' ``_send`` loops only send, read and sleep. After an attempt that got no 2xx
answer they ask :class:`AttemptsCore` what comes next:

* :class:`Retry`: sleep ``delay`` seconds, then send the same call again;
* a :data:`Failure` plan, run by the client like any plan, once the call's attempts are
  over (outside their deadline and their retry count). It makes the requests that explain
  the error: a model list for an unknown model, the server's identity for a status LM Studio
  never sends, the model's loaded state for a timeout. Then it raises the error, or returns
  the call to send in its place (the rejected default model, sent to the server's one chat model).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from lmstudio_adapters._call import Call
from lmstudio_adapters._core import EXPLAIN_TIMEOUT, logger
from lmstudio_adapters._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    LMStudioAdapterError,
    ModelNotFoundError,
)
from lmstudio_adapters._identify import LocalServer, not_lmstudio_note
from lmstudio_adapters._lifecycle import LifecycleCore, Wait
from lmstudio_adapters._requests import dumps
from lmstudio_adapters._retry import backoff_delay, parse_retry_after, should_retry_failure
from lmstudio_adapters._routes import DEFAULT_MODEL, MODEL_LIST_PATHS, sole_chat_model
from lmstudio_adapters._schemas import ModelInfo

__all__ = ["FOREIGN_STATUSES", "AttemptsCore", "Failure", "Identify", "Retry", "Step", "Steps"]

T = TypeVar("T")

#: Statuses LM Studio never uses for a route it lacks (it answers 200 + error): seeing one
#: from the configured server is the sign that something else listens there.
FOREIGN_STATUSES = (404, 405, 501)


@dataclass(frozen=True, slots=True)
class Retry:
    """Send the same call again after ``delay`` seconds."""

    delay: float


@dataclass(frozen=True, slots=True)
class Identify:
    """Find what kind of server answers (a few GETs within ``timeout``); the plan resumes with it."""

    timeout: float


#: What a client runs (``_run``): each step is a call (answered with its JSON), a :class:`Wait`
#: (answered after the pause) or an :class:`Identify` (answered with a ``LocalServer`` or None);
#: any package error on the way is thrown into the plan.
Step = Call | Wait | Identify
Steps = Generator[Step, Any, T]
#: A failed call, explained: raises its error, or returns the call to send instead.
Failure = Steps[Call]


class AttemptsCore(LifecycleCore):
    """The decisions between a call's attempts, shared by both clients."""

    def _after_error(self, call: Call, attempt: int, error: APIConnectionError) -> Retry | Failure:
        """After attempt number ``attempt`` (0-based) got no answer at all."""
        if isinstance(error, APITimeoutError) and not isinstance(error.__cause__, httpx.ConnectTimeout):
            # A timeout that is not a connect timeout may be a slow generation: repeating it
            # would only double the wait.
            return self._timed_out(call, error)
        retry = self._retry(call, attempt, error, None) if error.is_retryable else None
        return retry if retry is not None else _raise(error)

    def _after_refusal(
        self, call: Call, attempt: int, status_code: int, content: bytes, headers: Mapping[str, str]
    ) -> Retry | Failure:
        """After attempt number ``attempt`` got an answer that is not 2xx (``content``: its whole body)."""
        error = self._error(call, status_code, content, location=headers.get("location", ""))
        if should_retry_failure(error, status_code, call.content):
            retry = self._retry(call, attempt, error, parse_retry_after(headers))
            if retry is not None:
                return retry
        return self._refused(call, error, status_code, content)

    def _retry(self, call: Call, attempt: int, error: APIError, retry_after: float | None) -> Retry | None:
        if attempt >= call.max_retries:
            return None
        delay = backoff_delay(attempt, retry_after)
        logger.debug("retrying %s %s in %.2f s after: %s", call.method, call.path, delay, error)
        return Retry(delay)

    # --- failures, explained ----------------------------------------------------------

    def _timed_out(self, call: Call, error: APITimeoutError) -> Failure:
        with contextlib.suppress(LMStudioAdapterError):  # best effort: the timeout matters more
            error = yield from self._timeout_hint_plan(call, error)
        raise error from error.__cause__

    def _refused(self, call: Call, error: APIStatusError, status_code: int, content: bytes) -> Failure:
        if type(error) is ModelNotFoundError and call.model:
            try:
                listed = yield from self._models_plan(
                    api="openai", timeout=min(self.timeout, EXPLAIN_TIMEOUT), max_retries=0
                )
            except LMStudioAdapterError:
                listed = []  # best effort: the original error matters more
            error = self._error(call, status_code, content, available=tuple(m.id for m in listed))
            stand_in = self._learn_stand_in(call, listed)
            if stand_in is not None:
                return stand_in
        # Not while finding the model API: there a 404 only sends the search to the next route.
        # An unknown model too: another server's model names (llama3.2:latest) are the usual cause.
        searching = self._detected is None and call.path in MODEL_LIST_PATHS
        if not searching and (error.status_code in FOREIGN_STATUSES or isinstance(error, ModelNotFoundError)):
            server: LocalServer | None = yield Identify(self.settings.probe_timeout)
            note = not_lmstudio_note(server)
            if note:
                error.message = f"{error.message} {note}"
                error.args = (error.message, *error.args[1:])
        raise error

    def _learn_stand_in(self, call: Call, listed: list[ModelInfo]) -> Call | None:
        """After the server rejected :data:`DEFAULT_MODEL`: the same call to its one chat model, if it has one.

        LM Studio serves ``local-model`` with its one loaded model, so this costs nothing there;
        servers that check the id (llama.cpp) cost one listing and one resend, once per client.
        """
        if call.model != DEFAULT_MODEL or call.path not in ("/v1/chat/completions", "/v1/completions"):
            return None
        chosen = sole_chat_model(listed)
        if chosen is None or call.content is None:
            return None
        self._stand_in = chosen.id
        logger.info("%s rejected model %r; using its one chat model %r", self.base_url, DEFAULT_MODEL, chosen.id)
        body = json.loads(call.content)
        body["model"] = chosen.id
        return dataclasses.replace(call, content=dumps(body), model=chosen.id)


def _raise(error: APIError) -> Failure:
    """A failure with nothing to explain."""
    yield from ()
    raise error
