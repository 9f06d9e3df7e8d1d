"""The main job, `lmstudio-adapters demo`, on its embedded llama.cpp server: every step runs, status 0."""

from __future__ import annotations

import io

import pytest

from lmstudio_adapters.__main__ import main

pytestmark = pytest.mark.e2e


def test_demo_on_the_embedded_server_succeeds() -> None:
    out = io.StringIO()
    status = main(["demo", "--local"], out=out)
    text = out.getvalue()
    assert status == 0, text
    for step in ("== doctor", "== chat: a streamed answer", "== embeddings: 2 vectors"):
        assert step in text
    # The embedded server is llama.cpp: doctor says so, as information, not as a problem.
    assert "not LM Studio" in text
    assert "FAIL" not in text
