"""The perturbed-sampling switch (LMSTUDIO_ADAPTERS_PERTURB): the proxy rewrites sampling, passes all else."""

from __future__ import annotations

import json

import pytest

from lmstudio_adapters import LMStudioClient
from lmstudio_adapters.testing import PERTURB_ENV, Perturbation, SamplingProxy
from tests.loopback import LoopbackServer, Reply, chat_chunk, chat_reply, sse_reply

CHAT = ("POST", "/v1/chat/completions")


def test_reads_the_variable() -> None:
    """Unset: None (deterministic runs); ``seed`` or ``seed:temperature``; anything else is a clear error."""
    assert Perturbation.from_env({}) is None
    assert Perturbation.from_env({PERTURB_ENV: "7"}) == Perturbation(seed=7, temperature=0.8)
    assert Perturbation.from_env({PERTURB_ENV: "7:1.1"}) == Perturbation(seed=7, temperature=1.1)
    with pytest.raises(ValueError, match=PERTURB_ENV):
        Perturbation.from_env({PERTURB_ENV: "seven"})


def test_proxy_rewrites_generation_sampling(server: LoopbackServer) -> None:
    """temperature=0 from the code becomes the perturbation's; streams and other routes pass unchanged."""
    server.route(*CHAT, Reply(body=chat_reply("hi")), sse_reply([chat_chunk("h"), chat_chunk("i", finish="stop")]))
    with SamplingProxy(server.url, Perturbation(seed=5)) as proxy, LMStudioClient(proxy.base_url, model="m") as client:
        assert client.chat([{"role": "user", "content": "x"}], temperature=0, seed=1).message.content == "hi"
        with client.stream_chat([{"role": "user", "content": "x"}], temperature=0) as stream:
            assert "".join(c.choices[0].delta.content for c in stream if c.choices) == "hi"
        assert [m.id for m in client.list_models(api="openai")] == ["loop-model"]
    bodies = [json.loads(body) for method, _, body, _ in server.requests if method == "POST"]
    assert [(b["temperature"], b["seed"]) for b in bodies] == [(0.8, 5), (0.8, 5)]
    assert bodies[1]["stream"] is True
