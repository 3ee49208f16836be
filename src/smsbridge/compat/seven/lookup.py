"""seven.io's number lookups. ``format`` is answered from the numbering plan (phonenumbers);
HLR, MNP, CNAM and RCS lookups need a carrier's network, which this gateway does not query."""

from __future__ import annotations

from typing import Any

import phonenumbers
from fastapi import Request
from phonenumbers import PhoneNumberType, number_type
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep
from smsbridge.compat.seven import codes
from smsbridge.compat.seven.auth import caller
from smsbridge.compat.seven.errors import SevenError
from smsbridge.compat.seven.replies import json_reply, params_of
from smsbridge.compat.seven.routes import router
from smsbridge.core import scopes

_TYPES = {
    PhoneNumberType.MOBILE: "mobile", PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free", PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.VOIP: "voip", PhoneNumberType.PAGER: "pager",
}  # fmt: skip


def format_number(raw: str, region: str | None) -> dict[str, Any]:
    # phonenumbers' place and carrier names take about 100 MB: loaded when first asked for.
    from phonenumbers import carrier, geocoder

    text = raw.strip()
    if text.isdigit() and not text.startswith("0"):
        text = "+" + text  # bare digits are international, as everywhere at seven
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return {"success": False, "national": None, "international": None,
                "international_formatted": None, "country_name": None, "country_code": None,
                "country_iso": None, "carrier": None, "network_type": None}  # fmt: skip
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    iso_region = phonenumbers.region_code_for_number(number)
    return {
        "success": phonenumbers.is_valid_number(number),
        "national": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        "international": e164.lstrip("+"),
        "international_formatted": phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
        "country_name": geocoder.country_name_for_number(number, "en") or None,
        "country_code": str(number.country_code),
        "country_iso": iso_region,
        "carrier": carrier.name_for_number(number, "en") or None,
        "network_type": _TYPES.get(number_type(number), "unknown"),
    }


@router.get("/lookup/{kind}", summary="Number lookup (seven.io)")
async def lookup(kind: str, request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.MESSAGES_READ)
    kind = kind.lower()
    if kind != "format":
        raise SevenError(
            codes.INVALID_TYPE,
            f"{kind} lookups need a carrier's network; this gateway answers `format` only.",
        )
    raw = params.text("number")
    if not raw:
        raise SevenError(codes.MISSING_TO, "Give the `number` to look up.")
    numbers = [n for n in (p.strip() for p in raw.split(",")) if n]
    if len(numbers) > 1000:
        raise SevenError(codes.UNKNOWN_ERROR, "At most 1000 numbers per lookup.")
    region = who.default_region or gw.settings.default_region
    results = [format_number(n, region) for n in numbers]
    return json_reply(results[0] if len(results) == 1 else results)


@router.post("/lookup", include_in_schema=False)
@router.get("/lookup", include_in_schema=False)
async def lookup_legacy(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    kind = params.text("type")
    if not kind:
        await caller(request, params, scopes.MESSAGES_READ)
        raise SevenError(304, "Give the lookup `type`.")
    return await lookup(kind, request, gw)
