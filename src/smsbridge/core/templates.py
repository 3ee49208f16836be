"""``{{placeholder}}`` templates filled per recipient (contact fields and per-recipient fields).

A template is parsed once per message; rendering is a join over the parsed pieces, so a
100,000-recipient campaign pays the regular expression once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from smsbridge.core.errors import ValidationFailed

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
Missing = Literal["error", "empty"]


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    # Literal text and field names alternate: pieces[0], names[0], pieces[1], names[1], ...
    pieces: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def personal(self) -> bool:
        return bool(self.names)

    def render(self, fields: Mapping[str, str | None], missing: Missing = "error") -> str:
        """Fill every placeholder from ``fields`` (keys in lower case). A field that is absent
        or empty raises :class:`MissingField` unless ``missing`` is ``"empty"``."""
        if not self.names:
            return self.text
        out = [self.pieces[0]]
        for name, piece in zip(self.names, self.pieces[1:], strict=True):
            value = fields.get(name)
            if value is None or value == "":
                if missing == "error":
                    raise MissingField(name)
                value = ""
            out.append(value)
            out.append(piece)
        return "".join(out)


class MissingField(ValidationFailed):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"The placeholder {{{{{name}}}}} has no value for this recipient: give it in the "
            "recipient's `fields`, fill it in the contact, or send with "
            '`missing_fields: "empty"`.',
            code="missing_field",
            details={"field": name},
        )
        self.name = name


def parse(text: str) -> Template:
    if "{{" not in text:  # the common case: no placeholder, no regular expression
        return Template(text, (text,), ())
    pieces: list[str] = []
    names: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        pieces.append(text[position : match.start()])
        names.append(match.group(1).lower())
        position = match.end()
    pieces.append(text[position:])
    return Template(text, tuple(pieces), tuple(names))
