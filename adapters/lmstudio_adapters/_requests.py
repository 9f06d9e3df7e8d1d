"""Request bodies: check what the caller gave, then reshape it into what LM Studio accepts.

Every normalisation here answers a documented LM Studio quirk (docs/lmstudio-api.md, section 2.1):
``json_object`` is rejected (send ``json_schema`` with ``{"type": "object"}``), assistant
``content: null`` is rejected (send ``""``), tool results must be strings, and the object
form of ``tool_choice`` is not honoured (send only that tool, with ``required``).
The same call always produces the same bytes: no ids, no timestamps, stable key order.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from lmstudio_adapters._errors import InputError
from lmstudio_adapters._tool_calls import parse_arguments

__all__ = [
    "CLIENT_OPTIONS",
    "JSON_MODE_FORMAT",
    "REQUEST_FIELDS",
    "SAMPLING_FIELDS",
    "WireMessages",
    "build_chat_body",
    "build_completion_body",
    "build_embeddings_body",
    "dumps",
    "normalise_message",
    "normalise_messages",
    "split_call_options",
]

#: Sampling and generation fields LM Studio accepts on /v1 (docs/lmstudio-api.md, section 2.1).
SAMPLING_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "max_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "parallel_tool_calls",
    "ttl",
    "draft_model",
)
#: Request fields the client builds itself (checked and reshaped above).
REQUEST_FIELDS = ("model", "tools", "tool_choice", "response_format")
#: Per-call options that steer the client, never sent: each framework's name for them.
CLIENT_OPTIONS = {"timeout": "timeout", "request_timeout": "timeout", "max_retries": "max_retries"}

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})

JSON_MODE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "json_object", "schema": {"type": "object"}},
}


def dumps(body: Mapping[str, Any]) -> bytes:
    """Serialise a body compactly and deterministically (insertion order kept, UTF-8 unescaped).

    A long history is mostly this cost, so orjson writes it where it is installed (about seven
    times as fast as ``json``); pydantic-core writes what orjson does not take (integers past
    64 bits, non-string keys, datetimes, objects) and both write the same bytes for what both
    take. NaN and infinities are not JSON: a body holding one raises (orjson would write
    ``null``, so it gets only bodies known to hold none).

    Raises:
        InputError: the body holds a value JSON cannot carry.
    """
    fast = _fast_writer()
    if fast is not None and _all_finite(body):
        try:
            return fast(body)
        except TypeError:
            pass
    try:
        content = to_json(body, inf_nan_mode="constants")
    except PydanticSerializationError:
        content = b"NaN"  # let json name the value it cannot carry
    if b"NaN" in content or b"Infinity" in content:
        try:
            return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise InputError(f"The request cannot be sent as JSON: {exc}. Pass only JSON-compatible values.") from None
    return content


def _all_finite(value: Any) -> bool:
    """Whether no float in ``value`` (dicts, lists and tuples, nested) is NaN or infinite.

    ``WireMessages`` are not walked: whatever builds them holds only strings, or checked each
    message with :func:`normalise_message`. False for what is too deep to walk.
    """
    try:
        return _walk_finite(value)
    except RecursionError:
        return False


def _walk_finite(value: Any) -> bool:
    if isinstance(value, float):
        return value - value == 0.0  # NaN and infinities give NaN
    if isinstance(value, dict):
        values: Any = value.values()
    elif isinstance(value, (list, tuple)) and type(value) is not WireMessages:
        values = value
    else:
        return True
    return all(type(item) is str or _walk_finite(item) for item in values)


@functools.cache
def _fast_writer() -> Callable[[Any], bytes] | None:
    # Imported on first use: it takes tens of milliseconds, which `import lmstudio_adapters` should not pay.
    try:
        import orjson
    except ImportError:  # not on this interpreter (PyPy): pydantic-core writes every body
        return None
    # Datetimes and dataclasses go to pydantic-core, which has always written them.
    option = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    return functools.partial(orjson.dumps, option=option)


def split_call_options(
    kwargs: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Sort a framework call's keyword arguments into what goes where; the one rule both adapters use.

    Returns ``(fields, extra_body, options)``: ``fields`` are the sampling and request fields
    the client knows (``temperature``, ``tools``, ``model``...; None values dropped);
    ``extra_body`` holds every other name, sent as it is, with a given ``extra_body={...}``
    merged in (its keys win); ``options`` are client settings for this call only
    (``timeout`` or ``request_timeout`` in seconds, ``max_retries``), never sent.

    Raises:
        InputError: ``extra_body`` is not a mapping.
    """
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    options: dict[str, Any] = {}
    given_extra: Any = None
    for name, value in kwargs.items():
        if name == "extra_body":
            given_extra = value
        elif name in CLIENT_OPTIONS:
            if value is not None:
                options[CLIENT_OPTIONS[name]] = value
        elif name in _KNOWN_FIELDS:
            if value is not None:
                fields[name] = value
        else:
            extra[name] = value
    if given_extra is not None:
        if not isinstance(given_extra, Mapping):
            raise InputError(f"extra_body must be a mapping of request fields, not {type(given_extra).__name__}.")
        extra.update(given_extra)
    return fields, extra, options


_KNOWN_FIELDS = frozenset(SAMPLING_FIELDS + REQUEST_FIELDS)


def _check_max_tokens(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != -1):
        raise InputError(
            f"max_tokens={value!r} is invalid: use a positive whole number, or -1 for no limit "
            "(LM Studio's convention)."
        )


def _check_image(url: Any) -> None:
    if not isinstance(url, str) or not url:
        raise InputError("An image part has no URL. Pass a data: URL (base64) or an http(s) URL.")
    if not url.startswith("data:"):
        return
    header, sep, payload = url.partition(",")
    if not sep or not header.startswith("data:image/") or not header.endswith(";base64"):
        raise InputError(
            f"An image part's data URL starts with {header[:40]!r}, which is not an image: "
            "expected data:image/<png|jpeg|webp|gif>;base64,<data>."
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(
            "An image part's data URL holds invalid base64 data. Encode the image bytes with base64."
        ) from None
    if not looks_like_image(data):
        raise InputError(
            f"An image part ({header[5:]}) holds {len(data)} bytes that are not a PNG, JPEG, GIF, WebP or BMP "
            "image. Pass the image file's bytes."
        )


_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def looks_like_image(data: bytes) -> bool:
    """Whether ``data`` starts like an image file LM Studio's vision models take."""
    return data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _normalise_content(content: Any, role: str, index: int) -> Any:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        if role == "tool":
            # Tool results must reach LM Studio as strings.
            texts = [part.get("text", "") if isinstance(part, dict) else str(part) for part in content]
            return "".join(texts)
        for part in content:
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise InputError(f"messages[{index}].content has a part {part!r} that is not an object with a 'type'.")
            if part["type"] == "image_url":
                image = part.get("image_url")
                _check_image(image.get("url") if isinstance(image, dict) else image)
        return content
    if role == "tool":
        return json.dumps(content, ensure_ascii=False)
    raise InputError(f"messages[{index}].content is a {type(content).__name__}; expected a string or a list of parts.")


def _normalise_tool_calls(calls: Any, index: int) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        raise InputError(f"messages[{index}].tool_calls must be a list.")
    fixed = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise InputError(f"messages[{index}].tool_calls has an entry without function.name: {call!r}.")
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        elif not arguments.strip():
            arguments = "{}"  # no arguments; llama.cpp rejects an empty string (HTTP 500)
        elif parse_arguments(arguments) is None:
            # The server would fail on it (HTTP 500 "Failed to parse tool call arguments as JSON").
            raise InputError(
                f"messages[{index}].tool_calls has a call to {function['name']!r} whose arguments are not a "
                f"JSON object ({arguments[:200]!r}); it was probably cut off by max_tokens. Leave the "
                "incomplete call out of the history (its ToolCall.error says why), or fix its arguments."
            )
        fixed.append(
            {
                "id": str(call.get("id") or ""),
                "type": "function",
                "function": {"name": function["name"], "arguments": arguments},
            }
        )
    return fixed


class WireMessages(list[dict[str, Any]]):
    """Messages an adapter's conversion already put in the shape :func:`normalise_messages` makes.

    A framework adapter builds these from typed messages: what it makes directly (a known role,
    string content) needs no check, and it passes every other message through
    :func:`normalise_message` itself. The request builder then sends them as they are, so a long
    history is walked once per call. Plain lists from client users are always checked. Either
    way no float in them is NaN or infinite, so :func:`dumps` does not look again.
    """

    __slots__ = ()


def normalise_message(message: Any, index: int) -> dict[str, Any]:
    """Check one message and return a copy in the shape LM Studio accepts."""
    if not isinstance(message, Mapping):
        raise InputError(f"messages[{index}] is a {type(message).__name__}; expected an object with a role.")
    role = message.get("role")
    if role not in ROLES:
        raise InputError(f"messages[{index}] has role {role!r}; expected one of {', '.join(sorted(ROLES))}.")
    out = dict(message)
    out["content"] = _normalise_content(message.get("content"), role, index)
    if role == "assistant" and message.get("tool_calls"):
        out["tool_calls"] = _normalise_tool_calls(message["tool_calls"], index)
    elif "tool_calls" in out:
        del out["tool_calls"]
    if role == "tool" and out.get("tool_call_id") is None:
        out.pop("tool_call_id", None)
    if (len(out) > 2 or type(out["content"]) is not str) and not _all_finite(out):
        raise InputError(f"messages[{index}] holds NaN or an infinity, which JSON cannot carry. Pass finite numbers.")
    return out


def normalise_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check the messages and return copies in the shape LM Studio accepts (``WireMessages`` as they are)."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InputError("messages must be a list of {'role': ..., 'content': ...} objects.")
    if not messages:
        raise InputError("messages is empty: pass at least one message (for example a user message).")
    if type(messages) is WireMessages:
        return messages
    return WireMessages([normalise_message(message, index) for index, message in enumerate(messages)])


def _check_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    checked = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str) or not function["name"]:
            raise InputError(
                f"Tool {tool!r} is not an OpenAI function tool: expected {{'type': 'function', "
                "'function': {'name': ..., 'parameters': {...}}}."
            )
        parameters = function.get("parameters")
        if parameters is not None and (
            not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object"
        ):
            raise InputError(
                f"Tool {function['name']!r} has parameters {parameters!r}; expected a JSON Schema object "
                "such as {'type': 'object', 'properties': {...}}."
            )
        checked.append(dict(tool))
    return checked


def _apply_tool_choice(body: dict[str, Any], tool_choice: Any) -> None:
    tools = body.get("tools")
    if tool_choice is None:
        return
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        tool_choice = name if isinstance(name, str) else tool_choice
    if tool_choice in ("auto", "none", "required"):
        body["tool_choice"] = tool_choice
        return
    if tool_choice == "any":
        body["tool_choice"] = "required"
        return
    if isinstance(tool_choice, str):
        # LM Studio rejects or ignores the object form: send only the named tool, required.
        chosen = [tool for tool in tools or [] if tool["function"]["name"] == tool_choice]
        if not chosen:
            known = ", ".join(tool["function"]["name"] for tool in tools or []) or "none"
            raise InputError(f"tool_choice names {tool_choice!r}, which is not among the tools given ({known}).")
        body["tools"] = chosen
        body["tool_choice"] = "required"
        return
    raise InputError(f"tool_choice={tool_choice!r} is invalid: use 'auto', 'none', 'required' or a tool name.")


def _response_format(value: Any) -> Any:
    if isinstance(value, Mapping) and value.get("type") == "json_object":
        return JSON_MODE_FORMAT
    return value


def _with_params(body: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with the sampling fields set (None values left out), ``max_tokens`` checked."""
    _check_max_tokens(params.get("max_tokens"))
    body.update((key, value) for key, value in params.items() if value is not None)
    return body


def _finish_body(
    body: dict[str, Any], *, stream: bool, stream_usage: bool, extra_body: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What every body ends with: the streaming fields, then ``extra_body`` (its keys win)."""
    if stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    if extra_body:
        body.update(extra_body)
    return body


def build_chat_body(
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str,
    stream: bool,
    stream_usage: bool,
    params: Mapping[str, Any],
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Any = None,
    response_format: Any = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body for a call; ``params`` with value None are left out."""
    body = _with_params({"model": model, "messages": normalise_messages(messages)}, params)
    if tools:
        body["tools"] = _check_tools(tools)
        _apply_tool_choice(body, tool_choice)
    elif tool_choice not in (None, "none", "auto"):
        raise InputError(f"tool_choice={tool_choice!r} was given without tools.")
    if response_format is not None:
        body["response_format"] = _response_format(response_format)
    return _finish_body(body, stream=stream, stream_usage=stream_usage, extra_body=extra_body)


def build_completion_body(
    prompt: str,
    *,
    model: str,
    stream: bool,
    stream_usage: bool,
    params: Mapping[str, Any],
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``/v1/completions`` body for a call."""
    if not isinstance(prompt, str):
        raise InputError(f"prompt must be a string, not {type(prompt).__name__}.")
    body = _with_params({"model": model, "prompt": prompt}, params)
    return _finish_body(body, stream=stream, stream_usage=stream_usage, extra_body=extra_body)


def build_embeddings_body(
    texts: str | Sequence[str], *, model: str, extra_body: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``/v1/embeddings`` body; LM Studio takes only strings, never token ids."""
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items:
        raise InputError("Nothing to embed: pass at least one string.")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InputError(
                f"Embedding input {index} is a {type(item).__name__}; LM Studio accepts only strings (never token ids)."
            )
    body: dict[str, Any] = {"model": model, "input": texts if isinstance(texts, str) else items}
    return _finish_body(body, stream=False, stream_usage=False, extra_body=extra_body)
