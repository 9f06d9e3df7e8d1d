"""Retry policy: which failures are worth another try, and how long to wait first."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from time import time

from lmstudio_adapters._errors import ModelOutputError

__all__ = [
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_DELAY",
    "backoff_delay",
    "parse_retry_after",
    "request_samples",
    "should_retry_failure",
    "should_retry_status",
]

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def should_retry_status(status_code: int) -> bool:
    """Whether a response with ``status_code`` may succeed when sent again."""
    return status_code in RETRYABLE_STATUSES or status_code > 504


def _seconds(value: float) -> float | None:
    # nan, inf and negative waits are a broken server's, not a wish to honour.
    if not math.isfinite(value):
        return None
    return min(max(value, 0.0), MAX_RETRY_DELAY)


def request_samples(content: bytes | None) -> bool:
    """Whether a request body asks for sampled output (temperature > 0 or unset, and no seed)."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    temperature = body.get("temperature")
    if temperature is not None and not isinstance(temperature, (int, float)):
        return False
    return body.get("seed") is None and (temperature is None or temperature > 0)


def should_retry_failure(error: Exception, status_code: int, content: bytes | None) -> bool:
    """Whether an error answer to the request ``content`` may succeed when sent again.

    A server that could not parse the model's own output (``ModelOutputError``) fails the
    same way for the same deterministic request: it is retried only when the request samples.
    """
    if isinstance(error, ModelOutputError):
        return request_samples(content)
    return should_retry_status(status_code)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, else ``Retry-After``), if any.

    Accepts a number of (milli)seconds or an HTTP date; anything unreadable (``nan``,
    ``inf``, garbage, a date past what the platform can represent) counts as no wish, and
    every wish is capped at ``MAX_RETRY_DELAY`` so a call never sleeps far past its timeout.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            wish = _seconds(float(millis) / 1000)
        except ValueError:
            wish = None
        if wish is not None:
            return wish
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return _seconds(float(value))
    except ValueError:
        pass
    try:
        return _seconds(parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError, OverflowError, IndexError, OSError):
        return None


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Delay before retry number ``attempt`` (0-based): the server's wish, else jittered backoff.

    A ``Retry-After`` up to ``MAX_RETRY_DELAY`` is honoured as given; longer waits are capped
    so a call never hangs far past its timeout.
    """
    if retry_after is not None and math.isfinite(retry_after):
        return min(max(retry_after, 0.0), MAX_RETRY_DELAY)
    base = min(INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
    return float(base * (1 - 0.25 * random.random()))  # noqa: S311 - jitter, not cryptography
