"""Error bodies from every LM Studio version map to the right class, with cause and fix.

The bodies are the ones documented in LM Studio's docs and bug tracker (summarised in
docs/lmstudio-api.md section 3), copied here as data.
"""

from __future__ import annotations

import json

import pytest

from lmstudio_adapters import (
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    ModelNotFoundError,
    ModelNotLoadedError,
    RateLimitError,
    ServerError,
)
from lmstudio_adapters._mapping import status_error

CASES = [
    (
        "0.4.25 unknown model",
        400,
        {
            "error": {
                "message": 'Invalid model identifier "not-a-model". Please specify a valid downloaded model.',
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }
        },
        ModelNotFoundError,
        "Models the server has: a, b",
    ),
    (
        "0.3.5 unknown model",
        404,
        {
            "error": {
                "message": 'Model "local model" not found. Please specify a valid model.',
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }
        },
        ModelNotFoundError,
        "not available",
    ),
    (
        "llama.cpp unknown model",
        400,
        {"error": {"code": 400, "message": "model 'x' not found", "type": "invalid_request_error"}},
        ModelNotFoundError,
        "LM_STUDIO_MODEL",
    ),
    (
        "0.3.5 no model loaded",
        404,
        {"error": "No models loaded. Please load a model in the developer page or use the `lms load` command."},
        ModelNotLoadedError,
        "lms load",
    ),
    (
        "0.4.8 no model loaded",
        400,
        {
            "error": {
                "message": "No models loaded. Please load a model in the developer page or use the 'lms load' command.",
                "type": "invalid_request_error",
                "param": "model",
                "code": None,
            }
        },
        ModelNotLoadedError,
        "Just-in-Time",
    ),
    (
        "JIT load failure",
        400,
        {"error": 'Failed to load model "gpt-oss-20b". Error: Error loading model.'},
        ModelNotLoadedError,
        "could not use model",
    ),
    (
        "0.2.x context overflow",
        400,
        {
            "error": "Trying to keep the first 5000 tokens when context the overflows. "
            "However, the model is loaded with context length of only 4096 tokens, which is not enough."
        },
        ContextLengthError,
        "larger context length",
    ),
    (
        "llama.cpp context overflow",
        400,
        {
            "error": {
                "code": 400,
                "message": "request (5021 tokens) exceeds the available context size (4096 tokens), try increasing it",
                "type": "exceed_context_size_error",
            }
        },
        ContextLengthError,
        "Shorten the messages",
    ),
    (
        "0.4 missing token",
        401,
        {
            "error": {
                "type": "invalid_request",
                "code": "invalid_api_key",
                "message": "An LM Studio API token is required",
            }
        },
        AuthenticationError,
        "LM_STUDIO_API_KEY",
    ),
    (
        "json_object rejected",
        400,
        {"error": "'response_format.type' must be 'json_schema' or 'text'"},
        BadRequestError,
        "'response_format.type' must be",
    ),
    (
        "unknown route with 200",
        200,
        {"error": "Unexpected endpoint or method. (POST /chat/completions)"},
        BadRequestError,
        "Check LM_STUDIO_URL",
    ),
    (
        "model crashed",
        400,
        {"error": "The model has crashed without additional information. (Exit code: 1)"},
        ServerError,
        "server log",
    ),
    ("rate limited", 429, {"error": "slow down"}, RateLimitError, "slow down"),
    ("server error", 500, {"error": {"message": "boom"}}, ServerError, "boom"),
    ("html", 502, "<html><body>Bad gateway</body></html>", ServerError, "HTML page instead of JSON"),
    ("validation 422", 422, {"detail": "bad"}, BadRequestError, "HTTP 422"),
    ("too large", 413, "", BadRequestError, "too large"),
]


@pytest.mark.parametrize(("case", "status", "body", "error_type", "text"), CASES, ids=[c[0] for c in CASES])
def test_status_error(case: str, status: int, body: object, error_type: type, text: str) -> None:
    """Both body shapes, any status (200 included): the class and a message with the fix."""
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    error = status_error(
        status,
        raw,
        method="POST",
        url="http://h/v1/chat/completions",
        base_url="http://h",
        model="x",
        available=("a", "b"),
    )
    assert type(error) is error_type
    assert text in str(error)
    assert error.status_code == status
