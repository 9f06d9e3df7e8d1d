"""Run the real local model server by hand: ``python -m lmstudio_adapters.testing serve``.

Prints the URL to use as ``LM_STUDIO_URL`` and serves until Ctrl-C (or ``--lifetime``).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from lmstudio_adapters.testing._server import CHAT_MODEL, COMPLETION_MODEL, EMBEDDING_MODEL, LocalModelServer


def main(argv: list[str] | None = None) -> int:
    """Start the server, print where it is, wait until stopped."""
    parser = argparse.ArgumentParser(prog="python -m lmstudio_adapters.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="install (first time) and run the local llama.cpp server")
    serve.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--lifetime", type=float, default=3600.0, help="stop after this many seconds")
    serve.add_argument("--url-file", type=Path, help="write the server URL to this file once ready")
    args = parser.parse_args(argv)
    server = LocalModelServer(port=args.port, lifetime=args.lifetime)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(f"llama-server ready in {server.startup_seconds:.1f} s at {server.base_url}", flush=True)
        print(f"models: {CHAT_MODEL} (chat, tools), {EMBEDDING_MODEL} (embeddings), {COMPLETION_MODEL} (completions)")
        print(f"use it with: export LM_STUDIO_URL={server.base_url} LM_STUDIO_MODEL={CHAT_MODEL}", flush=True)
        if args.url_file:
            args.url_file.write_text(server.base_url)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
