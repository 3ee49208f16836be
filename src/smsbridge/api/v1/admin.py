"""/api/v1/admin: accounts, their keys and the audit log (keys with the `admin` scope)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import AdminCaller, GatewayDep
from smsbridge.api.v1.params import json_response, parse_id
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.errors import NotFound
from smsbridge.core.pricing import credits
from smsbridge.core.timefmt import iso
from smsbridge.store import audit
from smsbridge.store import billing as billing_store
from smsbridge.store.accounts import AccountRecord
from smsbridge.store.keys import KeyRecord

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)


class AccountIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"name": "acme", "email": "ops@acme.example",
                                         "region": "DE", "timezone": "Europe/Berlin"}]},
    )  # fmt: skip
    name: str = Field(max_length=100)
    email: str | None = Field(None, max_length=254)
    password: str | None = Field(None, max_length=200)
    region: str | None = Field(None, max_length=2)
    sender: str | None = Field(None, alias="from", max_length=16)
    timezone: str = Field("UTC", max_length=64)


class KeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "shop", "scopes": "messages:send",
                                         "expires": "90d", "ip_allow": "203.0.113.0/24"}]},
    )  # fmt: skip
    name: str = Field("default", max_length=100)
    scopes: str | None = Field(None, description="Comma-separated; default every scope but admin")
    expires: str | None = Field(None, description="30d, 12h, or an ISO 8601 time")
    ip_allow: str | None = Field(None, description="Comma-separated CIDRs")
    require_signature: bool = False


def _account(r: AccountRecord) -> dict[str, Any]:
    return {
        "id": str(r.id), "name": r.name, "email": r.email, "status": r.status,
        "region": r.default_region, "from": r.default_sender, "timezone": r.timezone,
        "created_at": iso(r.created_at),
    }  # fmt: skip


def _key(r: KeyRecord) -> dict[str, Any]:
    return {
        "id": str(r.id), "name": r.name, "account": r.account_name, "prefix": r.prefix,
        "scopes": r.scopes.split(",") if r.scopes else None, "expires_at": iso(r.expires_at),
        "ip_allow": r.ip_allow.split(",") if r.ip_allow else None,
        "require_signature": bool(r.require_signature), "created_at": iso(r.created_at),
        "revoked_at": iso(r.revoked_at),
    }  # fmt: skip


@router.get("/accounts", summary="List accounts")
async def list_accounts(gw: GatewayDep, caller: AdminCaller) -> Response:
    return json_response({"accounts": [_account(r) for r in await gw.accounts.list()]})


@router.post("/accounts", status_code=201, summary="Create an account")
async def create_account(body: AccountIn, gw: GatewayDep, caller: AdminCaller) -> Response:
    record = await gw.accounts.create(
        body.name, email=body.email, password=body.password, region=body.region,
        sender=body.sender, timezone=body.timezone, actor=caller.actor,
    )  # fmt: skip
    return json_response(_account(record), 201)


@router.get("/accounts/{name}", summary="One account")
async def get_account(name: str, gw: GatewayDep, caller: AdminCaller) -> Response:
    return json_response(_account(await gw.accounts.get(name)))


class AccountUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"region": "AT", "from": "MyShop",
                                         "timezone": "Europe/Vienna", "languages": "turkish"}]},
    )  # fmt: skip
    region: str | None = Field(None, max_length=2, description="Empty string clears it")
    sender: str | None = Field(None, alias="from", max_length=16)
    timezone: str | None = Field(None, max_length=64)
    languages: str | None = Field(None, max_length=64, description="turkish,spanish,portuguese")


@router.patch("/accounts/{name}", summary="Change an account's defaults")
async def update_account(
    name: str, body: AccountUpdate, gw: GatewayDep, caller: AdminCaller
) -> Response:
    record = await gw.accounts.update(
        name, region=body.region, sender=body.sender, timezone=body.timezone,
        languages=body.languages, actor=caller.actor,
    )  # fmt: skip
    return json_response(_account(record))


@router.post("/accounts/{name}/suspend", summary="Suspend an account: its keys stop working")
async def suspend(name: str, gw: GatewayDep, caller: AdminCaller) -> Response:
    return json_response(
        _account(await gw.accounts.set_status(name, "suspended", actor=caller.actor))
    )


@router.post("/accounts/{name}/resume", summary="Resume a suspended account")
async def resume(name: str, gw: GatewayDep, caller: AdminCaller) -> Response:
    return json_response(_account(await gw.accounts.set_status(name, "active", actor=caller.actor)))


class CreditIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": "100"}]})
    amount: str | int | float = Field(description="Credits to add (negative to deduct)")
    note: str | None = Field(None, max_length=500)


class PricesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"default": "0.09", "prefixes": {"49": "0.075",
                                         "4917": "0.07"}, "high_surcharge": "0.01",
                                         "prepaid": True, "refund_policy": "unsent"}]},
    )  # fmt: skip
    default: str | int | float | None = None
    high_surcharge: str | int | float | None = None
    prefixes: dict[str, str | int | float] | None = None
    replace_prefixes: bool = False
    prepaid: bool | None = None
    refund_policy: str | None = None


class LimitsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"rate_limit": 50, "reload_window": 180,
                                         "daily_cap": 20}]},
    )  # fmt: skip
    rate_limit: int | None = Field(
        None, description="Requests per second per key; null: the gateway default"
    )
    reload_window: int | None = Field(
        None, description="Seconds in which the same text to the same number is refused; 0: off"
    )
    daily_cap: int | None = Field(None, description="Messages per number per day; null: none")


@router.put("/accounts/{name}/limits", summary="Rate limit, reload lock, daily cap")
async def limits(name: str, body: LimitsIn, gw: GatewayDep, caller: AdminCaller) -> Response:
    values = {field: getattr(body, field) for field in body.model_fields_set}
    await gw.accounts.set_limits(name, values, actor=caller.actor)
    return json_response({"account": name, **values})


@router.post("/accounts/{name}/credit", summary="Add (or deduct) credits; a ledger row")
async def credit(name: str, body: CreditIn, gw: GatewayDep, caller: AdminCaller) -> Response:
    account = await gw.accounts.get(name)
    after = await gw.billing.credit(account.id, body.amount, note=body.note, actor=caller.actor)
    return json_response({"account": name, "balance": credits(after)})


@router.put("/accounts/{name}/prices", summary="Prices, surcharge, prepaid and refund policy")
async def prices(name: str, body: PricesIn, gw: GatewayDep, caller: AdminCaller) -> Response:
    account = await gw.accounts.get(name)
    billing = await gw.billing.configure(
        account.id, default=body.default, high_surcharge=body.high_surcharge,
        prefixes=body.prefixes, replace_prefixes=body.replace_prefixes, prepaid=body.prepaid,
        refund_policy=body.refund_policy, actor=caller.actor,
    )  # fmt: skip
    return json_response(
        {
            "default": credits(billing.prices.default),
            "high_surcharge": credits(billing.prices.high_surcharge),
            "prefixes": {p: credits(v) for p, v in sorted(billing.prices.by_prefix.items())},
            "prepaid": billing.prepaid,
            "refund_policy": billing.refund_policy,
        }
    )


@router.get("/accounts/{name}/ledger", summary="Every change of the balance, newest first")
async def ledger(name: str, gw: GatewayDep, caller: AdminCaller, limit: int = 100) -> Response:
    account = await gw.accounts.get(name)
    async with gw.db.read() as conn:
        rows = await billing_store.entries(conn, account.id, max(1, min(limit, 1000)))
    return json_response(
        {
            "entries": [
                {**r, "id": str(r["id"]), "at": iso(r["at"]),  # type: ignore[arg-type]
                 "delta": credits(r["delta"]),  # type: ignore[arg-type]
                 "balance_after": credits(r["balance_after"]),  # type: ignore[arg-type]
                 "message_id": _str(r["message_id"])}  # type: ignore[arg-type]
                for r in rows
            ]
        }
    )  # fmt: skip


@router.get("/accounts/{name}/keys", summary="An account's keys (never the secrets)")
async def list_keys(name: str, gw: GatewayDep, caller: AdminCaller) -> Response:
    return json_response({"keys": [_key(r) for r in await gw.keys.list(name)]})


@router.post("/accounts/{name}/keys", status_code=201, summary="Create a key (shown once)")
async def create_key(name: str, body: KeyIn, gw: GatewayDep, caller: AdminCaller) -> Response:
    created = await gw.keys.create(
        account=name, name=body.name, scopes=body.scopes, expires=body.expires,
        ip_allow=body.ip_allow, require_signature=body.require_signature, actor=caller.actor,
    )  # fmt: skip
    return json_response(
        {"id": str(created.id), "key": created.key, "signing_secret": created.signing_secret}, 201
    )


@router.delete("/keys/{key_id}", summary="Revoke a key")
async def revoke_key(key_id: str, gw: GatewayDep, caller: AdminCaller) -> Response:
    ident = parse_id(key_id)
    if ident is None:
        raise NotFound(f"No key {key_id!r}.", code="key_not_found")
    await gw.keys.revoke(ident, actor=caller.actor)
    return json_response({"id": key_id, "revoked": True})


@router.get("/audit", summary="The audit log, newest first")
async def audit_log(
    gw: GatewayDep, caller: AdminCaller, account: str | None = None, limit: int = 100
) -> Response:
    account_id = (await gw.accounts.get(account)).id if account else None
    async with gw.db.read() as conn:
        rows = await audit.entries(conn, account_id=account_id, limit=max(1, min(limit, 1000)))
    return json_response(
        {
            "entries": [
                {**r, "id": str(r["id"]), "at": iso(r["at"]), "account_id": _str(r["account_id"])}
                for r in rows
            ]
        }
    )


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)
