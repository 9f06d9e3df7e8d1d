"""``with_structured_output`` for ``LMStudioChatModel``: LM Studio's grammar first.

``json_schema`` (the default) sends the schema as LM Studio's grammar-constrained
``response_format``; ``function_calling`` forces one tool call; ``json_mode`` asks for any JSON
object (the request builder sends it as a ``json_schema`` of ``{"type": "object"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.output_parsers import JsonOutputKeyToolsParser, JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import PydanticToolsParser
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel

__all__ = ["structured_output"]


def structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    method: Literal["json_schema", "function_calling", "json_mode"],
    include_raw: bool,
    strict: bool | None,
) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
    """The runnable ``model.with_structured_output(schema, ...)`` returns."""
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    json_schema = convert_to_json_schema(schema)
    ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": json_schema}
    parser: Runnable[Any, Any]
    if method == "function_calling":
        tool = convert_to_openai_tool(schema, strict=strict)
        name = tool["function"]["name"]
        llm = model.bind_tools([tool], tool_choice=name, strict=strict, ls_structured_output_format=ls_format)
        parser = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if is_pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
    elif method in ("json_schema", "json_mode"):
        if method == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": str(json_schema.get("title") or "output"),
                    "schema": _strip_title(json_schema),
                    **({"strict": strict} if strict is not None else {}),
                },
            }
        else:
            response_format = {"type": "json_object"}
        llm = model.bind(response_format=response_format, ls_structured_output_format=ls_format)
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    else:
        raise ValueError(f"method={method!r} is not one of json_schema, function_calling, json_mode")
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    with_fallback = parsed.with_fallbacks([fallback], exception_key="parsing_error")
    return RunnableMap(raw=llm) | with_fallback


def _strip_title(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "title"}
