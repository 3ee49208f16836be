"""/api/v1/groups: groups of contacts, with member counts and bulk membership changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import ContactsReadCaller, ContactsWriteCaller, GatewayDep
from smsbridge.api.v1.contacts import render_contact
from smsbridge.api.v1.params import json_response, parse_cursor, parse_id
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.timefmt import iso

router = APIRouter(
    prefix="/api/v1/groups",
    tags=["groups"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)


class GroupIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "customers", "contacts": [1, 2]}]}
    )
    name: str = Field(max_length=100)
    contacts: list[int] = Field(default_factory=list, max_length=100_000)


class GroupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)


class MembersIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"contacts": [1, 2], "phones": ["+4917612345678"]}]},
    )
    contacts: list[int] = Field(default_factory=list, max_length=100_000)
    phones: list[str] = Field(
        default_factory=list,
        max_length=100_000,
        description="Numbers; when adding, unknown numbers become contacts",
    )


def render_group(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "members": row["members"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _ref(raw: str) -> str | int:
    value = parse_id(raw)
    return value if value is not None else raw


@router.get("", summary="The account's groups with member counts")
async def list_groups(gw: GatewayDep, caller: ContactsReadCaller) -> Response:
    return json_response({"groups": [render_group(g) for g in await gw.contacts.groups(caller)]})


@router.post("", status_code=201, summary="Create a group (optionally with members)")
async def create_group(body: GroupIn, gw: GatewayDep, caller: ContactsWriteCaller) -> Response:
    return json_response(
        render_group(await gw.contacts.create_group(caller, body.name, body.contacts)), 201
    )


@router.get("/{group}", summary="One group (by id or name)")
async def get_group(group: str, gw: GatewayDep, caller: ContactsReadCaller) -> Response:
    return json_response(render_group(await gw.contacts.group(caller, _ref(group))))


@router.patch("/{group}", summary="Rename a group")
async def rename_group(
    group: str, body: GroupPatch, gw: GatewayDep, caller: ContactsWriteCaller
) -> Response:
    return json_response(
        render_group(await gw.contacts.rename_group(caller, _ref(group), body.name))
    )


@router.delete("/{group}", status_code=204, summary="Delete a group (its contacts stay)")
async def delete_group(group: str, gw: GatewayDep, caller: ContactsWriteCaller) -> Response:
    await gw.contacts.delete_group(caller, _ref(group))
    return Response(status_code=204)


@router.get("/{group}/members", summary="The group's contacts")
async def list_members(
    group: str,
    gw: GatewayDep,
    caller: ContactsReadCaller,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    after = parse_cursor(cursor)
    rows, total = await gw.contacts.members(caller, _ref(group), after, limit)
    return json_response(
        {
            "contacts": [render_contact(r) for r in rows],
            "total": total,
            "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None,
        }
    )


@router.post("/{group}/members", summary="Add members by contact id or phone")
async def add_members(
    group: str, body: MembersIn, gw: GatewayDep, caller: ContactsWriteCaller
) -> Response:
    row = await gw.contacts.change_members(
        caller, _ref(group), contact_ids=body.contacts, phones=body.phones
    )
    return json_response(render_group(row))


@router.delete("/{group}/members", summary="Remove members by contact id or phone")
async def remove_members(
    group: str, body: MembersIn, gw: GatewayDep, caller: ContactsWriteCaller
) -> Response:
    row = await gw.contacts.change_members(
        caller, _ref(group), contact_ids=body.contacts, phones=body.phones, remove=True
    )
    return json_response(render_group(row))
