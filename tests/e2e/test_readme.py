"""Every python block of the README runs as written against the real local model server.

Each block is run unchanged in a subprocess with only the documented environment variables
pointing it at the session's llama.cpp server (``LM_STUDIO_URL``, ``LM_STUDIO_MODEL``,
``LM_STUDIO_EMBEDDING_MODEL``); a block holding ``def test_`` is a user's test file, so it is
recorded with ``--lmstudio-record`` and then replayed with the network off, as the README
says. A block needing a cloud key runs with the local decision (the server is up), the way
the README's text says it can. The README names its model ids and URLs only through those
variables, and every README section an error message points to exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lmstudio_adapters.testing import CHAT_MODEL, EMBEDDING_MODEL, LocalModelServer
from tests.loopback import Reply, chat_reply, closed_port, serve

ROOT = Path(__file__).resolve().parent.parent.parent
README = ROOT / "README.md"
PACKAGE = ROOT / "adapters" / "lmstudio_adapters"


def python_blocks() -> list[tuple[str, str]]:
    """(section heading, code) of every python block, in README order."""
    blocks: list[tuple[str, str]] = []
    heading = ""
    for part in re.split(r"(```python\n.*?```)", README.read_text(), flags=re.DOTALL):
        if part.startswith("```python\n"):
            blocks.append((heading, part[len("```python\n") : -3]))
        else:
            headings = re.findall(r"^#{2,3} (.+)$", part, flags=re.MULTILINE)
            heading = headings[-1] if headings else heading
    return blocks


BLOCKS = python_blocks()
IDS = [f"{i}-{re.sub(r'[^a-z]+', '-', heading.lower()).strip('-')}" for i, (heading, _) in enumerate(BLOCKS)]


def headings() -> set[str]:
    return set(re.findall(r"^#{2,3} (.+)$", README.read_text(), flags=re.MULTILINE))


def test_blocks_found() -> None:
    """The quick starts, the selector and the user's own test are all there to be run."""
    assert [heading for heading, _ in BLOCKS] == [
        "Quick start",
        "Quick start",
        "Quick start",
        "Local or cloud",
        "How LM Studio is found",
        "Models: load, unload, download",
        "Testing your own chains",
    ]


@pytest.mark.parametrize(("heading", "code"), BLOCKS, ids=IDS)
def test_block_names_models_and_urls_only_through_the_environment(heading: str, code: str) -> None:
    """No local model id or server URL is written into a block (comments may show examples)."""
    statements = "\n".join(line.split("#", 1)[0] for line in code.splitlines())
    assert not re.search(r"\b(model|model_name|base_url)\s*=\s*[\"']", statements), heading
    assert "http://" not in statements
    assert "localhost" not in statements


def test_sections_named_by_error_messages_exist() -> None:
    """Every "see README, '<section>'" in the package's messages names a heading that exists."""
    named: set[str] = set()
    for source in PACKAGE.rglob("*.py"):
        named.update(re.findall(r"README(?:\.md)?,? (?:section )?['\"]([^'\"]+)['\"]", source.read_text()))
    assert named, "the package's messages name README sections (at least the llama-server fallback)"
    assert named <= headings(), f"missing README sections: {named - headings()}"


def block_env(real_server: LocalModelServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LM_STUDIO_")}
    env = {k: v for k, v in env.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL")}
    env.update(
        {
            "LM_STUDIO_URL": real_server.base_url,
            "LM_STUDIO_MODEL": CHAT_MODEL,
            "LM_STUDIO_EMBEDDING_MODEL": EMBEDDING_MODEL,
        }
    )
    return env


def run_user_tests(code: str, folder: Path, env: dict[str, str], *args: str) -> None:
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (folder / "test_readme_block.py").write_text(code)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.e2e
@pytest.mark.parametrize(("heading", "code"), BLOCKS, ids=IDS)
def test_block_runs_as_written(heading: str, code: str, real_server: LocalModelServer, tmp_path: Path) -> None:
    """The block runs to the end (scripts print something; test files record, then replay offline)."""
    env = block_env(real_server)
    if "def test_" in code:
        run_user_tests(code, tmp_path, env, "--lmstudio-record")
        assert list((tmp_path / "cassettes").rglob("*.yaml")), "recording wrote no cassette"
        offline = {k: v for k, v in env.items() if k != "LM_STUDIO_URL"}
        run_user_tests(code, tmp_path, offline, "--disable-socket", "--allow-unix-socket")
        return
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, f"{heading}: {result.stderr[-2000:]}"
    assert result.stdout.strip()


def test_selector_block_runs_the_cloud_way_too(tmp_path: Path) -> None:
    """With LM Studio down, the "Local or cloud" block runs on the cloud model, keyed as its text says.

    "The cloud" is a loopback server that the official integrations reach through their own
    documented variables (the OpenAI SDK's OPENAI_BASE_URL, LlamaIndex's OPENAI_API_BASE).
    """
    code = next(code for heading, code in BLOCKS if heading == "Local or cloud")
    with serve() as cloud, closed_port() as lmstudio_url:
        cloud.route("POST", "/v1/chat/completions", Reply(body=chat_reply("from the cloud")))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LM_STUDIO_", "OPENAI_"))}
        env.update(
            {
                "LM_STUDIO_URL": lmstudio_url,
                "OPENAI_API_KEY": "sk-test-not-a-key",
                "OPENAI_BASE_URL": f"{cloud.url}/v1",
                "OPENAI_API_BASE": f"{cloud.url}/v1",
            }
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[0].startswith("cloud (openai), model gpt-4o-mini: LM Studio is not reachable")
    assert result.stdout.count("from the cloud") == 2
    assert [path for _, path, _, _ in cloud.requests] == ["/v1/chat/completions"] * 2
