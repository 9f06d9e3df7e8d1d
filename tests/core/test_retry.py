"""Retry policy: what is retried, and how long to wait."""

from __future__ import annotations

import pytest

from lmstudio_adapters._retry import MAX_RETRY_DELAY, backoff_delay, parse_retry_after, should_retry_status


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (408, True),
        (429, True),
        (500, True),
        (503, True),
        (400, False),
        (401, False),
        (404, False),
        (413, False),
        (422, False),
    ],
)
def test_should_retry_status(status: int, expected: bool) -> None:
    """Only 408, 429 and 5xx are worth another try."""
    assert should_retry_status(status) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "150"}, 0.15),
        ({"retry-after": "soon"}, None),
        ({}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After in seconds, milliseconds or as an HTTP date (past dates mean now)."""
    assert parse_retry_after(headers) == expected


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    """Exponential backoff with at most 25% jitter, capped; Retry-After is honoured up to the cap."""
    for attempt in range(6):
        delay = backoff_delay(attempt)
        nominal = min(0.5 * 2**attempt, MAX_RETRY_DELAY)
        assert 0.75 * nominal <= delay <= nominal
    assert backoff_delay(0, retry_after=1.5) == 1.5
    assert backoff_delay(0, retry_after=3600) == MAX_RETRY_DELAY
