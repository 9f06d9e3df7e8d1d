"""Whether a model's tool call is usable: one rule for whole replies and for streams.

A call is usable when its arguments are a JSON object. A reply that stopped at ``max_tokens``
(``finish_reason: "length"``) in the middle of a call leaves arguments such as ``{"a": 2``,
which a lenient parser would read as ``{"a": 2}``: such a call is marked, never passed on
as complete, and never sent back to the server as if it were JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lmstudio_adapters._schemas import FunctionCall, ToolCall, ToolCallDelta

__all__ = ["ToolCallAssembler", "mark_tool_calls", "parse_arguments", "tool_call_problem"]

CUT_OFF = "length"


def parse_arguments(arguments: str) -> dict[str, Any] | None:
    """The arguments as a dict, or None when they are not a JSON object ("" means no arguments)."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):  # nested too deep is unparseable too
        return None
    return value if isinstance(value, dict) else None


def open_json(text: str) -> tuple[list[str], bool, bool]:
    """How partial JSON ``text`` is left open.

    Returns its unclosed ``{``/``[`` (innermost last), whether it ends inside a string, and
    whether that string ends right after a backslash.
    """
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack, in_string, escaped


def tool_call_problem(name: str, arguments: str, *, cut_off: bool) -> str | None:
    """Why a call is unusable, naming the fix; None when it is complete.

    ``cut_off``: the reply stopped at ``max_tokens`` and this is its last call, so even
    empty arguments mean the model had not finished writing them.
    """
    if cut_off and not arguments.strip():
        parsed: dict[str, Any] | None = None
    else:
        parsed = parse_arguments(arguments)
    if parsed is not None:
        return None
    shown = arguments if len(arguments) <= 200 else arguments[:200] + "..."
    if cut_off:
        return (
            f"The call to {name!r} is incomplete: the reply was cut off by max_tokens (finish_reason "
            f"'length') before its arguments were complete ({shown!r}). Raise max_tokens (or pass "
            "max_tokens=-1 for no limit)."
        )
    return (
        f"The call to {name!r} is unusable: its arguments are not a JSON object ({shown!r}). Force the "
        "tool with tool_choice=<its name>, or use a model trained for tool use."
    )


def mark_tool_calls(calls: list[ToolCall], finish_reason: str | None) -> list[ToolCall]:
    """Set each call's ``error`` (None when usable); only the last call can have been cut off."""
    last = len(calls) - 1
    for index, call in enumerate(calls):
        call.error = tool_call_problem(
            call.function.name, call.function.arguments, cut_off=finish_reason == CUT_OFF and index == last
        )
    return calls


class ToolCallAssembler:
    """Collects streamed tool-call fragments (by ``index``) into whole calls.

    The first fragment of a call carries its id and name; later fragments add arguments
    (a server that repeats the id or name on every fragment does not create new calls).
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, ToolCall] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(self, fragment: ToolCallDelta) -> bool:
        """Add one fragment; True when it starts a new call."""
        call = self._calls.get(fragment.index)
        if call is None:
            self._calls[fragment.index] = ToolCall(
                id=fragment.id or "",
                function=FunctionCall(name=fragment.function.name or "", arguments=fragment.function.arguments),
            )
            return True
        if not call.id and fragment.id:
            call.id = fragment.id
        if not call.function.name and fragment.function.name:
            call.function.name = fragment.function.name
        call.function.arguments += fragment.function.arguments
        return False

    def add_all(self, fragments: Iterable[ToolCallDelta]) -> None:
        """Add several fragments."""
        for fragment in fragments:
            self.add(fragment)

    def indexes(self) -> list[int]:
        """The stream indexes of the calls so far, in order."""
        return sorted(self._calls)

    def calls(self, finish_reason: str | None = None) -> list[ToolCall]:
        """The calls so far, in index order, each marked by :func:`mark_tool_calls`."""
        return mark_tool_calls([self._calls[index] for index in sorted(self._calls)], finish_reason)
