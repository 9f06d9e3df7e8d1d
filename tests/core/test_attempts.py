"""What follows each attempt of a call, decided by the sans-I/O core (``_attempts``) without any I/O.

The clients' ``_send`` loops only do what these decisions say; the loopback tests
(``test_client_faults``, ``test_retry``, ``test_hostile_*``) check the same rules end to end.
Here no request is sent: the plans are driven by hand, step by step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from lmstudio_adapters import APIConnectionError, APITimeoutError, LMStudioClient, ModelNotFoundError, ServerError
from lmstudio_adapters._attempts import Identify, Retry
from lmstudio_adapters._call import Call
from lmstudio_adapters._core import EXPLAIN_TIMEOUT
from lmstudio_adapters._routes import DEFAULT_MODEL

NOT_FOUND = json.dumps({"error": {"message": "Model 'ghost' not found", "code": "model_not_found"}}).encode()


@pytest.fixture
def client() -> Iterator[LMStudioClient]:
    # Port 9 (discard): nothing here is sent, the address only names the server in messages.
    with LMStudioClient("http://127.0.0.1:9", model="ghost", timeout=30, max_retries=2, api="openai") as made:
        yield made


def _chat(client: LMStudioClient, model: str = "ghost") -> Call:
    return client._chat_call([{"role": "user", "content": "hi"}], model=model, stream=False)


def test_a_busy_server_is_retried_after_its_wish_until_the_retries_are_spent(client: LMStudioClient) -> None:
    call = _chat(client)
    assert client._after_refusal(call, 0, 503, b'{"error": "busy"}', {"retry-after": "1.5"}) == Retry(1.5)
    assert client._after_refusal(call, 1, 503, b'{"error": "busy"}', {"retry-after": "1.5"}) == Retry(1.5)
    failure = client._after_refusal(call, 2, 503, b'{"error": "busy"}', {"retry-after": "1.5"})
    assert not isinstance(failure, Retry)
    with pytest.raises(ServerError, match="HTTP 503"):
        next(failure)  # nothing to explain: raised at once, no request


def test_a_connection_error_is_retried_then_raised_as_it_is(client: LMStudioClient) -> None:
    call = _chat(client)
    error = APIConnectionError("LM Studio is not reachable")
    retry = client._after_error(call, 0, error)
    assert isinstance(retry, Retry)
    assert 0 < retry.delay <= 0.5
    failure = client._after_error(call, 2, error)
    assert not isinstance(failure, Retry)
    with pytest.raises(APIConnectionError) as raised:
        next(failure)
    assert raised.value is error


def test_a_slow_answer_is_never_retried_and_is_explained_by_one_quick_listing(client: LMStudioClient) -> None:
    call = _chat(client)
    error = APITimeoutError("LM Studio did not answer in time", timeout=30)
    error.__cause__ = httpx.ReadTimeout("slow")
    failure = client._after_error(call, 0, error)
    assert not isinstance(failure, Retry)
    listing = next(failure)
    assert isinstance(listing, Call)
    assert (listing.method, listing.path) == ("GET", "/v1/models")
    assert (listing.timeout, listing.max_retries) == (min(client.timeout, EXPLAIN_TIMEOUT), 0)
    # The listing failing too leaves the timeout as it was, with its cause.
    with pytest.raises(APITimeoutError) as raised:
        failure.throw(APIConnectionError("gone"))
    assert raised.value is error
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)


def test_a_connect_timeout_is_retried(client: LMStudioClient) -> None:
    error = APITimeoutError("no connection in time", timeout=5)
    error.__cause__ = httpx.ConnectTimeout("no connection")
    assert isinstance(client._after_error(_chat(client), 0, error), Retry)


def test_an_unknown_model_is_explained_after_the_attempts_with_the_model_list(client: LMStudioClient) -> None:
    call = _chat(client)
    failure = client._after_refusal(call, 0, 404, NOT_FOUND, {})
    assert not isinstance(failure, Retry)
    listing = next(failure)
    assert isinstance(listing, Call)
    assert (listing.path, listing.timeout, listing.max_retries) == ("/v1/models", EXPLAIN_TIMEOUT, 0)
    identify = failure.send({"object": "list", "data": [{"id": "qwen3-4b", "object": "model"}]})
    assert identify == Identify(client.settings.probe_timeout)  # a 404 may be another server's
    with pytest.raises(ModelNotFoundError) as raised:
        failure.send(None)  # not identified: nothing to add
    assert raised.value.available == ("qwen3-4b",)
    assert "qwen3-4b" in str(raised.value)


def test_the_rejected_default_model_is_sent_to_the_servers_one_chat_model(client: LMStudioClient) -> None:
    call = _chat(client, DEFAULT_MODEL)
    failure = client._after_refusal(call, 0, 404, NOT_FOUND, {})
    assert not isinstance(failure, Retry)
    next(failure)
    with pytest.raises(StopIteration) as done:
        failure.send({"object": "list", "data": [{"id": "qwen3-4b", "object": "model"}]})
    resend = done.value.value
    assert isinstance(resend, Call)
    assert resend.model == "qwen3-4b"
    assert resend.content is not None
    assert json.loads(resend.content)["model"] == "qwen3-4b"
    assert _chat(client, DEFAULT_MODEL).model == "qwen3-4b"  # learned once for this client


def test_an_unknown_model_stays_unexplained_when_the_listing_fails(client: LMStudioClient) -> None:
    failure = client._after_refusal(_chat(client), 0, 404, NOT_FOUND, {})
    assert not isinstance(failure, Retry)
    next(failure)
    assert failure.throw(APIConnectionError("gone")) == Identify(client.settings.probe_timeout)
    with pytest.raises(ModelNotFoundError) as raised:
        failure.send(None)
    assert raised.value.available == ()
