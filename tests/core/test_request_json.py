"""Request bodies are written by orjson where it is installed and by pydantic-core otherwise:
the same bytes either way, and NaN or infinities refused whichever writes (orjson alone would
write them as ``null``)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic_core import to_json

from lmstudio_adapters import InputError
from lmstudio_adapters._requests import _fast_writer, build_chat_body, dumps, normalise_messages

# What request bodies hold: string keys; text with any character; 64-bit integers; finite floats.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def test_orjson_writes_bodies_here() -> None:
    """The environments this project installs have orjson (a dependency on CPython)."""
    assert _fast_writer() is not None


@given(JSON_VALUES)
def test_both_writers_write_the_same_bytes(value: Any) -> None:
    """A body is the same bytes with or without orjson, so a cassette matches in either environment."""
    body = {"model": "m", "value": value}
    content = dumps(body)
    assert content == to_json(body)
    assert json.loads(content) == json.loads(json.dumps(body))


@pytest.mark.parametrize(
    "value",
    [2**70, {1: "integer key"}, datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)],
    ids=["big integer", "integer key", "datetime"],
)
def test_what_orjson_does_not_take_goes_to_pydantic_core(value: Any) -> None:
    assert dumps({"x": value}) == to_json({"x": value})


def test_models_and_dataclasses_are_written_as_pydantic_core_writes_them() -> None:
    class Schema(BaseModel):
        name: str
        weight: float

    @dataclasses.dataclass
    class Point:
        x: int

    body = {"schema": Schema(name="a", weight=0.5), "point": Point(x=1)}
    assert dumps(body) == to_json(body) == b'{"schema":{"name":"a","weight":0.5},"point":{"x":1}}'


NON_FINITE = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("number", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    "where",
    ["field", "nested list", "tool schema", "tuple"],
)
def test_non_finite_numbers_are_refused_wherever_they_are(number: float, where: str) -> None:
    body: dict[str, Any] = {
        "field": {"temperature": number},
        "nested list": {"logit_bias": {"1": [0.5, [number]]}},
        "tool schema": {"tools": [{"function": {"parameters": {"properties": {"x": {"maximum": number}}}}}]},
        "tuple": {"stop": ("a", number)},
    }[where]
    with pytest.raises(InputError, match="cannot be sent as JSON"):
        dumps(body)


@pytest.mark.parametrize("number", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_a_message_holding_a_non_finite_number_is_refused_by_index(number: float) -> None:
    """Messages are checked once, where they are normalised: the error names which one."""
    messages = [
        {"role": "user", "content": "fine"},
        {"role": "user", "content": [{"type": "text", "text": "x", "score": number}]},
    ]
    with pytest.raises(InputError, match=r"messages\[1\] holds NaN or an infinity"):
        normalise_messages(messages)
    with pytest.raises(InputError, match=r"messages\[0\] holds NaN"):
        build_chat_body(
            [{"role": "user", "content": "x", "weight": number}], model="m", stream=False, stream_usage=False, params={}
        )


def test_null_values_are_sent_as_null() -> None:
    """orjson writes NaN as null, so a null in the output must still mean None in the input."""
    body = {"model": "m", "response_format": {"type": "json_schema", "json_schema": {"schema": {"default": None}}}}
    assert b'"default":null' in dumps(body)


def test_nesting_too_deep_is_an_input_error() -> None:
    value: list[Any] = []
    for _ in range(10_000):
        value = [value]
    with pytest.raises(InputError, match="cannot be sent as JSON"):
        dumps({"x": value})
