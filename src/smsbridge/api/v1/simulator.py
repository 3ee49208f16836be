"""/api/v1/simulator: make a simulated handset write in (try inbound SMS, replies, keywords
and webhooks locally)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep, SendCaller
from smsbridge.api.v1.params import json_response
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.connectors.simulator import SimulatorConnector
from smsbridge.core.errors import Conflict

router = APIRouter(
    prefix="/api/v1/simulator",
    tags=["simulator"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)


class SimulatedInbound(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"from": "+4917612345678", "text": "STOP"}]},
    )
    sender: str = Field(alias="from", min_length=1, max_length=32, description="Who writes")
    text: str = Field(min_length=1, max_length=5000, description="Long texts arrive in parts")
    to: str | None = Field(None, max_length=32, description="The number written to")


@router.post("/inbound", status_code=201, summary="A simulated handset sends an SMS in")
async def simulate_inbound(body: SimulatedInbound, gw: GatewayDep, caller: SendCaller) -> Response:
    simulator = gw.connector("simulator")
    if not isinstance(simulator, SimulatorConnector):
        raise Conflict(
            "No simulator channel runs in this process: start `smsbridge serve` with its "
            "dispatcher (the default) to simulate inbound SMS.",
            code="no_simulator",
        )
    inbound_id = await simulator.receive(
        body.sender, body.text, to=body.to, account_id=caller.account_id
    )
    return json_response({"inbound_id": str(inbound_id) if inbound_id else None}, 201)
