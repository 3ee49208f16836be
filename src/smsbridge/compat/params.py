"""Request parameters as the hosted providers read them.

Their clients put parameters in the query string, in an urlencoded or multipart body, or in a
JSON body, whatever the method, and sometimes label a JSON body as form-encoded. So every
compatibility door reads one merged view: the query string first, then the body (which wins),
its format sniffed from the bytes rather than trusted from ``Content-Type``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from smsbridge.core.errors import ValidationFailed

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_BRACKETS = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")


@dataclass(slots=True)
class Params:
    """The merged parameters of one request. Values are strings (form and query), or any JSON
    value when the body was JSON; a key repeated in a form becomes a list."""

    values: dict[str, Any] = field(default_factory=dict)
    json_body: bool = False  # the body was JSON (seven.io answers JSON then)
    raw_body: bytes = b""
    files: dict[str, bytes] = field(default_factory=dict)  # multipart uploads by field name

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, *aliases: str) -> Any:
        for key in (name, *aliases):
            if key in self.values:
                return self.values[key]
        return None

    def text(self, name: str, *aliases: str) -> str | None:
        """A parameter as a string (numbers from JSON become their decimal text); None when
        absent. A list (repeated key) gives its last value, as PHP reads it."""
        value = self.get(name, *aliases)
        if isinstance(value, list):
            value = value[-1] if value else None
        if value is None:
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, str):
            return value
        raise ValidationFailed(
            f"`{name}` must be a string or a number, not {type(value).__name__}.",
            code="invalid_parameter",
            details={"parameter": name},
        )

    def flag(self, name: str, *aliases: str, default: bool = False) -> bool:
        """A boolean given as 1/0, true/false (text or JSON), yes/no, or absent (``default``)."""
        value = self.get(name, *aliases)
        if isinstance(value, list):
            value = value[-1] if value else None
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        raise ValidationFailed(
            f"`{name}` must be 1 or 0 (or true/false), not {value!r}.",
            code="invalid_parameter",
            details={"parameter": name},
        )

    def integer(self, name: str, *aliases: str, low: int | None = None,
                high: int | None = None) -> int | None:  # fmt: skip
        """A whole number (text or JSON) within [low, high]; None when absent or empty."""
        value = self.get(name, *aliases)
        if isinstance(value, list):
            value = value[-1] if value else None
        if value is None or value == "":
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,19}\s*", value)
        ):
            number = int(value)
        if number is None:
            raise ValidationFailed(
                f"`{name}` must be a whole number, not {value!r}.",
                code="invalid_parameter",
                details={"parameter": name},
            )
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = (
                f"from {low} to {high}"
                if low is not None and high is not None
                else (f"at least {low}" if low is not None else f"at most {high}")
            )
            raise ValidationFailed(
                f"`{name}` must be {bounds}, not {number}.",
                code="invalid_parameter",
                details={"parameter": name},
            )
        return number

    def nested(self, name: str) -> Any:
        """``name`` as a structure: JSON as given, or PHP-style form keys (``files[0][name]``,
        ``ids[]``) gathered into lists and dicts."""
        if name in self.values and not isinstance(self.values[name], str):
            return self.values[name]
        out: Any = None
        for key, value in self.values.items():
            match = _BRACKETS.match(key)
            if match is None or match.group(1) != name:
                continue
            path = re.findall(r"\[([^\[\]]*)\]", match.group(2))
            out = _place(out, path, value)
        if out is None and name in self.values:
            return self.values[name]
        return _listify(out)


def _place(node: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    node = {} if not isinstance(node, dict) else node
    key = path[0] if path[0] != "" else str(len(node))
    node[key] = _place(node.get(key), path[1:], value)
    return node


def _listify(node: Any) -> Any:
    """Dicts keyed 0, 1, 2 ... become lists (PHP's arrays)."""
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def _merge(into: dict[str, Any], pairs: Iterable[tuple[str, Any]]) -> None:
    """Form pairs into a dict; a repeated key collects a list (``groups=1&groups=2``), but a
    key given once in the query and once in the body takes the body's value."""
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            current = into[key]
            into[key] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            into[key] = value
            seen.add(key)


def _looks_like_json(raw: bytes) -> bool:
    start = raw.lstrip()[:1]
    return start in (b"{", b"[")


async def read_params(request: Request) -> Params:
    """The query string merged with the body, whatever the method and ``Content-Type``."""
    params = Params()
    _merge(params.values, parse_qsl(request.url.query, keep_blank_values=True))
    raw = await request.body()
    params.raw_body = raw
    if not raw.strip():
        return params
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form()
        except Exception:
            raise ValidationFailed(
                "The multipart body could not be read; send form fields or a JSON object.",
                code="invalid_body",
            ) from None
        pairs: list[tuple[str, Any]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                params.files[key] = await value.read()
            else:
                pairs.append((key, value))
        _merge(params.values, pairs)
        return params
    if _looks_like_json(raw):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            params.values.update(body)
            params.json_body = True
            return params
        if body is not None:
            params.values["_body"] = body  # a JSON array or scalar (e.g. a list of messages)
            params.json_body = True
            return params
        if content_type.startswith("application/json"):
            raise ValidationFailed(
                "The body is not valid JSON; send a JSON object.", code="invalid_json"
            )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    _merge(params.values, parse_qsl(text, keep_blank_values=True))
    return params
