"""LMStudioSettings: environment, precedence, normalisation and clear errors."""

from __future__ import annotations

import os

import pytest

from lmstudio_adapters import ConfigError, LMStudioClient, LMStudioSettings


def test_defaults() -> None:
    """With no environment, the documented defaults apply."""
    settings = LMStudioSettings()
    assert settings.base_url == "http://localhost:1234"
    assert settings.model == "local-model"
    assert settings.timeout == 30.0
    assert settings.max_retries == 2
    assert settings.api_key is None


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_URL, LM_STUDIO_MODEL and LM_STUDIO_TIMEOUT (milliseconds) are read."""
    monkeypatch.setenv("LM_STUDIO_URL", "http://10.0.0.5:4321/v1/")
    monkeypatch.setenv("LM_STUDIO_MODEL", "qwen/qwen3-4b")
    monkeypatch.setenv("LM_STUDIO_TIMEOUT", "2500")
    settings = LMStudioSettings()
    assert settings.base_url == "http://10.0.0.5:4321"
    assert settings.model == "qwen/qwen3-4b"
    assert settings.timeout == 2.5


@pytest.mark.skipif(os.name == "nt", reason="Windows environment names are case-insensitive")
def test_variable_names_are_case_sensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the documented upper-case names count, as with os.getenv."""
    monkeypatch.setenv("lm_studio_model", "lower-case")
    monkeypatch.setenv("lm_studio_api_key", "sk-lower")
    settings = LMStudioSettings()
    assert settings.model == "local-model"
    assert settings.api_key is None


def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit arguments beat the environment, for settings and for clients."""
    monkeypatch.setenv("LM_STUDIO_URL", "http://env-host:1234")
    monkeypatch.setenv("LM_STUDIO_TIMEOUT", "1000")
    assert LMStudioSettings(url="http://arg-host:1").base_url == "http://arg-host:1"
    client = LMStudioClient("http://arg-host:2/v1", timeout=7)
    assert client.base_url == "http://arg-host:2"
    assert client.timeout == 7.0
    client.close()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LM_STUDIO_TIMEOUT", "abc", "LM_STUDIO_TIMEOUT='abc' is invalid: expected a whole number of milliseconds"),
        ("LM_STUDIO_TIMEOUT", "-5", "LM_STUDIO_TIMEOUT='-5' is invalid"),
        ("LM_STUDIO_TIMEOUT", "0", "greater than 0"),
        ("LM_STUDIO_URL", "localhost:1234", "LM_STUDIO_URL='localhost:1234' is invalid: expected an http(s) URL"),
        ("LM_STUDIO_URL", "ftp://host", "LM_STUDIO_URL='ftp://host' is invalid"),
        ("LM_STUDIO_MAX_RETRIES", "many", "LM_STUDIO_MAX_RETRIES='many' is invalid"),
        ("LM_STUDIO_API", "v9", "LM_STUDIO_API='v9' is invalid: expected one of auto, openai, v0, v1"),
        ("LM_STUDIO_MODEL", "", "LM_STUDIO_MODEL='' is invalid"),
        ("LM_STUDIO_FALLBACK", "gpt-4o", "LM_STUDIO_FALLBACK='gpt-4o' is invalid: expected a provider:model"),
        ("LM_STUDIO_DISCOVER_PORTS", "12,abc", "LM_STUDIO_DISCOVER_PORTS='12,abc' is invalid: expected comma-sep"),
        ("LM_STUDIO_DISCOVER_PORTS", "70000", "LM_STUDIO_DISCOVER_PORTS='70000' is invalid"),
        ("LM_STUDIO_DISCOVER_PORTS", " , ", "LM_STUDIO_DISCOVER_PORTS=' , ' is invalid"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    """A bad value raises one ConfigError naming the variable, the value and what is expected."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        LMStudioSettings()
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


def test_discover_ports_are_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_DISCOVER_PORTS is read with the other variables; an argument may give a list."""
    from lmstudio_adapters._discovery import DEFAULT_PORTS, default_ports

    monkeypatch.delenv("LM_STUDIO_DISCOVER_PORTS", raising=False)  # the test suite points it nowhere
    assert LMStudioSettings().discover_ports is None
    monkeypatch.setenv("LM_STUDIO_DISCOVER_PORTS", "5555, 6666,")
    assert LMStudioSettings().discover_ports == (5555, 6666)
    assert LMStudioSettings(discover_ports=[7777]).discover_ports == (7777,)
    assert default_ports("http://localhost:1234") == (1234, 5555, 6666)
    assert default_ports("http://localhost:1", LMStudioSettings(discover_ports="2")) == (1, 2)
    monkeypatch.delenv("LM_STUDIO_DISCOVER_PORTS")
    assert default_ports("http://localhost:1234") == DEFAULT_PORTS


def test_api_key_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM_STUDIO_API_KEY never shows in repr or str of settings or clients."""
    monkeypatch.setenv("LM_STUDIO_API_KEY", "sk-lm-supersecret:token")
    settings = LMStudioSettings()
    client = LMStudioClient()
    for text in (repr(settings), str(settings), repr(client), str(client), repr(client.api_key)):
        assert "supersecret" not in text
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "sk-lm-supersecret:token"
    client.close()


@pytest.mark.parametrize("bad", [0, -1, "5", True])
def test_client_timeout_must_be_positive_seconds(bad: object) -> None:
    """A client timeout that is not a positive number of seconds is a ConfigError."""
    with pytest.raises(ConfigError, match="timeout="):
        LMStudioClient(timeout=bad)  # type: ignore[arg-type]


def test_client_bad_url() -> None:
    """A base URL without a scheme is refused before any request."""
    with pytest.raises(ConfigError, match=r"base_url='localhost:1234' is invalid: expected an http\(s\) URL"):
        LMStudioClient("localhost:1234")
