"""Perturbed sampling: prove that tests pass whatever a model happens to generate.

Set ``LMSTUDIO_ADAPTERS_PERTURB=<seed>`` (or ``<seed>:<temperature>``; the temperature is
0.8 by default) and the project's e2e tier and notebooks talk to the local model server
through a :class:`SamplingProxy`, which rewrites every generation request to sample at that
temperature with that seed, whatever the code asked for (``temperature=0`` included). Each
seed is another plausible set of answers; a test that passes only on one of them tests the
model, not the library. Unset (the default), nothing changes and runs are deterministic.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["PERTURB_ENV", "Perturbation", "SamplingProxy"]

PERTURB_ENV = "LMSTUDIO_ADAPTERS_PERTURB"
DEFAULT_TEMPERATURE = 0.8
_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


@dataclass(frozen=True)
class Perturbation:
    """The sampling every generation request gets: ``temperature`` with ``seed``."""

    seed: int
    temperature: float = DEFAULT_TEMPERATURE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Perturbation | None:
        """Read ``LMSTUDIO_ADAPTERS_PERTURB`` (``<seed>`` or ``<seed>:<temperature>``); None when unset."""
        value = (os.environ if environ is None else environ).get(PERTURB_ENV, "").strip()
        if not value:
            return None
        seed, _, temperature = value.partition(":")
        try:
            return cls(seed=int(seed), temperature=float(temperature) if temperature else DEFAULT_TEMPERATURE)
        except ValueError:
            raise ValueError(
                f"{PERTURB_ENV}={value!r} is invalid: expected <seed> or <seed>:<temperature>, such as 7 or 7:0.8."
            ) from None

    def rewrite(self, body: bytes) -> bytes:
        """The request body with this sampling, when it asks for a generation; else unchanged."""
        try:
            request = json.loads(body) if body else None
        except ValueError:
            return body
        if not isinstance(request, dict) or not ("messages" in request or "prompt" in request):
            return body
        request["temperature"] = self.temperature
        request["seed"] = self.seed
        return json.dumps(request).encode()


class _Handler(BaseHTTPRequestHandler):
    server: SamplingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.server.perturbation.rewrite(self.rfile.read(length) if length else b"")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        upstream = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port, timeout=600)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in _HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while piece := answer.read1(65536):
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        finally:
            upstream.close()

    do_GET = do_POST = do_DELETE = _forward


class SamplingProxy(ThreadingHTTPServer):
    """A proxy on 127.0.0.1 in front of ``upstream`` that applies a :class:`Perturbation`.

    Use it as a context manager; it stops itself after ``lifetime`` seconds in any case.
    ``base_url`` and ``port`` are the proxy's, so it stands in for the server it fronts.
    """

    daemon_threads = True

    def __init__(self, upstream: str, perturbation: Perturbation, *, lifetime: float = 3600.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream = upstream
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.perturbation = perturbation
        self.lifetime = lifetime
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @property
    def port(self) -> int:
        """The proxy's port."""
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        """The proxy's root URL, to use as ``LM_STUDIO_URL``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SamplingProxy:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Safe to call twice."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        with contextlib.suppress(OSError):
            self.server_close()

    def __enter__(self) -> SamplingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
