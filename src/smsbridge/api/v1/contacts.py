"""/api/v1/contacts: the address book (one or many contacts per call, CSV import and export)."""

from __future__ import annotations

import contextlib
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response, StreamingResponse

from smsbridge.api.deps import ContactsReadCaller, ContactsWriteCaller, GatewayDep
from smsbridge.api.v1.params import json_response, parse_cursor, parse_id
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.errors import NotFound, ValidationFailed
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.core.timefmt import iso
from smsbridge.services import contact_csv
from smsbridge.store import contacts as store

router = APIRouter(
    prefix="/api/v1/contacts",
    tags=["contacts"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

CONTACT_EXAMPLE = {
    "phone": "+4917612345678",
    "firstname": "Anna",
    "lastname": "Schmidt",
    "birthday": "1990-04-23",
    "email": "anna@example.com",
    "extra1": "Gold",
    "groups": ["customers"],
}


def render_contact(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["id"], "phone": row["phone"]}
    for name in store.FIELDS:
        out[name] = row.get(name)
    out["groups"] = row.get("groups", [])
    out["unsubscribed"] = bool(row.get("unsubscribed"))
    out["created_at"] = iso(row["created_at"])
    out["updated_at"] = iso(row["updated_at"])
    return out


def contact_id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise NotFound(f"No contact {raw!r}; contact ids are numbers.", code="contact_not_found")
    return value


@router.post(
    "",
    summary="Create or update contacts (one object or a list)",
    description="Valid contacts are saved, invalid ones reported by index. A phone that exists "
    "updates that contact unless `upsert=false`, which reports it as `duplicate_phone`. "
    "`groups` names groups (created when missing) or gives their ids.",
    status_code=200,
)
async def save_contacts(
    gw: GatewayDep,
    caller: ContactsWriteCaller,
    body: Annotated[
        dict[str, Any] | list[Any],
        Body(examples=[CONTACT_EXAMPLE, [CONTACT_EXAMPLE, {"phone": "+436501234567"}]]),
    ],
    upsert: Annotated[bool, Query(description="Update a contact whose phone exists")] = True,
) -> Response:
    items = body if isinstance(body, list) else [body]
    if len(items) > gw.settings.max_batch_messages:
        raise ValidationFailed(
            f"{len(items)} contacts in one request; send at most "
            f"{gw.settings.max_batch_messages} or import a CSV (POST /api/v1/contacts/import).",
            code="too_many_contacts",
        )
    result = await gw.contacts.save(caller, items, update_existing=upsert)
    saved = []
    if result.saved:
        async with gw.db.read() as conn:
            rows = await store.get_many(conn, caller.account_id, [s[1] for s in result.saved])
        saved = [render_contact(rows[cid]) for _, cid, _ in result.saved if cid in rows]
    errors = [
        {"index": e.index, "code": e.error.code, "message": e.error.message} for e in result.errors
    ]
    status = 200 if saved or not errors else 422
    return json_response(
        {"contacts": saved, "errors": errors, "created": result.created,
         "updated": result.updated},
        status,
    )  # fmt: skip


@router.get("", summary="List and search contacts")
async def list_contacts(
    gw: GatewayDep,
    caller: ContactsReadCaller,
    q: Annotated[
        str | None, Query(description="Name, phone or email contains", max_length=100)
    ] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    group: Annotated[str | None, Query(description="Group name or id", max_length=100)] = None,
    field: Annotated[
        Literal[
            "firstname",
            "lastname",
            "birthday",
            "email",
            "extra1",
            "extra2",
            "extra3",
            "extra4",
            "extra5",
            "extra6",
            "extra7",
            "extra8",
            "extra9",
            "extra10",
        ]
        | None,
        Query(description="Filter on this field's exact `value`"),
    ] = None,
    value: Annotated[str | None, Query(max_length=1000)] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    after = parse_cursor(cursor)
    if phone is not None:
        with contextlib.suppress(InvalidNumber):
            phone = normalize(phone, caller.default_region or gw.settings.default_region)
    flt = store.ContactFilter(query=q, phone=phone, field=field, value=value, after=after)
    rows, total = await gw.contacts.page(caller, flt, limit, group=group)
    return json_response(
        {
            "contacts": [render_contact(r) for r in rows],
            "total": total,
            "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None,
        }
    )  # fmt: skip


@router.post(
    "/import",
    summary="Import contacts from CSV",
    description="The request body is the CSV text (comma, semicolon or tab separated) with a "
    "header row. Columns named phone (or number, mobile), firstname, lastname, birthday, email, "
    "extra1 ... extra10, groups (separated by ;) and unsubscribed are recognised; map others "
    "with `map=Handy=phone,Vorname=firstname`. Replies with created, updated and invalid rows.",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_contacts(
    request: Request,
    gw: GatewayDep,
    caller: ContactsWriteCaller,
    group: Annotated[str | None, Query(description="Also add every row to this group")] = None,
    map: Annotated[str | None, Query(description="CSVCOLUMN=field,...")] = None,
    upsert: bool = True,
) -> Response:
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if not text.strip():
        raise ValidationFailed("The CSV is empty; send the file as the body.", code="empty_csv")
    group_ref: str | int | None = None
    if group is not None:
        group_ref = int(group) if group.isdigit() else group
    summary = await contact_csv.import_csv(
        gw.contacts, caller, io.StringIO(text, newline=""), mapping=contact_csv.parse_mapping(map),
        group=group_ref, update_existing=upsert,
    )  # fmt: skip
    return json_response(summary.as_dict())


@router.get("/export", summary="Export contacts as CSV", response_class=StreamingResponse)
async def export_contacts(
    gw: GatewayDep,
    caller: ContactsReadCaller,
    group: Annotated[str | None, Query(description="Only this group's members")] = None,
) -> StreamingResponse:
    chunks = contact_csv.export_csv(gw.contacts, caller, group)
    first = await anext(chunks)

    async def body() -> Any:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )


@router.get("/{contact_id}", summary="One contact")
async def get_contact(contact_id: str, gw: GatewayDep, caller: ContactsReadCaller) -> Response:
    return json_response(render_contact(await gw.contacts.get(caller, _contact_id(contact_id))))


@router.patch(
    "/{contact_id}", summary="Change a contact's fields (groups given replace its groups)"
)
async def update_contact(
    contact_id: str,
    gw: GatewayDep,
    caller: ContactsWriteCaller,
    body: Annotated[dict[str, Any], Body(examples=[{"lastname": "Meyer", "groups": ["vip"]}])],
) -> Response:
    row = await gw.contacts.update(caller, _contact_id(contact_id), body)
    return json_response(render_contact(row))


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact")
async def delete_contact(contact_id: str, gw: GatewayDep, caller: ContactsWriteCaller) -> Response:
    await gw.contacts.delete(caller, _contact_id(contact_id))
    return Response(status_code=204)


_contact_id = contact_id
