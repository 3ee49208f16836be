"""Contacts, groups and the opt-out list: ``/v1/contact``, ``/v1/groups``, ``/v1/optouts``.

A Smstools contact belongs to one group (``groupid``). ``POST /v1/contact`` takes one contact
(answered ``{"ID": [id]}``, as the SDK reads it) or a list (``{"IDs": [...], "errors": [...]}``,
invalid items reported with error 103 and the rest saved). A phone that exists already is
updated and put in the group, not duplicated. ``unsubscribed: true`` opts the number out; false
never lifts an opt-out on an add (``PATCH`` or ``DELETE /v1/optouts/{phone}`` does).
Creating a group whose name exists answers that group's id.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from smsbridge.compat.params import Params, read_params
from smsbridge.compat.smstools import formats
from smsbridge.compat.smstools.auth import caller as authenticate
from smsbridge.compat.smstools.common import gateway, make_router, path_id, reply, walk
from smsbridge.compat.smstools.errors import item_error
from smsbridge.core import scopes
from smsbridge.core.errors import Conflict, NotFound, SmsBridgeError, ValidationFailed
from smsbridge.services.caller import Caller
from smsbridge.store.contacts import ContactFilter

router = make_router()
OPTOUT_PAGE = 1000


def _group_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        return int(value.strip())
    raise ValidationFailed(
        f"groupid must be the id of a group (GET /v1/groups), not {value!r}.",
        code="invalid_group",
    )


def contact_input(raw: Any, *, adding: bool) -> dict[str, Any]:
    """A Smstools contact object as the address book takes it."""
    if not isinstance(raw, dict):
        raise ValidationFailed(
            'A contact is an object such as {"phone": "32470123456", "groupid": "12"}.',
            code="invalid_contact",
        )
    out: dict[str, Any] = {}
    group: int | None = None
    for key, value in raw.items():
        name = str(key).lower()
        if name in ("phone", "number", "mobile"):
            if value is None or value == "":
                continue
            out["phone"] = value
        elif name in formats.CONTACT_FIELDS:
            out[name] = value
        elif name == "unsubscribed":
            if value is None:
                continue
            out[name] = value
        elif name == "groupid":
            if value is None or value == "":
                continue
            group = _group_id(value)
        # ID (echoed), memo and fields smsbridge does not keep are ignored.
    if adding:
        if "phone" not in out:
            raise ValidationFailed("A contact needs a `phone`.", code="missing_phone")
        if group is None:
            raise ValidationFailed(
                "A contact needs a `groupid` (create a group with POST /v1/groups).",
                code="missing_groupid",
            )
        if out.get("unsubscribed") in (False, 0, "0", "false", "False"):
            del out["unsubscribed"]
    if group is not None:
        out["groups"] = [group]
    return out


async def _caller(request: Request, scope: str) -> tuple[Caller, Params]:
    who = await authenticate(request, scope)
    return who, await read_params(request)


def _body(params: Params) -> Any:
    """The JSON body: an object (merged into params) or a list."""
    if "_body" in params.values:
        return params.values["_body"]
    return {k: v for k, v in params.values.items()}


# -- contacts ------------------------------------------------------------------------------


@router.post("/v1/contact", summary="Add one contact, or a list, to a group")
async def add_contacts(request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_WRITE)
    gw = gateway(request)
    body = _body(params)
    many = isinstance(body, list)
    raws = body if many else [body]
    if not raws:
        raise ValidationFailed("The list of contacts is empty.", code="empty_list")
    items: list[Any] = []
    errors: dict[int, SmsBridgeError] = {}
    for index, raw in enumerate(raws):
        try:
            items.append(contact_input(raw, adding=True))
        except SmsBridgeError as exc:
            errors[index] = exc
            items.append(None)
    valid = [(i, item) for i, item in enumerate(items) if item is not None]
    result = await gw.contacts.save(caller, [item for _, item in valid])
    for err in result.errors:
        errors[valid[err.index][0]] = err.error
    ids = [contact_id for _, contact_id, _ in sorted(result.saved)]
    if not many:
        if errors:
            raise errors[0]
        return reply({"ID": ids})
    out: dict[str, Any] = {"IDs": ids}
    if errors:
        out["errors"] = [item_error(errors[i]) for i in sorted(errors)]
    return reply(out)


async def _contacts_page(
    gw: Any, caller: Caller, params: Params, *, query: str | None = None
) -> dict[str, Any]:
    paging = formats.paging(params)
    group = params.text("groupid")
    if group is not None and not group.strip().isdigit():
        raise ValidationFailed("groupid must be a group id.", code="invalid_group")

    async def fetch(after: int | None, limit: int) -> tuple[list[dict[str, Any]], int]:
        flt = ContactFilter(query=query, after=after)
        rows, total = await gw.contacts.page(caller, flt, limit, group=group)
        return rows, total

    rows, total = await walk(fetch, paging)
    return paging.wrap(total, "contacts", [formats.contact(r) for r in rows])


@router.get("/v1/contact", summary="List contacts (page, limit; groupid filters)")
async def list_contacts(request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_READ)
    return reply(await _contacts_page(gateway(request), caller, params))


@router.get("/v1/contact/search/{keyword}", summary="Contacts whose name, phone or email match")
async def search_contacts(keyword: str, request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_READ)
    query = keyword.strip()
    if not query:
        raise ValidationFailed("Give a keyword to search for.", code="missing_keyword")
    return reply(await _contacts_page(gateway(request), caller, params, query=query))


@router.patch("/v1/contact", summary="Change a contact (ID in the body)")
async def update_contact(request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_WRITE)
    body = _body(params)
    if not isinstance(body, dict):
        raise ValidationFailed("Send one contact object with its ID.", code="invalid_contact")
    ident = body.get("ID", body.get("id"))
    if ident is None or ident == "":
        raise ValidationFailed("The contact's `ID` is missing.", code="missing_id")
    contact_id = path_id(str(ident), "contact")
    row = await gateway(request).contacts.update(
        caller, contact_id, contact_input(body, adding=False)
    )
    return reply(formats.contact(row))


@router.delete("/v1/contact/{contact_id}", summary="Delete a contact")
async def delete_contact(contact_id: str, request: Request) -> Response:
    caller = await authenticate(request, scopes.CONTACTS_WRITE)
    ident = path_id(contact_id, "contact")
    await gateway(request).contacts.delete(caller, ident)
    return reply({"ID": [ident]})


# -- groups --------------------------------------------------------------------------------


@router.post("/v1/groups", summary="Create a group")
async def create_group(request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_WRITE)
    gw = gateway(request)
    name = params.text("name")
    if name is None or not name.strip():
        raise ValidationFailed("A group needs a `name`.", code="missing_name")
    try:
        row = await gw.contacts.create_group(caller, name)
    except Conflict:
        row = await gw.contacts.group(caller, name.strip())
    return reply({"ID": [int(row["id"])]})


@router.get("/v1/groups", summary="The account's groups")
async def list_groups(request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_READ)
    rows = await gateway(request).contacts.groups(caller)
    if "limit" in params or "page" in params:
        paging = formats.paging(params)
        rows = rows[paging.offset : paging.offset + paging.limit]
    return reply([formats.group(r) for r in rows])


@router.patch("/v1/groups", summary="Rename a group (ID in the body)")
async def update_group(request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_WRITE)
    ident = params.integer("ID", "id", low=1)
    if ident is None:
        raise ValidationFailed("The group's `ID` is missing.", code="missing_id")
    name = params.text("name")
    if name is None or not name.strip():
        raise ValidationFailed("Give the group's new `name`.", code="missing_name")
    row = await gateway(request).contacts.rename_group(caller, ident, name)
    return reply(formats.group(row))


@router.get("/v1/groups/{group_id}", summary="A group and a page of its contacts")
async def get_group(group_id: str, request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_READ)
    gw = gateway(request)
    ident = path_id(group_id, "group")
    info = await gw.contacts.group(caller, ident)
    paging = formats.paging(params)

    async def fetch(after: int | None, limit: int) -> tuple[list[dict[str, Any]], int]:
        rows, total = await gw.contacts.members(caller, ident, after, limit)
        return rows, total

    rows, total = await walk(fetch, paging)
    body = paging.wrap(total, "contacts", [formats.contact(r) for r in rows])
    body["groupinfo"] = formats.group(info)
    return reply(body)


@router.delete("/v1/groups/{group_id}", summary="Delete a group (its contacts stay)")
async def delete_group(group_id: str, request: Request) -> Response:
    caller = await authenticate(request, scopes.CONTACTS_WRITE)
    ident = path_id(group_id, "group")
    await gateway(request).contacts.delete_group(caller, ident)
    return reply({"ID": [ident]})


# -- opt-outs ------------------------------------------------------------------------------


@router.get("/v1/optouts/list", summary="Numbers that opted out")
async def list_optouts(request: Request) -> Response:
    caller = await authenticate(request, scopes.CONTACTS_READ)
    gw = gateway(request)
    rows: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page, _total = await gw.optouts.page(caller, after, OPTOUT_PAGE)
        rows.extend(page)
        if len(page) < OPTOUT_PAGE:
            break
        after = page[-1]["number"]
    billing = await gw.billing.billing(caller.account_id)
    tz = formats.zone(billing.timezone)
    return reply(
        [
            {
                "number": formats.digits(r["number"]),
                "memo": r.get("source"),
                "date": formats.when(r.get("created_at"), tz),
            }
            for r in rows
        ]
    )


@router.post("/v1/optouts", summary="Add a number (or numbers) to the opt-out list")
async def add_optout(request: Request) -> Response:
    caller, params = await _caller(request, scopes.CONTACTS_WRITE)
    value = params.get("number", "numbers", "phone")
    numbers = value if isinstance(value, list) else [value]
    if not numbers or any(not isinstance(n, str | int) or isinstance(n, bool) for n in numbers):
        raise ValidationFailed(
            'Give the `number` to opt out, e.g. {"number": "32470123456"}.',
            code="missing_number",
        )
    texts = [str(n).strip() for n in numbers]
    if any(not t for t in texts):
        raise ValidationFailed("Give the `number` to opt out.", code="missing_number")
    added = await gateway(request).optouts.add(caller, texts)
    if isinstance(value, list):
        return reply({"numbers": [formats.digits(n) for n in added]})
    return reply({"number": formats.digits(added[0])})


@router.delete("/v1/optouts/{phone}", summary="Take a number off the opt-out list")
async def remove_optout(phone: str, request: Request) -> Response:
    caller = await authenticate(request, scopes.CONTACTS_WRITE)
    if not phone.strip():
        raise NotFound("Give the number to remove.", code="opt_out_not_found")
    gw = gateway(request)
    await gw.optouts.remove(caller, phone.strip())
    return reply({"number": formats.digits(gw.conversations.number(caller, phone.strip()))})
