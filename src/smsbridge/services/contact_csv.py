"""CSV import and export of contacts.

Import streams the rows in chunks through :meth:`ContactService.save`, so a file of any size
runs in bounded memory; each invalid row is reported with its line number and reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from smsbridge.core.errors import ValidationFailed
from smsbridge.services.caller import Caller
from smsbridge.services.contact_input import FIELD_LIMITS
from smsbridge.services.contacts import ContactService
from smsbridge.store import contacts as store

CHUNK = 5000
COLUMNS = ("phone", *store.FIELDS, "groups", "unsubscribed")
ALIASES = {
    "number": "phone", "mobile": "phone", "msisdn": "phone", "telephone": "phone",
    "first_name": "firstname", "last_name": "lastname", "vorname": "firstname",
    "nachname": "lastname", "name": "firstname", "group": "groups", "e-mail": "email",
    "birthdate": "birthday", "birth_date": "birthday", "optout": "unsubscribed",
}  # fmt: skip
MAX_REPORTED = 1000  # invalid rows described in full; the rest are counted


@dataclass(slots=True)
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # {line, code, message}
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "invalid": self.invalid,
            "errors": self.errors,
            "ignored_columns": self.ignored_columns,
        }


def parse_mapping(spec: str | None) -> dict[str, str]:
    """``"Handy=phone,Vorname=firstname"`` -> {"handy": "phone", "vorname": "firstname"}."""
    mapping: dict[str, str] = {}
    if not spec:
        return mapping
    for item in spec.split(","):
        if not item.strip():
            continue
        column, sep, target = item.partition("=")
        target = target.strip().lower()
        if not sep or target not in COLUMNS:
            raise ValidationFailed(
                f"Bad column mapping {item!r}: write CSVCOLUMN=FIELD with FIELD one of "
                f"{', '.join(COLUMNS)}.",
                code="invalid_mapping",
            )
        mapping[column.strip().lower()] = target
    return mapping


def _header_fields(
    header: list[str], mapping: dict[str, str]
) -> tuple[list[str | None], list[str]]:
    fields: list[str | None] = []
    ignored: list[str] = []
    for name in header:
        key = name.strip().lstrip("\ufeff").lower()
        target = mapping.get(key) or (key if key in COLUMNS else ALIASES.get(key))
        fields.append(target)
        if target is None:
            ignored.append(name)
    if "phone" not in fields:
        raise ValidationFailed(
            "The CSV has no phone column: name one `phone` (or number, mobile) or map it with "
            "--map COLUMN=phone.",
            code="missing_phone_column",
        )
    return fields, ignored


def rows_from(
    lines: Iterable[str], mapping: dict[str, str]
) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """The ignored columns and (line number, contact object) for each data row. The
    delimiter (comma, semicolon or tab) is detected from the header."""
    iterator = iter(lines)
    header_line = next(iterator, "")
    delimiter = max(",;\t", key=header_line.count)
    header = next(csv.reader([header_line], delimiter=delimiter))
    fields, ignored = _header_fields(header, mapping)

    def generate() -> Iterator[tuple[int, dict[str, Any]]]:
        reader = csv.reader(iterator, delimiter=delimiter)
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            item: dict[str, Any] = {}
            for name, value in zip(fields, values, strict=False):
                if name is None or not value.strip():
                    continue
                if name == "groups":
                    item["groups"] = [
                        g.strip() for g in value.replace("|", ";").split(";") if g.strip()
                    ]
                else:
                    item[name] = value.strip()
            yield reader.line_num + 1, item

    return ignored, generate()


async def import_csv(
    service: ContactService,
    caller: Caller,
    lines: Iterable[str],
    *,
    mapping: dict[str, str] | None = None,
    group: str | int | None = None,
    update_existing: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import contacts from CSV text lines; ``progress`` gets the rows done so far."""
    ignored, rows = rows_from(lines, mapping or {})
    summary = ImportSummary(ignored_columns=ignored)
    add_groups = [group] if group is not None else []
    async for chunk in _chunks(rows):
        result = await service.save(
            caller, [item for _, item in chunk], update_existing=update_existing,
            add_groups=add_groups,
        )  # fmt: skip
        summary.rows += len(chunk)
        summary.created += result.created
        summary.updated += result.updated
        summary.invalid += len(result.errors)
        for err in result.errors:
            if len(summary.errors) < MAX_REPORTED:
                summary.errors.append(
                    {"line": chunk[err.index][0], "code": err.error.code,
                     "message": err.error.message}
                )  # fmt: skip
        if progress is not None:
            progress(summary.rows)
    return summary


async def _chunks(
    rows: Iterator[tuple[int, dict[str, Any]]],
) -> AsyncIterator[list[tuple[int, dict[str, Any]]]]:
    chunk: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def export_csv(
    service: ContactService, caller: Caller, group: str | None = None
) -> AsyncIterator[str]:
    """CSV text in pieces of up to a thousand contacts (a header first)."""
    group_id = await service.resolve_group(caller, group) if group is not None else None
    columns = ("id", "phone", *FIELD_LIMITS, "unsubscribed")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    after = 0
    while True:
        async with service.db.read() as conn:
            rows = await store.export_rows(conn, caller.account_id, group_id, after, 1000)
        if not rows:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(
                [row["id"], row["phone"], *(row[f] or "" for f in FIELD_LIMITS),
                 "true" if row["unsubscribed"] else "false"]
            )  # fmt: skip
        yield buffer.getvalue()
        after = rows[-1]["id"]
