"""A loopback OpenAI-compatible server that does no work: every answer is pre-rendered bytes.

Runs in its own process (so it never competes with the client being measured for the GIL),
on asyncio with keep-alive, and counts the TCP connections it accepted. Routes:
``GET /v1/models``, ``POST /v1/chat/completions`` (JSON, or an SSE stream of ``chunks``
content deltas when the body asks for ``"stream": true``), ``POST /v1/embeddings``.
``GET /stats`` returns ``{"connections": N, "peak": P, "embed_requests": E}`` (``P``: most
connections open at once since the last ``GET /reset``). Under ``/slow`` every chat route streams
``SLOW_CHUNKS`` chunks ``SLOW_GAP`` seconds apart (a model generating), for the concurrency rows.
Embeddings answer one vector per input.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import sys

MODEL = "bench-model"
SLOW_CHUNKS = 40
SLOW_GAP = 0.05


def _chat_body() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the bench server."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
        }
    ).encode()


def _stream_body(chunks: int, usage: bool) -> bytes:
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    lines = []
    for index in range(chunks):
        delta = {"role": "assistant", "content": "tok "} if index == 0 else {"content": "tok "}
        lines.append("data: " + json.dumps({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
    lines.append("data: " + json.dumps({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if usage:  # the trailing usage chunk, only when asked for (stream_options.include_usage)
        lines.append(
            "data: "
            + json.dumps(
                {
                    **head,
                    "choices": [],
                    "usage": {"prompt_tokens": 9, "completion_tokens": chunks, "total_tokens": chunks + 9},
                }
            )
        )
    lines.append("data: [DONE]")
    return ("\n\n".join(lines) + "\n\n").encode()


def _embed_body(count: int) -> bytes:
    vector = [0.1] * 384
    return json.dumps(
        {
            "object": "list",
            "model": MODEL,
            "data": [{"object": "embedding", "index": index, "embedding": vector} for index in range(count)],
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }
    ).encode()


def _input_count(body: bytes) -> int:
    texts = json.loads(body).get("input")
    return len(texts) if isinstance(texts, list) else 1


def _response(body: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode() + body


def serve(sock: socket.socket, chunks: int, slow_chunks: int = SLOW_CHUNKS, slow_gap: float = SLOW_GAP) -> None:
    """Serve forever on an already-bound listening socket."""
    chat = _response(_chat_body())
    stream = _response(_stream_body(chunks, usage=False), "text/event-stream")
    stream_usage = _response(_stream_body(chunks, usage=True), "text/event-stream")
    embeds = {1: _response(_embed_body(1))}
    models = _response(json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode())
    slow_lines = _stream_body(slow_chunks, usage=True).split(b"\n\n")
    slow_head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: keep-alive\r\n\r\n"
    )
    connections = open_now = peak = embed_requests = 0

    async def slow_stream(writer: asyncio.StreamWriter) -> None:
        writer.write(slow_head)
        for line in slow_lines:
            if not line:
                continue
            await asyncio.sleep(slow_gap)
            event = line + b"\n\n"
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections, open_now, peak, embed_requests
        connections += 1
        open_now += 1
        peak = max(peak, open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, _, rest = head.partition(b"\r\n")
                length = 0
                for line in rest.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                path = request_line.split(b" ")[1]
                if path.startswith(b"/slow/") and path.endswith(b"/chat/completions"):
                    await slow_stream(writer)
                elif path.endswith(b"/chat/completions"):
                    compact = body.replace(b" ", b"")
                    if b'"stream":true' not in compact:
                        writer.write(chat)
                    else:
                        writer.write(stream_usage if b'"include_usage":true' in compact else stream)
                elif path.endswith(b"/embeddings"):
                    embed_requests += 1
                    count = _input_count(body)
                    if count not in embeds:
                        embeds[count] = _response(_embed_body(count))
                    writer.write(embeds[count])
                elif path == b"/stats":
                    stats = {"connections": connections, "peak": peak, "embed_requests": embed_requests}
                    writer.write(_response(json.dumps(stats).encode()))
                elif path == b"/reset":
                    peak = open_now  # this request's own connection closes next: not counted in "open"
                    writer.write(_response(json.dumps({"open": open_now - 1}).encode()))
                else:
                    writer.write(models)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            open_now -= 1
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=sock, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class StubServer:
    """Start the stub in a child process; stopped on exit of the ``with`` block."""

    def __init__(self, chunks: int = 2000, slow_chunks: int = SLOW_CHUNKS, slow_gap: float = SLOW_GAP) -> None:
        self.chunks = chunks
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.process = multiprocessing.get_context("fork").Process(
            target=serve, args=(self.sock, chunks, slow_chunks, slow_gap), daemon=True
        )

    @property
    def url(self) -> str:
        """The server root."""
        return f"http://127.0.0.1:{self.port}"

    def stats(self, path: str = "/stats") -> dict[str, int]:
        """The server's counters (``/reset`` starts a new peak first)."""
        import urllib.request

        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
            return dict(json.loads(response.read()))

    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self.stats()["connections"]

    def __enter__(self) -> StubServer:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(5)
        self.sock.close()


if __name__ == "__main__":
    with StubServer(int(sys.argv[1]) if len(sys.argv) > 1 else 2000) as server:
        print(server.url, flush=True)
        server.process.join()
