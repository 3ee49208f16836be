"""/api/v1/webhooks: subscriptions, their delivery log, tests and redelivery."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep, WebhooksCaller
from smsbridge.api.v1.params import json_response, parse_cursor, parse_id
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.errors import NotFound, ValidationFailed
from smsbridge.core.timefmt import iso
from smsbridge.services.events import EVENT_TYPES

router = APIRouter(
    prefix="/api/v1/webhooks",
    tags=["webhooks"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

EXAMPLE: dict[str, Any] = {
    "url": "https://example.com/hooks/sms",
    "events": ["message.delivered", "message.failed", "message.inbound"],
    "label": "otp",
    "headers": {"Authorization": "Bearer receiver-token"},
}


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})
    url: str = Field(description="Where events are POSTed (http or https)")
    events: list[str] = Field(
        min_length=1, max_length=20, description=f'Any of {", ".join(EVENT_TYPES)}, or "*"'
    )
    secret: str | None = Field(
        None, description="Signing secret (16-128 characters); generated when left out"
    )
    label: str | None = Field(None, max_length=100, description="Only messages with this label")
    campaign_id: int | str | None = Field(None, description="Only this campaign's events")
    headers: dict[str, str] | None = Field(None, description="Sent with every delivery")
    description: str | None = Field(None, max_length=200)
    enabled: bool = True
    format: str = Field(
        "smsbridge",
        description="Payload format: smsbridge's own, or a provider's for software written "
        "for it: seven, smsgateway24, messaggisms, smstools",
    )
    method: str | None = Field(
        None, description="seven format only: GET, POST (form) or JSON, as seven.io's hooks"
    )


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})
    url: str | None = None
    events: list[str] | None = Field(None, min_length=1, max_length=20)
    secret: str | None = None
    label: str | None = Field(None, max_length=100)
    campaign_id: int | str | None = None
    headers: dict[str, str] | None = None
    description: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    format: str | None = None
    method: str | None = None


def _fields(body: BaseModel) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    if fields.get("campaign_id") is not None:
        campaign = parse_id(str(fields["campaign_id"]))
        if campaign is None:
            raise ValidationFailed(
                f"There is no campaign {fields['campaign_id']!r} in this account.",
                code="campaign_not_found",
            )
        fields["campaign_id"] = campaign
    return fields


def _webhook(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": str(row["id"]),
        "url": row["url"],
        "events": row["events"].split(","),
        "label": row["label"],
        "campaign_id": row["campaign_id"],
        "headers": orjson.loads(row["headers"]) if row["headers"] else {},
        "description": row["description"],
        "enabled": bool(row["enabled"]),
        "format": row["format"],
        "method": row["method"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }
    if "counts" in row:
        out["deliveries"] = row["counts"]
    return out


def _id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise NotFound(f"There is no webhook {raw!r} in this account.", code="webhook_not_found")
    return value


@router.post("", status_code=201, summary="Subscribe a URL to events")
async def create_webhook(body: WebhookIn, gw: GatewayDep, caller: WebhooksCaller) -> Response:
    """The reply carries `secret` this once: keep it to verify `X-Smsbridge-Signature`."""
    row, secret = await gw.webhooks.create(caller, _fields(body))
    return json_response({**_webhook(row), "secret": secret}, 201)


@router.get("", summary="The account's webhooks")
async def list_webhooks(gw: GatewayDep, caller: WebhooksCaller) -> Response:
    rows = await gw.webhooks.all(caller)
    return json_response({"webhooks": [_webhook(r) for r in rows]})


@router.get("/callback-secret", summary="The secret signing per-message callback_url deliveries")
async def callback_secret(gw: GatewayDep, caller: WebhooksCaller) -> Response:
    return json_response({"secret": await gw.webhooks.callback_secret(caller)})


@router.post("/callback-secret/rotate", summary="Replace the callback secret")
async def rotate_callback_secret(gw: GatewayDep, caller: WebhooksCaller) -> Response:
    return json_response({"secret": await gw.webhooks.callback_secret(caller, rotate=True)})


@router.get("/{webhook_id}", summary="One webhook, with its deliveries counted by state")
async def get_webhook(webhook_id: str, gw: GatewayDep, caller: WebhooksCaller) -> Response:
    return json_response(_webhook(await gw.webhooks.get(caller, _id(webhook_id))))


@router.patch("/{webhook_id}", summary="Change a webhook (url, events, filters, enabled ...)")
async def update_webhook(
    webhook_id: str, body: WebhookPatch, gw: GatewayDep, caller: WebhooksCaller
) -> Response:
    row = await gw.webhooks.update(caller, _id(webhook_id), _fields(body))
    return json_response(_webhook(row))


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook and its outbox")
async def delete_webhook(webhook_id: str, gw: GatewayDep, caller: WebhooksCaller) -> Response:
    await gw.webhooks.delete(caller, _id(webhook_id))
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", summary="Replace the signing secret")
async def rotate_secret(webhook_id: str, gw: GatewayDep, caller: WebhooksCaller) -> Response:
    return json_response({"secret": await gw.webhooks.rotate_secret(caller, _id(webhook_id))})


@router.post("/{webhook_id}/test", summary="POST a webhook.test event now and show the answer")
async def test_webhook(webhook_id: str, gw: GatewayDep, caller: WebhooksCaller) -> Response:
    result = await gw.webhooks.test(caller, _id(webhook_id))
    return json_response({**result, "delivery_id": str(result["delivery_id"])})


@router.get("/{webhook_id}/deliveries", summary="The delivery log, newest first")
async def list_deliveries(
    webhook_id: str,
    gw: GatewayDep,
    caller: WebhooksCaller,
    state: Annotated[str | None, Query(description="waiting, ready, done or dead")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    rows = await gw.webhooks.deliveries(
        caller, _id(webhook_id), state=state, before=parse_cursor(cursor), limit=limit
    )
    return json_response(
        {
            "deliveries": [_delivery(r) for r in rows],
            "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None,
        }
    )


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "state": row["state"],
        "attempts": row["attempts"],
        "created_at": iso(row["created_at"]),
        "last_attempt_at": iso(row["last_attempt_at"]),
        "next_attempt_at": iso(row["due_at"]) if row["state"] == "ready" else None,
        "finished_at": iso(row["done_at"]),
        "give_up_at": iso(row["give_up_at"]),
        "status_code": row["status_code"],
        "latency_ms": row["latency_ms"],
        "error": row["error"],
        "failed_attempts": [
            {
                "attempt": a["attempt"],
                "at": iso(a["at"]),
                "status_code": a["status_code"],
                "latency_ms": a["latency_ms"],
                "error": a["error"],
            }
            for a in row.get("failures", [])
        ],
    }


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", summary="Send one delivery again")
async def redeliver_one(
    webhook_id: str, delivery_id: str, gw: GatewayDep, caller: WebhooksCaller
) -> Response:
    target = parse_id(delivery_id)
    if target is None:
        raise NotFound(f"Webhook {webhook_id} has no delivery {delivery_id!r}.",
                       code="delivery_not_found")  # fmt: skip
    count = await gw.webhooks.redeliver(caller, _id(webhook_id), target)
    gw.notify_webhooks()
    return json_response({"redelivered": count}, 202)


@router.post("/{webhook_id}/redeliver", summary="Send every dead letter of the webhook again")
async def redeliver_dead(webhook_id: str, gw: GatewayDep, caller: WebhooksCaller) -> Response:
    count = await gw.webhooks.redeliver(caller, _id(webhook_id))
    gw.notify_webhooks()
    return json_response({"redelivered": count}, 202)
