"""A raw-socket server on 127.0.0.1 that answers byte by byte, as a hostile or broken server would.

``http.server`` cannot trickle a status line, flood ``100 Continue`` or lie about a length;
this one hands each accepted request to a *script* that writes whatever bytes it wants.
Scripts sleep with ``pause``, which returns at once when the server stops, and every
server stops itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: How long a script keeps misbehaving: far past any timeout the tests use, so a call that
#: is not bounded by its own deadline is caught by the hang guard, not by the server quitting.
MISBEHAVE_FOR = 12.0


@dataclass
class Hostile:
    """The running server: its URL, and the requests it received (method and path)."""

    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def pause(self, seconds: float) -> bool:
        """Sleep; True when the server is stopping (the script should return)."""
        return self.stop.wait(seconds)

    def count(self, path: str) -> int:
        """Requests received for ``path``."""
        return sum(1 for _, seen in self.requests if seen == path)


Script = Callable[[socket.socket, str, Hostile], None]


def _read_request(conn: socket.socket) -> tuple[str, str] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    return method, path.split("?")[0]


@contextmanager
def hostile_server(script: Script, *, lifetime: float = 30.0) -> Iterator[Hostile]:
    """Serve ``script`` on a fresh port; every connection is closed when it returns or the server stops."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(32)
    sock.settimeout(0.05)
    server = Hostile(f"http://127.0.0.1:{sock.getsockname()[1]}")
    live: list[socket.socket] = []
    deadline = time.monotonic() + lifetime

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            while not server.stop.is_set():
                request = _read_request(conn)
                if request is None:
                    break
                server.requests.append(request)
                script(conn, request[1], server)
                break
        with contextlib.suppress(OSError):
            conn.close()

    def accept() -> None:
        while not server.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conn.settimeout(lifetime)
            live.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
        server.stop.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(2)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.close()
        sock.close()


def send(conn: socket.socket, data: bytes) -> None:
    """Write ``data`` (a closed peer is not an error for a hostile server)."""
    with contextlib.suppress(OSError):
        conn.sendall(data)


def trickle(conn: socket.socket, server: Hostile, data: bytes, *, every: float = 0.1) -> None:
    """Send ``data`` again and again, ``every`` seconds, for ``MISBEHAVE_FOR`` seconds."""
    until = time.monotonic() + MISBEHAVE_FOR
    while time.monotonic() < until and not server.pause(every):
        try:
            conn.sendall(data)
        except OSError:
            return


HEAD_SSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"


def head_json(length: int, *, extra: str = "") -> bytes:
    """A 200 head for a JSON body of ``length`` bytes."""
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n").encode()
