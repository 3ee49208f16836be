"""seven.io's address book: ``/contacts`` (the legacy ``action=read|write|del`` calls and the
REST ones) and ``/groups``, over smsbridge's contacts and groups."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import Request
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep
from smsbridge.compat.params import Params
from smsbridge.compat.seven import codes
from smsbridge.compat.seven.auth import caller
from smsbridge.compat.seven.errors import SevenError
from smsbridge.compat.seven.replies import json_reply, params_of, text_reply, wants_json
from smsbridge.compat.seven.routes import router
from smsbridge.core import scopes
from smsbridge.core.errors import SmsBridgeError
from smsbridge.core.timefmt import iso
from smsbridge.services.caller import Caller
from smsbridge.store.contacts import ContactFilter

MAX_PAGE = 1000
_COLORS = ("#1abc9c", "#3498db", "#9b59b6", "#e67e22", "#e74c3c", "#16a085", "#2980b9")


def _seven_time(us: int | None) -> str | None:
    value = iso(us)
    return value.replace("T", " ")[:19] if value else None


def contact_json(row: dict[str, Any]) -> dict[str, Any]:
    first, last = row.get("firstname") or "", row.get("lastname") or ""
    initials = ((first[:1] + last[:1]) or (row["phone"] or "?")[-2:]).upper()
    return {
        "id": row["id"],
        "avatar": "",
        "created": _seven_time(row["created_at"]),
        "groups": [g["id"] if isinstance(g, dict) else g for g in row.get("groups") or []],
        "initials": {"color": _COLORS[row["id"] % len(_COLORS)], "initials": initials},
        "properties": {
            "address": None, "birthday": row.get("birthday"), "city": None,
            "email": row.get("email"), "firstname": first or None,
            "fullname": " ".join(p for p in (first, last) if p) or None,
            "home_number": None, "lastname": last or None,
            "mobile_number": (row["phone"] or "").lstrip("+"), "notes": row.get("extra1"),
            "postal_code": None,
        },
        "validation": {"state": "valid", "timestamp": _seven_time(row["updated_at"])},
    }  # fmt: skip


def group_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "members_count": row.get("members", 0),
            "created": _seven_time(row["created_at"])}  # fmt: skip


def _contact_fields(params: Params) -> dict[str, Any]:
    """A REST contact (firstname, lastname, mobile_number, email, birthday, notes, groups) as
    an smsbridge contact."""
    out: dict[str, Any] = {}
    phone = params.text("mobile_number", "empfaenger", "number")
    if phone:
        out["phone"] = phone
    for ours, theirs in (
        ("firstname", "firstname"),
        ("lastname", "lastname"),
        ("email", "email"),
        ("birthday", "birthday"),
        ("extra1", "notes"),
    ):
        value = params.text(theirs)
        if value is not None:
            out[ours] = value or None
    nick = params.text("nick")
    if nick is not None and "firstname" not in out:
        first, _, last = nick.partition(" ")
        out["firstname"], out["lastname"] = first or None, last or None
    groups = params.nested("groups")
    if groups not in (None, ""):
        items = groups if isinstance(groups, list) else [groups]
        refs = []
        for item in items:
            text = str(item).strip()
            if text:
                refs.append(int(text) if text.isdigit() else text)
        out["groups"] = refs
    return out


def _contact_id(raw: Any) -> int:
    text = str(raw or "").strip()
    if not text.isdigit() or len(text) > 18:
        raise SevenError(codes.INVALID_ID_OR_SIGNATURE, f"No contact {raw!r}.")
    return int(text)


async def _save(gw: GatewayDep, who: Caller, fields: dict[str, Any]) -> int:
    result = await gw.contacts.save(who, [fields])
    if result.errors:
        raise result.errors[0].error
    return result.saved[0][1]


# -- legacy: /contacts?action=read|write|del ------------------------------------------------


async def _legacy(request: Request, gw: GatewayDep, params: Params, action: str) -> Response:
    as_json = wants_json(request, params)
    if action == "read":
        who = await caller(request, params, scopes.CONTACTS_READ)
        rows, _ = await gw.contacts.page(who, ContactFilter(), MAX_PAGE)
        if as_json:
            return json_reply([
                {"ID": str(r["id"]), "Name": " ".join(p for p in (r.get("firstname"),
                                                                  r.get("lastname")) if p),
                 "Number": r["phone"]} for r in rows
            ])  # fmt: skip
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        for r in rows:
            name = " ".join(p for p in (r.get("firstname"), r.get("lastname")) if p)
            writer.writerow([r["id"], name, r["phone"]])
        return text_reply(out.getvalue())
    who = await caller(request, params, scopes.CONTACTS_WRITE)
    try:
        if action == "write":
            fields = _contact_fields(params)
            if params.text("id"):
                contact_id = _contact_id(params.text("id"))
                await gw.contacts.update(who, contact_id, fields)
            else:
                contact_id = await _save(gw, who, fields)
        elif action == "del":
            contact_id = _contact_id(params.text("id"))
            await gw.contacts.delete(who, contact_id)
        else:
            raise SevenError(codes.INVALID_TYPE, "`action` is read, write or del.")
    except SmsBridgeError as exc:
        if isinstance(exc, SevenError) or exc.status_code in (401, 403):
            raise
        failed = {"return": str(codes.CONTACT_FAILED)}
        return json_reply(failed) if as_json else text_reply(str(codes.CONTACT_FAILED))
    if as_json:
        return json_reply({"return": str(codes.CONTACT_OK), "id": contact_id})
    return text_reply(f"{codes.CONTACT_OK}\n{contact_id}")


# -- REST ------------------------------------------------------------------------------------


@router.get("/contacts", summary="List contacts (seven.io)")
@router.post("/contacts", summary="Create a contact (seven.io)")
async def contacts(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    action = params.text("action")
    if action:
        return await _legacy(request, gw, params, action.lower())
    if request.method == "POST":
        who = await caller(request, params, scopes.CONTACTS_WRITE)
        contact_id = await _save(gw, who, _contact_fields(params))
        return json_reply(contact_json(await gw.contacts.get(who, contact_id)))
    who = await caller(request, params, scopes.CONTACTS_READ)
    limit = params.integer("limit", low=1, high=MAX_PAGE) or 100
    offset = params.integer("offset", low=0, high=10**6) or 0
    group = params.text("group_id")
    flt = ContactFilter(query=params.text("search") or None)
    rows, total = await gw.contacts.page(who, flt, offset + limit, group=group or None)
    page = rows[offset:]
    return json_reply({
        "data": [contact_json(r) for r in page],
        "pagingMetadata": {"count": len(page), "has_more": offset + len(page) < total,
                           "limit": limit, "offset": offset, "total": total},
    })  # fmt: skip


@router.get("/contacts/{contact_id}", summary="A contact (seven.io)")
async def contact(contact_id: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.CONTACTS_READ)
    return json_reply(contact_json(await gw.contacts.get(who, _contact_id(contact_id))))


@router.patch("/contacts/{contact_id}", summary="Update a contact (seven.io)")
async def update_contact(contact_id: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.CONTACTS_WRITE)
    row = await gw.contacts.update(who, _contact_id(contact_id), _contact_fields(params))
    return json_reply(contact_json(row))


@router.delete("/contacts/{contact_id}", summary="Delete a contact (seven.io)")
async def delete_contact(contact_id: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.CONTACTS_WRITE)
    await gw.contacts.delete(who, _contact_id(contact_id))
    return json_reply({"success": True, "error": None})


@router.get("/groups", summary="List groups (seven.io)")
@router.post("/groups", summary="Create a group (seven.io)")
async def groups(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    if request.method == "POST":
        who = await caller(request, params, scopes.CONTACTS_WRITE)
        name = params.text("name")
        if not name:
            raise SevenError(codes.UNKNOWN_ERROR, "Give the group's `name`.")
        return json_reply(group_json(await gw.contacts.create_group(who, name)))
    who = await caller(request, params, scopes.CONTACTS_READ)
    rows = await gw.contacts.groups(who)
    return json_reply({
        "data": [group_json(r) for r in rows],
        "pagingMetadata": {"count": len(rows), "has_more": False, "limit": len(rows),
                           "offset": 0, "total": len(rows)},
    })  # fmt: skip


def _group_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise SevenError(codes.INVALID_ID_OR_SIGNATURE, f"No group {raw!r}.")
    return int(raw)


@router.get("/groups/{group_id}", summary="A group (seven.io)")
async def group(group_id: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.CONTACTS_READ)
    return json_reply(group_json(await gw.contacts.group(who, _group_id(group_id))))


@router.patch("/groups/{group_id}", summary="Rename a group (seven.io)")
async def rename_group(group_id: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.CONTACTS_WRITE)
    name = params.text("name")
    if not name:
        raise SevenError(codes.UNKNOWN_ERROR, "Give the group's new `name`.")
    return json_reply(group_json(await gw.contacts.rename_group(who, _group_id(group_id), name)))


@router.delete("/groups/{group_id}", summary="Delete a group (seven.io)")
async def delete_group(group_id: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.CONTACTS_WRITE)
    gid = _group_id(group_id)
    if params.flag("delete_contacts"):
        members, _ = await gw.contacts.page(who, ContactFilter(), 100_000, group=str(gid))
        for member in members:
            await gw.contacts.delete(who, member["id"])
    await gw.contacts.delete_group(who, gid)
    return json_reply({"success": True})
