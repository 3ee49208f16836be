"""/api/v1/campaigns: newsletters to groups, contacts and numbers, with live progress."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import CampaignsCaller, GatewayDep
from smsbridge.api.v1.params import json_response, parse_cursor, parse_id
from smsbridge.api.v1.schemas import ErrorOut, Time
from smsbridge.core.errors import NotFound
from smsbridge.core.message import Priority
from smsbridge.core.pricing import credits
from smsbridge.core.schedule import format_clock
from smsbridge.core.timefmt import iso
from smsbridge.services.campaign_expansion import Estimate, Targets
from smsbridge.services.campaigns import CampaignSpec, CampaignView

router = APIRouter(
    prefix="/api/v1/campaigns",
    tags=["campaigns"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)

EXAMPLE: dict[str, Any] = {
    "name": "Spring sale",
    "text": "Hi {{firstname}}, 20% off this weekend with code {{extra1}}!",
    "targets": {"groups": ["customers"], "numbers": ["+4917612345678"]},
    "send_at": "2026-05-01T09:00:00Z",
    "throttle": 600,
    "quiet_hours": {"start": "21:00", "end": "08:00"},
}


class TargetsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[str | int] = Field(default_factory=list, description="Group names or ids")
    contacts: list[int] = Field(default_factory=list, description="Contact ids")
    numbers: list[str] = Field(default_factory=list, max_length=100_000)


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(description="HH:MM in the account's time zone", examples=["21:00"])
    end: str = Field(description="HH:MM", examples=["08:00"])


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str | None = Field(None, max_length=100)
    text: str | None = Field(None, max_length=10_000)
    targets: TargetsIn | None = None
    send_at: Time | None = Field(None, description="Start time (ISO 8601 or unix seconds)")
    sender: str | None = Field(None, alias="from", max_length=16)
    label: str | None = Field(None, max_length=100)
    ttl: int | None = Field(None, ge=1, le=30 * 24 * 3600)
    priority: Literal["normal", "high"] | None = None
    channel: str | None = None
    device_id: str | None = Field(
        None, max_length=32, description="Send from this phone (implies channel android)."
    )
    sim: int | None = Field(None, ge=1, le=8, description="The phone's SIM slot, from 1.")
    throttle: int | None = Field(
        None, ge=0, le=1_000_000, description="Messages per minute; 0: none"
    )
    quiet_hours: QuietHours | None = None
    birthday_at: str | None = Field(None, description="Birthday campaigns: local HH:MM")
    transactional: bool | None = None
    missing_fields: Literal["error", "empty"] | None = None
    test: bool | None = Field(None, description="Expand and price, but never send")

    def spec(self) -> CampaignSpec:
        targets = self.targets
        return CampaignSpec(
            name=self.name, text=self.text,
            groups=targets.groups if targets else None,
            contacts=targets.contacts if targets else None,
            numbers=targets.numbers if targets else None,
            send_at=self.send_at, clear_send_at="send_at" in self.model_fields_set
            and self.send_at is None,
            sender=self.sender, label=self.label, ttl=self.ttl,
            priority=None if self.priority is None else (
                Priority.HIGH if self.priority == "high" else Priority.NORMAL),
            channel=self.channel, device_id=self.device_id, sim=self.sim,
            throttle=self.throttle,
            quiet_start=self.quiet_hours.start if self.quiet_hours else None,
            quiet_end=self.quiet_hours.end if self.quiet_hours else None,
            birthday_at=self.birthday_at, transactional=self.transactional,
            missing_fields=self.missing_fields, test=self.test,
        )  # fmt: skip


class CampaignIn(CampaignPatch):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"examples": [EXAMPLE]}
    )
    name: str = Field(max_length=100)
    text: str = Field(max_length=10_000)
    kind: Literal["once", "birthday"] = Field(
        "once", description="`birthday`: sends each day to the contacts whose birthday it is"
    )
    start: bool = Field(False, description="Start it right away (or at send_at)")

    def spec(self) -> CampaignSpec:
        spec = super().spec()
        spec.kind = self.kind
        return spec


def _id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise NotFound(f"No campaign {raw!r}; campaign ids are numbers.", code="campaign_not_found")
    return value


def render_estimate(found: Estimate) -> dict[str, Any]:
    return {
        "recipients": found.recipients,
        "opted_out": found.opted_out,
        "invalid": found.rejected,
        "missing_fields": found.missing_fields,
        "parts": found.parts,
        "price": credits(found.price),
        "problems": found.examples,
    }


def render(view: CampaignView) -> dict[str, Any]:
    row = view.row
    counts = view.counts
    options = orjson.loads(row["options"])
    targets = Targets.of(row)
    progress = {
        "total": row["total"] if row["total"] is not None else sum(counts.values()),
        "expanded": sum(counts.values()),
        "queued": counts.get("queued", 0) + counts.get("scheduled", 0),
        "sending": counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "delivered": counts.get("delivered", 0),
        "failed": counts.get("failed", 0) + counts.get("expired", 0),
        "skipped": counts.get("rejected", 0),
        "cancelled": counts.get("cancelled", 0),
    }
    out: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "state": row["state"],
        "state_reason": row["state_reason"],
        "text": row["text"],
        "targets": {"groups": targets.groups, "contacts": targets.contacts,
                    "numbers": targets.numbers},
        "send_at": iso(row["send_at"]),
        "throttle": row["throttle"],
        "quiet_hours": {"start": format_clock(row["quiet_start"]),
                        "end": format_clock(row["quiet_end"])}
        if row["quiet_start"] is not None else None,
        "birthday_at": format_clock(row["birthday_at"]),
        "from": options.get("sender"),
        "label": options.get("label"),
        "priority": "high" if options.get("priority") else "normal",
        "channel": options.get("channel"),
        "device_id": options.get("device_id"),
        "sim": options.get("sim"),
        "transactional": bool(options.get("transactional")),
        "test": bool(options.get("test")),
        "progress": progress,
        "cost": credits(view.cost),
        "message_id": str(row["message_id"]) if row["message_id"] is not None else None,
        "created_at": iso(row["created_at"]),
        "started_at": iso(row["started_at"]),
        "finished_at": iso(row["finished_at"]),
    }  # fmt: skip
    if view.estimate is not None:
        out["estimate"] = render_estimate(view.estimate)
    return out


@router.post("", status_code=201, summary="Create a campaign (a draft unless `start`)")
async def create_campaign(body: CampaignIn, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    view = await gw.campaigns.create(caller, body.spec())
    if body.start:
        view = await gw.campaigns.start(caller, view.row["id"])
    return json_response(render(view), 201)


@router.get("", summary="The account's campaigns, newest first")
async def list_campaigns(
    gw: GatewayDep,
    caller: CampaignsCaller,
    state: Annotated[
        Literal["draft", "scheduled", "running", "paused", "completed", "cancelled"] | None,
        Query(),
    ] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    before = parse_cursor(cursor)
    views = await gw.campaigns.list(caller, state, before, limit)
    return json_response(
        {
            "campaigns": [render(v) for v in views],
            "next_cursor": str(views[-1].row["id"]) if len(views) == limit else None,
        }
    )


@router.get("/{campaign_id}", summary="A campaign with its live progress")
async def get_campaign(campaign_id: str, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    return json_response(render(await gw.campaigns.get(caller, _id(campaign_id))))


@router.get(
    "/{campaign_id}/estimate",
    summary="Count, price and check every recipient before starting (nothing is sent)",
)
async def estimate_campaign(campaign_id: str, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    return json_response(render(await gw.campaigns.estimate(caller, _id(campaign_id))))


@router.patch("/{campaign_id}", summary="Change a draft, scheduled or paused campaign")
async def update_campaign(
    campaign_id: str, body: CampaignPatch, gw: GatewayDep, caller: CampaignsCaller
) -> Response:
    return json_response(render(await gw.campaigns.update(caller, _id(campaign_id), body.spec())))


@router.delete("/{campaign_id}", status_code=204, summary="Delete a campaign that sent nothing")
async def delete_campaign(campaign_id: str, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    await gw.campaigns.delete(caller, _id(campaign_id))
    return Response(status_code=204)


@router.post("/{campaign_id}/start", summary="Start a draft (at send_at, if set)")
async def start_campaign(campaign_id: str, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    return json_response(render(await gw.campaigns.start(caller, _id(campaign_id))))


@router.post("/{campaign_id}/pause", summary="Hold every message not yet sent")
async def pause_campaign(campaign_id: str, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    return json_response(render(await gw.campaigns.pause(caller, _id(campaign_id))))


@router.post("/{campaign_id}/resume", summary="Go on sending (throttle and quiet hours apply)")
async def resume_campaign(campaign_id: str, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    return json_response(render(await gw.campaigns.resume(caller, _id(campaign_id))))


@router.post("/{campaign_id}/cancel", summary="Stop and cancel what has not left (refunded)")
async def cancel_campaign(campaign_id: str, gw: GatewayDep, caller: CampaignsCaller) -> Response:
    return json_response(render(await gw.campaigns.cancel(caller, _id(campaign_id))))
