"""Size and time limits on what a server may send, and the typed errors that name them.

Each limit sits far above anything LM Studio sends, and only exists so that a broken or
hostile server cannot exhaust memory or hold a call forever:

- ``MAX_BODY_BYTES`` (128 MiB, decoded): the largest real answers are embeddings (1,000
  vectors of 4,096 dimensions are about 90 MB of JSON) and chat replies with
  ``top_logprobs``; a model list or a chat reply is kilobytes. Counted after
  gzip/deflate/brotli decoding, while reading, so a small compressed body that would
  decode to gigabytes is stopped at the limit.
- ``MAX_EVENT_CHARS`` (16 Mi characters): one server-sent event of a stream (one token's
  delta, or a whole tool call's arguments in one chunk) is bytes to kilobytes; a line
  that never ends is cut off here instead of growing without bound.
- ``DRAIN_BYTES`` / ``DRAIN_SECONDS``: after ``[DONE]`` a server ends the body at once;
  reading on (so the connection can be reused) stops after 64 KiB or 1 s.
"""

from __future__ import annotations

from lmstudio_adapters._errors import ResponseError

__all__ = ["DRAIN_BYTES", "DRAIN_SECONDS", "MAX_BODY_BYTES", "MAX_EVENT_CHARS", "body_too_large", "event_too_large"]

MAX_BODY_BYTES = 128 * 1024 * 1024
MAX_EVENT_CHARS = 16 * 1024 * 1024
DRAIN_BYTES = 64 * 1024
DRAIN_SECONDS = 1.0


def body_too_large(*, method: str = "", url: str = "") -> ResponseError:
    """The error for an answer past ``MAX_BODY_BYTES``."""
    return ResponseError(
        f"The server's answer is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MiB limit on a decoded body "
        "(MAX_BODY_BYTES); no LM Studio answer is that large. Check that LM_STUDIO_URL points at LM Studio, "
        "or send fewer texts per embeddings call.",
        method=method,
        url=url,
    )


def event_too_large(*, method: str = "", url: str = "") -> ResponseError:
    """The error for a stream event (or a line without an end) past ``MAX_EVENT_CHARS``."""
    return ResponseError(
        f"The server sent a stream event longer than the {MAX_EVENT_CHARS // (1024 * 1024)} Mi character limit "
        "(MAX_EVENT_CHARS) without ending it; LM Studio's events are far smaller. Check that LM_STUDIO_URL "
        "points at LM Studio.",
        method=method,
        url=url,
    )
