"""The package's pytest plugin as a project configures it: one cassette tree, class-named cassettes.

A small project is run in its own pytest session (pytester): recorded with
``--lmstudio-record`` against a loopback server, then replayed with that server gone.
The project's own cassette tests use the same fixture and the same ini option.
"""

from __future__ import annotations

import json

import pytest
import yaml

from lmstudio_adapters.testing.plugin import CASSETTE_DIR_INI
from tests.loopback import Reply, chat_reply, serve

pytest_plugins = ["pytester"]

TESTS = """
import pytest
from lmstudio_adapters import LMStudioClient


def ask(url, text):
    with LMStudioClient(url, model="m", max_retries=0) as client:
        return client.chat([{"role": "user", "content": text}]).choices[0].message.content


class TestOne:
    def test_ask(self, lmstudio_cassette, lmstudio_url):
        assert ask(lmstudio_url, "one") == "recorded"


class TestTwo:
    def test_ask(self, lmstudio_cassette, lmstudio_url):
        assert ask(lmstudio_url, "two") == "recorded"


def test_plain(lmstudio_cassette, lmstudio_url):
    assert ask(lmstudio_url, "three") == "recorded"


def test_without_cassette():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(f"[pytest]\n{CASSETTE_DIR_INI} = recorded\n")
    pytester.mkdir("suite")
    (pytester.path / "suite" / "test_chains.py").write_text(TESTS)
    return pytester


def test_records_into_the_configured_tree_and_replays(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cassettes land in <ini dir>/<root>/<module>/, a method's named after its class; replay needs no server."""
    with serve() as server:
        server.route("POST", "/v1/chat/completions", Reply(body=chat_reply("recorded")))
        monkeypatch.setenv("LM_STUDIO_URL", server.url)
        project.runpytest_subprocess("--lmstudio-record").assert_outcomes(passed=4)
    folder = project.path / "recorded" / "test_chains"
    assert sorted(path.name for path in folder.iterdir()) == [
        "TestOne.test_ask.yaml",
        "TestTwo.test_ask.yaml",
        "test_plain.yaml",
    ]
    assert '"one"' in (folder / "TestOne.test_ask.yaml").read_text()
    assert '"two"' in (folder / "TestTwo.test_ask.yaml").read_text()
    assert not (project.path / "suite" / "cassettes").exists()

    monkeypatch.delenv("LM_STUDIO_URL")  # and the server is gone
    project.runpytest_subprocess().assert_outcomes(passed=4)
    # The tests that use the fixture carry its marker: -m lmstudio_cassette selects them.
    project.runpytest_subprocess("-m", "lmstudio_cassette").assert_outcomes(passed=3, deselected=1)


def test_a_bare_named_method_cassette_still_replays(project: pytest.Pytester) -> None:
    """A method's cassette recorded under its bare name (earlier versions) is still found when replaying."""
    project.makeini("[pytest]\n")  # the default: cassettes/ beside the test file
    body = chat_reply("recorded")
    cassette = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "http://localhost:1234/v1/chat/completions",
                    "body": json.dumps({"model": "m", "messages": [{"role": "user", "content": "one"}]}),
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"content-type": ["application/json"]},
                    "body": {"string": json.dumps(body)},
                },
            }
        ],
    }
    folder = project.path / "suite" / "cassettes" / "test_chains"
    folder.mkdir(parents=True)
    (folder / "test_ask.yaml").write_text(yaml.safe_dump(cassette))
    project.runpytest_subprocess("-k", "TestOne").assert_outcomes(passed=1)
