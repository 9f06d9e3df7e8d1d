"""The ``lmstudio-adapters`` command line: options, subcommands, and one-line errors.

Errors print as one line (the exception's own message, which says what to do); ``--debug``
shows the traceback. Colour and tables only when stdout is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from lmstudio_adapters._cli_checks import (
    CHAT_MAX_TOKENS,
    chat,
    doctor,
    find_servers,
    models_table,
    servers_table,
)
from lmstudio_adapters._cli_models import COMMANDS as MODEL_COMMANDS
from lmstudio_adapters._cli_models import add_commands as add_model_commands
from lmstudio_adapters._cli_models import run_command as run_model_command
from lmstudio_adapters._cli_output import print_table
from lmstudio_adapters._client import LMStudioClient
from lmstudio_adapters._config import LMStudioSettings
from lmstudio_adapters._errors import LMStudioAdapterError

__all__ = ["main"]


def _connection_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    # After the subcommand, SUPPRESS keeps a value given before it when the option is not repeated.
    unset: Any = argparse.SUPPRESS if after_command else None
    parser.add_argument("--url", default=unset, help="server root (default: LM_STUDIO_URL or http://localhost:1234)")
    parser.add_argument("--model", default=unset, help="model id (default: LM_STUDIO_MODEL)")
    parser.add_argument("--debug", action="store_true", default=unset or False, help="show tracebacks")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmstudio-adapters", description="Check and use an LM Studio server.")
    _connection_options(parser, after_command=False)
    common = argparse.ArgumentParser(add_help=False)  # the same options after the subcommand too
    _connection_options(common, after_command=True)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", parents=[common], help="check the server, the model and the installed extras")
    models = commands.add_parser("models", parents=[common], help="list the server's models")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    servers = commands.add_parser(
        "servers", parents=[common], help="find the model servers on this machine (LM Studio and others)"
    )
    servers.add_argument("--json", action="store_true", help="machine-readable output")
    chat_cmd = commands.add_parser("chat", parents=[common], help="stream a one-shot answer, then the stats")
    chat_cmd.add_argument("prompt")
    chat_cmd.add_argument(
        "--max-tokens",
        type=int,
        default=CHAT_MAX_TOKENS,
        help=f"cap on the answer's length in tokens (default {CHAT_MAX_TOKENS})",
    )
    demo = commands.add_parser(
        "demo", parents=[common], help="doctor plus a demo chain; starts a local model server if needed"
    )
    demo.add_argument("--local", action="store_true", help="always use the embedded local server")
    add_model_commands(commands)
    return parser


def _run(args: argparse.Namespace, out: TextIO) -> int:
    settings = LMStudioSettings()
    client = LMStudioClient(args.url, model=args.model, settings=settings)
    with client:
        if args.command == "doctor":
            return doctor(client, out)
        if args.command == "models":
            models = client.list_models()
            if args.json:
                json.dump([m.model_dump() for m in models], out, indent=2)
                out.write("\n")
            else:
                print_table(models_table(models), out)
            return 0
        if args.command == "servers":
            found = find_servers(client)
            if args.json:
                json.dump([server.to_dict() for server in found], out, indent=2)
                out.write("\n")
            elif found:
                print_table(servers_table(found), out)
            else:
                print("no local model server found on the usual ports", file=sys.stderr)
            return 0
        if args.command == "chat":
            return chat(client, args.prompt, out, max_tokens=args.max_tokens)
        if args.command in MODEL_COMMANDS:
            return run_model_command(args, client, out)
    from lmstudio_adapters._demo import run_demo

    return run_demo(args, settings, out)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    stream = out or sys.stdout
    runner: Callable[[], int] = lambda: _run(args, stream)  # noqa: E731
    if args.debug:
        return runner()
    try:
        return runner()
    except LMStudioAdapterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
