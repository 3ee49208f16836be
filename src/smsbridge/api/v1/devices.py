"""/api/v1/devices: the account's Android phones (SMSGate app)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep, caller_with
from smsbridge.api.v1.params import json_response
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core import scopes
from smsbridge.core.timefmt import iso
from smsbridge.services.caller import Caller

DevicesCaller = Annotated[Caller, Depends(caller_with(scopes.DEVICES_MANAGE))]
router = APIRouter(
    prefix="/api/v1/devices",
    tags=["devices"],
    responses={
        401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)  # fmt: skip


class DeviceEdit(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Front desk phone",
                    "settings": {
                        "messages": {
                            "send_interval_min": 5, "send_interval_max": 15,
                            "limit_period": "PerHour", "limit_value": 100,
                        }
                    },
                }
            ]
        },
    )  # fmt: skip
    name: str | None = Field(None, min_length=1, max_length=128)
    settings: dict[str, Any] | None = Field(
        None,
        description="This phone's own SMSGate settings (sections as in GET "
        "/api/3rdparty/v1/settings), e.g. its throttle; they override the account's.",
    )


def device_out(device: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": device["id"],
        "name": device["name"],
        "online": bool(device["online"]),
        "last_seen": iso(device["last_seen"]),
        "created_at": iso(device["created_at"]),
        "app_version": device["app_version"],
        "sims": [
            {
                "sim": card.get("simNumber"),
                "slot": card.get("slotIndex"),
                "number": card.get("phoneNumber"),
                "carrier": card.get("carrierName"),
                "iccid": card.get("iccid"),
            }
            for card in device["sims"]
        ],
        "queued": int(device.get("queued", 0)),
        "settings": device["settings"],
    }


@router.get("", summary="The account's phones")
async def list_devices(gw: GatewayDep, caller: DevicesCaller) -> Response:
    devices = await gw.devices.all_of(caller.account_id)
    return json_response({"devices": [device_out(d) for d in devices]})


@router.get("/{device_id}", summary="One phone")
async def get_device(device_id: str, gw: GatewayDep, caller: DevicesCaller) -> Response:
    return json_response(device_out(await gw.devices.get(caller.account_id, device_id)))


@router.patch("/{device_id}", summary="Rename a phone or set its own settings (throttle)")
async def edit_device(
    device_id: str, body: DeviceEdit, gw: GatewayDep, caller: DevicesCaller
) -> Response:
    device = await gw.devices.edit(
        caller.account_id, device_id, name=body.name, settings=body.settings
    )
    return json_response(device_out(device))


@router.delete("/{device_id}", status_code=204, summary="Remove a phone")
async def remove_device(device_id: str, gw: GatewayDep, caller: DevicesCaller) -> Response:
    """Its waiting messages move to the account's other phones; it must register again to
    come back."""
    await gw.devices.remove(caller.account_id, device_id)
    return Response(status_code=204)
