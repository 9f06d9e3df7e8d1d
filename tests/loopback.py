"""A real HTTP server on 127.0.0.1 whose answers the test scripts: faults on demand.

Each route holds a list of replies served in order (the last one repeats). A reply can
answer JSON with any status and headers, stream SSE lines (with delays), stall, close the
connection before answering, or reset it in the middle of a stream. The server counts the
connections it accepted and the ones still open, so tests can prove nothing leaked.
Every server stops itself after ``lifetime`` seconds even if a test forgets it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> sent as is; a callable gets the request headers
    headers: dict[str, str] = field(default_factory=dict)
    sse: list[str] | None = None  # raw lines of an event stream ("data: {...}", "", ...)
    raw_chunks: list[bytes] | None = None  # exact body chunks of a stream
    delay: float = 0.0  # before the status line
    chunk_delay: float = 0.0  # between stream chunks
    stall_after: int | None = None  # stop sending (but keep the socket open) after N chunks
    close_before_answer: bool = False
    reset_after: int | None = None  # RST the connection after N stream chunks
    content_type: str = "application/json"


def sse_reply(events: list[dict[str, Any] | str], *, done: bool = True, **kwargs: Any) -> Reply:
    """An OpenAI-style event stream of the given payloads."""
    lines: list[str] = []
    for event in events:
        lines.append(event if isinstance(event, str) else "data: " + json.dumps(event))
        lines.append("")
    if done:
        lines += ["data: [DONE]", ""]
    return Reply(sse=lines, content_type="text/event-stream", **kwargs)


def chat_chunk(content: str = "", *, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    """One chat.completion.chunk payload."""
    body: dict[str, Any] = {"content": content} if content else {}
    body.update(delta)
    return {
        "id": "chatcmpl-loop",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "loop-model",
        "choices": [{"index": 0, "delta": body, "finish_reason": finish}],
    }


def chat_reply(content: str = "Hello!", **message: Any) -> dict[str, Any]:
    """A non-streaming chat.completion payload."""
    return {
        "id": "chatcmpl-loop",
        "object": "chat.completion",
        "created": 1,
        "model": "loop-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content, **message}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


MODELS = {"object": "list", "data": [{"id": "loop-model", "object": "model", "owned_by": "me"}]}


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, body, dict(self.headers)))
        reply = self.server.next_reply(self.command, self.path.split("?")[0])
        if reply.delay:
            time.sleep(reply.delay)
        if reply.close_before_answer:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.sse is not None or reply.raw_chunks is not None:
            self._stream(reply)
            return
        payload = reply.body(dict(self.headers)) if callable(reply.body) else reply.body
        data = json.dumps(payload).encode() if isinstance(payload, (dict, list)) else payload or b""
        data = data.encode() if isinstance(data, str) else data
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: Reply) -> None:
        chunks = reply.raw_chunks or [(line + "\n").encode() for line in reply.sse or []]
        if callable(reply.body):  # a stream whose lines quote the request headers
            chunks = [
                chunk.replace(b"{headers}", json.dumps(reply.body(dict(self.headers))).encode()) for chunk in chunks
            ]
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        for index, chunk in enumerate(chunks):
            if reply.reset_after is not None and index == reply.reset_after:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if reply.stall_after is not None and index == reply.stall_after:
                self.server.stop_event.wait(30)
                self.close_connection = True
                return
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
            if reply.chunk_delay:
                time.sleep(reply.chunk_delay)
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = _serve


class LoopbackServer(ThreadingHTTPServer):
    """The scripted server; use :func:`serve` to run one."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[tuple[str, str], list[Reply]] = {("GET", "/v1/models"): [Reply(body=MODELS)]}
        self.hits: dict[tuple[str, str], int] = {}
        self.requests: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.accepted = 0
        self.open_connections = 0
        self.peak_connections = 0  # most connections open at the same time
        self.stop_event = threading.Event()
        #: The answer to unscripted routes; None answers as LM Studio does (200 + error body).
        self.unknown_route: Reply | None = None
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()

    @property
    def url(self) -> str:
        """The server root."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def route(self, method: str, path: str, *replies: Reply) -> None:
        """Script the replies for ``method path``."""
        self.routes[(method, path)] = list(replies)
        self.hits[(method, path)] = 0

    def next_reply(self, method: str, path: str) -> Reply:
        with self._lock:
            replies = self.routes.get((method, path))
            if not replies:
                if self.unknown_route is not None:
                    return self.unknown_route
                return Reply(status=200, body={"error": f"Unexpected endpoint or method. ({method} {path})"})
            count = self.hits.get((method, path), 0)
            self.hits[(method, path)] = count + 1
            return replies[min(count, len(replies) - 1)]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and aborted clients are what these tests provoke

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self.accepted += 1
            self.open_connections += 1
            self.peak_connections = max(self.peak_connections, self.open_connections)
            self._live.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self.open_connections -= 1
            self._live.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close every open client connection, as a server that quits does."""
        with self._lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def wait_idle(self, timeout: float = 2.0) -> int:
        """Wait until the client has closed every connection; return how many remain."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.open_connections:
            time.sleep(0.01)
        return self.open_connections


@contextmanager
def serve(lifetime: float = 60.0) -> Iterator[LoopbackServer]:
    """Run a :class:`LoopbackServer` in a thread; always stopped on exit or after ``lifetime``."""
    server = LoopbackServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        yield server
    finally:
        timer.cancel()
        server.stop_event.set()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        thread.join(5)


@contextmanager
def closed_port() -> Iterator[str]:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield f"http://127.0.0.1:{port}"


@contextmanager
def silent_server(lifetime: float = 30.0) -> Iterator[str]:
    """A port that accepts connections and never answers (a hung host)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        deadline = time.monotonic() + lifetime
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = sock.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        sock.close()


def client_connections(port: int, timeout: float = 2.0) -> int:
    """Open (ESTABLISHED) client-side TCP connections to 127.0.0.1:``port``, from /proc/net/tcp.

    Counts the client's ends only, so a server thread still sleeping on a connection the
    client already closed is not counted. Waits up to ``timeout`` for closes to settle.
    """
    deadline = time.monotonic() + timeout
    while True:
        count = 0
        with open("/proc/net/tcp") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].split(":")[1], 16)
                if remote_port == port and fields[3] == "01":
                    count += 1
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


@contextmanager
def plain_web_server(lifetime: float = 30.0) -> Iterator[str]:
    """Python's own ``http.server`` on an empty folder: any web server that is not LM Studio.

    GET answers 404 with an HTML page, POST 501 (``Unsupported method``), as
    ``python -m http.server`` does in a folder without those files.
    """
    import functools
    import tempfile
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    with tempfile.TemporaryDirectory() as folder:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        timer = threading.Timer(lifetime, httpd.shutdown)
        timer.daemon = True
        timer.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            timer.cancel()
            httpd.shutdown()
            httpd.server_close()
            thread.join(5)
