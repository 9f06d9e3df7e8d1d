"""discover() against the real llama.cpp server: named by its own routes, with its model ids."""

from __future__ import annotations

import httpx
import pytest

import lmstudio_adapters
from lmstudio_adapters import LMStudioClient
from lmstudio_adapters.testing import LocalModelServer

pytestmark = pytest.mark.e2e


def test_real_llama_cpp_server_is_found_with_its_models(real_server: LocalModelServer) -> None:
    port = httpx.URL(real_server.base_url).port
    assert port is not None
    found = lmstudio_adapters.discover(ports=[port], timeout=5.0)
    assert [server.kind for server in found] == ["llama.cpp"]
    with LMStudioClient(real_server.base_url, api="openai") as client:
        listed = tuple(model.id for model in client.list_models())
    assert found[0].models == listed
    assert found[0].url == f"http://127.0.0.1:{port}"
