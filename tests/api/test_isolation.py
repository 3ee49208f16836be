"""Every route, called with another account's key, refuses: 404 for someone else's ids, 403
where the route needs a scope the key lacks. A new route fails this test until it is listed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from fastapi.routing import APIRoute
from starlette.routing import Route

from smsbridge.testing.webhook_receiver import Received, WebhookReceiver
from tests.conftest import Live, wait_for

PUBLIC = {("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/docs"),
          ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
          *(("GET", f"{prefix}/health{kind}") for prefix in ("", "/api/3rdparty/v1")
            for kind in ("", "/live", "/ready", "/startup"))}  # fmt: skip
MOBILE = "/api/mobile/v1"
GATE = "/api/3rdparty/v1"
SMSGATE_SEND = {"phoneNumbers": ["+4917612345678"], "textMessage": {"text": "x"}}

# (method, route path) -> (concrete path, json body, expected status codes for the intruder)
CASES: dict[tuple[str, str], tuple[str, Any, set[int]]] = {
    ("POST", "/api/v1/messages"): ("/api/v1/messages", {"to": "+4917612345678", "text": "x"},
                                   {202}),  # sending is allowed: it creates the intruder's own
    ("POST", "/api/v1/messages/batch"): ("/api/v1/messages/batch", {"messages": [
        {"to": "+4917612345678", "text": "x"}]}, {202}),
    ("GET", "/api/v1/messages"): ("/api/v1/messages", None, {200}),  # lists only its own
    ("GET", "/api/v1/messages/{message_id}"): ("/api/v1/messages/{victim_message}", None, {404}),
    ("DELETE", "/api/v1/messages/{message_id}"): ("/api/v1/messages/{victim_message}", None,
                                                  {404}),
    ("GET", "/api/v1/balance"): ("/api/v1/balance", None, {200}),  # its own balance
    ("GET", "/api/v1/admin/accounts"): ("/api/v1/admin/accounts", None, {403}),
    ("POST", "/api/v1/admin/accounts"): ("/api/v1/admin/accounts", {"name": "x"}, {403}),
    ("GET", "/api/v1/admin/accounts/{name}"): ("/api/v1/admin/accounts/victim", None, {403}),
    ("PATCH", "/api/v1/admin/accounts/{name}"): ("/api/v1/admin/accounts/victim",
                                                 {"region": "AT"}, {403}),
    ("POST", "/api/v1/admin/accounts/{name}/suspend"): ("/api/v1/admin/accounts/victim/suspend",
                                                         None, {403}),
    ("POST", "/api/v1/admin/accounts/{name}/resume"): ("/api/v1/admin/accounts/victim/resume",
                                                        None, {403}),
    ("POST", "/api/v1/admin/accounts/{name}/credit"): ("/api/v1/admin/accounts/victim/credit",
                                                        {"amount": 5}, {403}),
    ("PUT", "/api/v1/admin/accounts/{name}/prices"): ("/api/v1/admin/accounts/victim/prices",
                                                       {"default": 0}, {403}),
    ("GET", "/api/v1/admin/accounts/{name}/ledger"): ("/api/v1/admin/accounts/victim/ledger",
                                                       None, {403}),
    ("GET", "/api/v1/admin/accounts/{name}/keys"): ("/api/v1/admin/accounts/victim/keys", None,
                                                     {403}),
    ("POST", "/api/v1/admin/accounts/{name}/keys"): ("/api/v1/admin/accounts/victim/keys", {},
                                                      {403}),
    ("DELETE", "/api/v1/admin/keys/{key_id}"): ("/api/v1/admin/keys/{victim_key}", None, {403}),
    ("GET", "/api/v1/admin/audit"): ("/api/v1/admin/audit", None, {403}),
    ("PUT", "/api/v1/admin/accounts/{name}/limits"): ("/api/v1/admin/accounts/victim/limits",
                                                       {"rate_limit": 1}, {403}),
    # Logging in needs the victim's password, which the intruder does not have.
    ("POST", "/api/v1/auth/login"): ("/api/v1/auth/login",
                                     {"email": "v@victim.example", "password": "guess-guess"},
                                     {401}),
    # Preview, drafts and rescheduling.
    ("POST", "/api/v1/messages/preview"): ("/api/v1/messages/preview",
                                           {"to": "+4917612345678", "text": "x"}, {200}),
    ("POST", "/api/v1/messages/{message_id}/recipients"): (
        "/api/v1/messages/{victim_message}/recipients", {"to": "+4917612345679"}, {404}),
    ("POST", "/api/v1/messages/{message_id}/close"): ("/api/v1/messages/{victim_message}/close",
                                                      None, {404}),
    ("PATCH", "/api/v1/messages/{message_id}"): ("/api/v1/messages/{victim_message}",
                                                 {"send_at": None}, {404}),
    # The address book: the intruder's own lists and new entries, never the victim's ids.
    ("POST", "/api/v1/contacts"): ("/api/v1/contacts", {"phone": "+4917612345678"}, {200}),
    ("GET", "/api/v1/contacts"): ("/api/v1/contacts", None, {200}),
    ("POST", "/api/v1/contacts/import"): ("/api/v1/contacts/import",
                                          "phone,firstname\n+4917612345677,Ivo\n", {200}),
    ("GET", "/api/v1/contacts/export"): ("/api/v1/contacts/export", None, {200}),
    ("GET", "/api/v1/contacts/{contact_id}"): ("/api/v1/contacts/{victim_contact}", None, {404}),
    ("PATCH", "/api/v1/contacts/{contact_id}"): ("/api/v1/contacts/{victim_contact}",
                                                 {"firstname": "Mallory"}, {404}),
    ("DELETE", "/api/v1/contacts/{contact_id}"): ("/api/v1/contacts/{victim_contact}", None,
                                                  {404}),
    ("GET", "/api/v1/groups"): ("/api/v1/groups", None, {200}),
    ("POST", "/api/v1/groups"): ("/api/v1/groups", {"name": "intruders"}, {201}),
    ("GET", "/api/v1/groups/{group}"): ("/api/v1/groups/{victim_group}", None, {404}),
    ("PATCH", "/api/v1/groups/{group}"): ("/api/v1/groups/{victim_group}", {"name": "mine"},
                                          {404}),
    ("DELETE", "/api/v1/groups/{group}"): ("/api/v1/groups/{victim_group}", None, {404}),
    ("GET", "/api/v1/groups/{group}/members"): ("/api/v1/groups/{victim_group}/members", None,
                                                {404}),
    ("POST", "/api/v1/groups/{group}/members"): ("/api/v1/groups/{victim_group}/members",
                                                 {"phones": ["+4917612345676"]}, {404}),
    ("DELETE", "/api/v1/groups/{group}/members"): ("/api/v1/groups/{victim_group}/members",
                                                   {"contacts": ["{victim_contact}"]}, {404}),
    ("GET", "/api/v1/opt-outs"): ("/api/v1/opt-outs", None, {200}),
    ("POST", "/api/v1/opt-outs"): ("/api/v1/opt-outs", {"numbers": ["+4917612345675"]}, {201}),
    # The victim's opt-out is not on the intruder's list, so there is nothing to remove.
    ("DELETE", "/api/v1/opt-outs/{number}"): ("/api/v1/opt-outs/{victim_number}", None, {404}),
    # Campaigns: the intruder's own list and drafts, never the victim's campaign.
    ("GET", "/api/v1/campaigns"): ("/api/v1/campaigns", None, {200}),
    ("POST", "/api/v1/campaigns"): ("/api/v1/campaigns", {"name": "mine", "text": "x",
                                    "targets": {"numbers": ["+4917612345678"]}}, {201}),
    ("GET", "/api/v1/campaigns/{campaign_id}"): ("/api/v1/campaigns/{victim_campaign}", None,
                                                 {404}),
    ("GET", "/api/v1/campaigns/{campaign_id}/estimate"): (
        "/api/v1/campaigns/{victim_campaign}/estimate", None, {404}),
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): ("/api/v1/campaigns/{victim_campaign}",
                                                   {"text": "hijacked"}, {404}),
    ("DELETE", "/api/v1/campaigns/{campaign_id}"): ("/api/v1/campaigns/{victim_campaign}", None,
                                                    {404}),
    ("POST", "/api/v1/campaigns/{campaign_id}/start"): (
        "/api/v1/campaigns/{victim_campaign}/start", None, {404}),
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): (
        "/api/v1/campaigns/{victim_campaign}/pause", None, {404}),
    ("POST", "/api/v1/campaigns/{campaign_id}/resume"): (
        "/api/v1/campaigns/{victim_campaign}/resume", None, {404}),
    ("POST", "/api/v1/campaigns/{campaign_id}/cancel"): (
        "/api/v1/campaigns/{victim_campaign}/cancel", None, {404}),
    # Webhooks: the intruder's own list and callback secret, never the victim's subscriptions,
    # their secrets or delivery logs. Subscribing to the victim's campaign is refused too.
    ("POST", "/api/v1/webhooks"): ("/api/v1/webhooks", {"url": "https://example.com/steal",
                                   "events": ["*"], "campaign_id": "{victim_campaign}"}, {422}),
    ("GET", "/api/v1/webhooks"): ("/api/v1/webhooks", None, {200}),
    ("GET", "/api/v1/webhooks/callback-secret"): ("/api/v1/webhooks/callback-secret", None,
                                                  {200}),  # its own secret
    ("POST", "/api/v1/webhooks/callback-secret/rotate"): (
        "/api/v1/webhooks/callback-secret/rotate", None, {200}),  # rotates its own only
    ("GET", "/api/v1/webhooks/{webhook_id}"): ("/api/v1/webhooks/{victim_webhook}", None, {404}),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): ("/api/v1/webhooks/{victim_webhook}",
                                                 {"url": "https://evil.example/steal"}, {404}),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ("/api/v1/webhooks/{victim_webhook}", None,
                                                  {404}),
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): (
        "/api/v1/webhooks/{victim_webhook}/rotate-secret", None, {404}),
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): ("/api/v1/webhooks/{victim_webhook}/test",
                                                     None, {404}),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): (
        "/api/v1/webhooks/{victim_webhook}/deliveries", None, {404}),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): (
        "/api/v1/webhooks/{victim_webhook}/deliveries/{victim_delivery}/redeliver", None, {404}),
    ("POST", "/api/v1/webhooks/{webhook_id}/redeliver"): (
        "/api/v1/webhooks/{victim_webhook}/redeliver", None, {404}),
    # Received SMS and conversations: the intruder's own, never the victim's.
    ("GET", "/api/v1/inbound"): ("/api/v1/inbound", None, {200}),
    ("GET", "/api/v1/inbound/{inbound_id}"): ("/api/v1/inbound/{victim_inbound}", None, {404}),
    ("GET", "/api/v1/conversations"): ("/api/v1/conversations", None, {200}),
    ("GET", "/api/v1/conversations/{number}"): ("/api/v1/conversations/{victim_handset}", None,
                                                {404}),
    ("POST", "/api/v1/conversations/{number}/read"): (
        "/api/v1/conversations/{victim_handset}/read", None, {404}),
    # A simulated handset writes to the intruder's own account.
    ("POST", "/api/v1/simulator/inbound"): ("/api/v1/simulator/inbound",
                                            {"from": "+4917612345672", "text": "intruder here"},
                                            {201}),
    # The live stream never ends: it is read as a stream (see stream_events_of below), replayed
    # from the very start of the feed, and must carry only the intruder's own events.
    ("GET", "/api/v1/events"): ("/api/v1/events?after=0.0-0.0", None, {200}),
    # Phones: the intruder's own list, never the victim's phone.
    ("GET", "/api/v1/devices"): ("/api/v1/devices", None, {200}),
    ("GET", "/api/v1/devices/{device_id}"): ("/api/v1/devices/{victim_device}", None, {404}),
    ("PATCH", "/api/v1/devices/{device_id}"): ("/api/v1/devices/{victim_device}",
                                               {"name": "mine"}, {404}),
    ("DELETE", "/api/v1/devices/{device_id}"): ("/api/v1/devices/{victim_device}", None, {404}),
    # The device API takes device tokens (and private tokens to register): an API key is none.
    ("POST", f"{MOBILE}/device"): (f"{MOBILE}/device", {"name": "intruder"}, {401}),
    ("GET", f"{MOBILE}/device"): (f"{MOBILE}/device", None, {200}),  # its address, no device
    ("PATCH", f"{MOBILE}/device"): (f"{MOBILE}/device", {"pushToken": "x"}, {401}),
    ("GET", f"{MOBILE}/message"): (f"{MOBILE}/message", None, {401}),
    ("GET", f"{MOBILE}/messages"): (f"{MOBILE}/messages", None, {401}),
    ("PATCH", f"{MOBILE}/message"): (f"{MOBILE}/message", [], {401}),
    ("PATCH", f"{MOBILE}/messages"): (f"{MOBILE}/messages", [], {401}),
    ("GET", f"{MOBILE}/webhooks"): (f"{MOBILE}/webhooks", None, {401}),
    ("GET", f"{MOBILE}/settings"): (f"{MOBILE}/settings", None, {401}),
    ("GET", f"{MOBILE}/events"): (f"{MOBILE}/events", None, {401}),
    ("GET", f"{MOBILE}/user/code"): (f"{MOBILE}/user/code", None, {401}),
    ("PATCH", f"{MOBILE}/user/password"): (f"{MOBILE}/user/password", {}, {401}),
    ("POST", f"{MOBILE}/hooks/{{device_id}}"): (f"{MOBILE}/hooks/{{victim_device}}", {}, {401}),
    # The integrator API with the intruder's key acts on the intruder's account only.
    ("POST", f"{GATE}/messages"): (f"{GATE}/messages", SMSGATE_SEND, {202}),
    ("POST", f"{GATE}/message"): (f"{GATE}/message", SMSGATE_SEND, {202}),
    ("GET", f"{GATE}/messages"): (f"{GATE}/messages", None, {200}),
    ("GET", f"{GATE}/messages/{{message_id}}"): (f"{GATE}/messages/victim-msg", None, {404}),
    ("GET", f"{GATE}/message/{{message_id}}"): (f"{GATE}/message/victim-msg", None, {404}),
    ("DELETE", f"{GATE}/messages/{{message_id}}"): (f"{GATE}/messages/victim-msg", None, {404}),
    ("GET", f"{GATE}/devices"): (f"{GATE}/devices", None, {200}),
    ("GET", f"{GATE}/device"): (f"{GATE}/device", None, {200}),
    ("DELETE", f"{GATE}/devices/{{device_id}}"): (f"{GATE}/devices/{{victim_device}}", None,
                                                  {404}),
    ("GET", f"{GATE}/settings"): (f"{GATE}/settings", None, {200}),
    ("PUT", f"{GATE}/settings"): (f"{GATE}/settings", {}, {200}),
    ("PATCH", f"{GATE}/settings"): (f"{GATE}/settings", {"ping": {"interval_seconds": 5}}, {200}),
    ("GET", f"{GATE}/webhooks"): (f"{GATE}/webhooks", None, {200}),
    ("POST", f"{GATE}/webhooks"): (f"{GATE}/webhooks", {"id": "intruder-hook", "url":
                                   "https://example.com/x", "event": "sms:received"}, {201}),
    ("DELETE", f"{GATE}/webhooks/{{webhook_id}}"): (f"{GATE}/webhooks/victim-hook", None, {404}),
    ("GET", f"{GATE}/inbox"): (f"{GATE}/inbox", None, {501}),
    ("GET", f"{GATE}/logs"): (f"{GATE}/logs", None, {501}),
    ("POST", f"{GATE}/auth/token"): (f"{GATE}/auth/token", {"scopes": ["messages:send"]}, {201}),
    ("POST", f"{GATE}/auth/token/refresh"): (f"{GATE}/auth/token/refresh", {}, {401}),
    ("DELETE", f"{GATE}/auth/token/{{jti}}"): (f"{GATE}/auth/token/{{victim_jti}}", None, {404}),
    # Public links: no key, and a code that is not one of the victim's.
    ("GET", "/l/{code}"): ("/l/{victim_number}", None, {404}),
    ("GET", "/f/{code}"): ("/f/{victim_number}", None, {404}),
}  # fmt: skip

# The providers' doors. The intruder's key acts on its own account only; what each answers
# is checked for the victim's data (see LEAKS), and objects of the victim are not found.
SEVEN, SG24, MSG, TOOLS = "/seven/api", "/smsgateway24/getdata", "/messaggisms", "/smsgatewayapi"
_OK = {200}
PROVIDER_CASES: dict[tuple[str, str], tuple[str, Any, set[int]]] = {
    **{(m, f"{SEVEN}/{p}"): (f"{SEVEN}/{p}?msg_id={{victim_recipient}}&ids={{victim_recipient}}"
                             "&id={victim_recipient}", None, _OK)
       for m, p in (("GET", "analytics"), ("GET", "balance"), ("POST", "balance"),
                    ("GET", "contacts"), ("POST", "contacts"), ("GET", "groups"),
                    ("POST", "groups"), ("DELETE", "hooks"), ("GET", "hooks"), ("POST", "hooks"),
                    ("GET", "journal"), ("GET", "lookup"), ("POST", "lookup"), ("GET", "pricing"),
                    ("POST", "pricing"), ("DELETE", "sms"), ("GET", "sms"), ("POST", "sms"),
                    ("GET", "status"), ("POST", "status"))},
    ("GET", f"{SEVEN}/analytics/{{group_by}}"): (f"{SEVEN}/analytics/label", None, _OK),
    ("GET", f"{SEVEN}/journal/{{kind}}"): (f"{SEVEN}/journal/outbound?id={{victim_recipient}}",
                                           None, _OK),
    ("GET", f"{SEVEN}/lookup/{{kind}}"): (f"{SEVEN}/lookup/format?number=4917612345678", None,
                                          _OK),
    **{(m, f"{SEVEN}/contacts/{{contact_id}}"): (f"{SEVEN}/contacts/{{victim_contact}}", None, _OK)
       for m in ("GET", "PATCH", "DELETE")},
    **{(m, f"{SEVEN}/groups/{{group_id}}"): (f"{SEVEN}/groups/{{victim_group}}", None, _OK)
       for m in ("GET", "PATCH", "DELETE")},
    **{(m, f"{SG24}/{p}"): (f"{SG24}/{p}?sms_id={{victim_recipient}}&tag_id={{victim_group}}"
                            "&device_id={victim_device}", None, _OK)
       for p in ("addalotofsms", "addsms", "getalldevices", "getallsms", "getdevicestatus",
                 "getsmsstatus", "gettoken", "savecontact", "savepaket", "savetag", "smstosend")
       for m in ("GET", "POST")},
    **{(m, f"{SG24}/{{rest:path}}"): (f"{SG24}/nothing", None, {200, 405})
       for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")},
    **{(m, f"{MSG}/messages{s}"): (f"{MSG}/messages{s}", None, {200} if m == "GET" else {400})
       for m in ("GET", "POST") for s in ("", "/")},
    **{(m, f"{MSG}/messages/{{message_id}}{s}"): (f"{MSG}/messages/{{victim_message_hex}}{s}",
                                                 None, {404})
       for m in ("GET", "PUT", "DELETE") for s in ("", "/")},
    **{("GET", f"{MSG}/messages/{{message_id}}/recipients{s}"): (
        f"{MSG}/messages/{{victim_message_hex}}/recipients{s}", None, {404}) for s in ("", "/")},
    **{("GET", f"{MSG}/messages/{{message_id}}/recipients/{{number}}{s}"): (
        f"{MSG}/messages/{{victim_message_hex}}/recipients/{{victim_number}}{s}", None, {404})
       for s in ("", "/")},
    **{(m, f"{MSG}/{{rest:path}}"): (f"{MSG}/nothing", None, {404, 405})
       for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")},
    **{(m, f"{TOOLS}/v1/{p}"): (f"{TOOLS}/v1/{p}", None, {200} if m == "GET" else {400, 422})
       for m, p in (("GET", "account"), ("GET", "balance"), ("GET", "contact"),
                    ("PATCH", "contact"), ("POST", "contact"), ("GET", "groups"),
                    ("PATCH", "groups"), ("POST", "groups"), ("GET", "message/inbox"),
                    ("GET", "message/logging"), ("POST", "message/send"), ("POST", "optouts"),
                    ("GET", "optouts/list"), ("GET", "outbox"))},
    ("GET", f"{TOOLS}/v1/contact/search/{{keyword}}"): (f"{TOOLS}/v1/contact/search/victim",
                                                        None, _OK),
    ("DELETE", f"{TOOLS}/v1/contact/{{contact_id}}"): (f"{TOOLS}/v1/contact/{{victim_contact}}",
                                                       None, {404}),
    ("GET", f"{TOOLS}/v1/groups/{{group_id}}"): (f"{TOOLS}/v1/groups/{{victim_group}}", None,
                                                 {404}),
    ("DELETE", f"{TOOLS}/v1/groups/{{group_id}}"): (f"{TOOLS}/v1/groups/{{victim_group}}", None,
                                                    {404}),
    ("GET", f"{TOOLS}/v1/message/inbox/{{inbound_id}}"): (
        f"{TOOLS}/v1/message/inbox/{{victim_inbound}}", None, {404}),
    ("DELETE", f"{TOOLS}/v1/optouts/{{phone}}"): (f"{TOOLS}/v1/optouts/{{victim_number}}", None,
                                                  {200, 404}),
    **{(m, f"{TOOLS}/v1/outbox/{{message_id}}"): (f"{TOOLS}/v1/outbox/{{victim_message}}", None,
                                                  {404}) for m in ("GET", "DELETE")},
    ("GET", f"{TOOLS}/v1/webhook/{{message_id}}"): (f"{TOOLS}/v1/webhook/{{victim_message}}",
                                                    None, {404}),
    **{(m, f"{TOOLS}{s}"): (f"{TOOLS}{s.replace('{path:path}', 'nothing')}", None, {404, 405})
       for m in ("GET", "POST", "PUT", "PATCH", "DELETE") for s in ("", "/{path:path}")},
}  # fmt: skip
CASES.update(PROVIDER_CASES)

VICTIM_NUMBER = "+4917612345670"
# What must never appear in what the intruder gets from a provider's door (the victim's
# numbers, in any of the providers' spellings, and its texts).
LEAKS = ("4917612345670", "4917612345671", "17612345670", "victim's", "secret offer")
VICTIM_HANDSET = "+4917612345671"  # writes in to the victim; the intruder never messages it
INTRUDER_HANDSET = "+4917612345672"


def fill(body: Any, values: dict[str, Any]) -> Any:
    """The JSON body with "{victim_...}" strings replaced by those values (as they are)."""
    if isinstance(body, dict):
        return {k: fill(v, values) for k, v in body.items()}
    if isinstance(body, list):
        return [fill(v, values) for v in body]
    if isinstance(body, str) and body.startswith("{") and body.endswith("}"):
        return values.get(body[1:-1], body)
    return body


def _walk(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, also inside included routers: FastAPI >= 0.16x keeps an
    included router as one entry whose effective routes carry the prefixed paths."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:
            yield from _walk(candidates())
            continue
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute | Route):
            for method in original.methods or ():
                if method != "HEAD":
                    yield method, getattr(route, "path", None) or original.path


async def stream_events_of(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 15.0,
) -> tuple[int, list[dict[str, Any]]]:
    """Read the (endless) live stream until ``done(events)``: its status and the events' JSON."""
    events: list[dict[str, Any]] = []
    async with client.stream("GET", url, headers=headers) as r:
        if r.status_code != 200:
            await r.aread()
            return r.status_code, events
        buffer = b""
        async with asyncio.timeout(timeout):
            async for chunk in r.aiter_bytes():
                *frames, buffer = (buffer + chunk).split(b"\n\n")
                for frame in frames:
                    for line in frame.split(b"\n"):
                        if line.startswith(b"data: "):
                            events.append(orjson.loads(line[len(b"data: ") :]))
                if done(events):
                    break
    return 200, events


async def simulate_inbound(live: Live, headers: dict[str, str], sender: str, text: str) -> str:
    r = await live.client.post(
        "/api/v1/simulator/inbound", json={"from": sender, "text": text}, headers=headers
    )
    assert r.status_code == 201, r.text
    inbound_id: str = r.json()["inbound_id"]
    return inbound_id


def signed_with(secret: str, request: Received) -> bool:
    ts = request.headers["x-smsbridge-timestamp"]
    expected = hmac.new(secret.encode(), ts.encode() + b"." + request.body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), request.headers["x-smsbridge-signature"])


def all_routes(live: Live) -> set[tuple[str, str]]:
    return set(_walk(live.gateway_app.routes)) - PUBLIC


async def test_the_route_walk_sees_included_routers(live: Live) -> None:
    # a route list without the routers' routes would make the coverage check vacuous
    found = all_routes(live)
    assert ("GET", "/api/v1/messages/{message_id}") in found
    assert ("GET", "/api/v1/admin/accounts") in found
    assert len(found) >= len(CASES)


async def test_every_route_is_covered(live: Live) -> None:
    missing = all_routes(live) - set(CASES)
    assert not missing, f"routes without an isolation case: {sorted(missing)}"


async def test_another_accounts_key_gets_nothing(live_factory: Any, database_url: str) -> None:
    receiver = await WebhookReceiver().start()
    try:
        live = await live_factory(
            database_url, webhooks_allow_private=True, webhooks_poll_interval_ms=20
        )
        await _another_accounts_key_gets_nothing(live, receiver)
    finally:
        await receiver.stop()


async def _another_accounts_key_gets_nothing(live: Live, receiver: WebhookReceiver) -> None:
    gw = live.gateway
    await gw.accounts.create("victim", email="v@victim.example", password="correct-horse")
    victim_key = await gw.keys.create(account="victim")
    victim = {"Authorization": f"Bearer {victim_key.key}"}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await live.client.post(
        "/api/v1/messages",
        headers=victim,
        json={"to": "+4917612345678", "text": "secret", "send_at": later},
    )
    victim_message = r.json()["id"]
    victim_recipient = r.json()["recipients"][0]["id"]
    r = await live.client.post(
        "/api/v1/contacts",
        headers=victim,
        json={
            "phone": VICTIM_NUMBER,
            "firstname": "Victoria",
            "groups": ["victims"],
            "unsubscribed": True,
        },
    )
    assert r.status_code == 200, r.text
    victim_contact = r.json()["contacts"][0]["id"]
    victim_group = r.json()["contacts"][0]["groups"][0]["id"]
    r = await live.client.post(
        "/api/v1/campaigns",
        headers=victim,
        json={"name": "victim's", "text": "secret offer", "targets": {"groups": ["victims"]}},
    )
    assert r.status_code == 201, r.text
    victim_campaign = r.json()["id"]
    # The victim's webhook (received SMS only), one test delivery, a received SMS, and a
    # message whose events go to its own callback_url (the outbox's webhook 0).
    r = await live.client.post(
        "/api/v1/webhooks",
        headers=victim,
        json={"url": receiver.url, "events": ["message.inbound"]},
    )
    assert r.status_code == 201, r.text
    victim_webhook, victim_secret = r.json()["id"], r.json()["secret"]
    r = await live.client.post(f"/api/v1/webhooks/{victim_webhook}/test", headers=victim)
    assert r.status_code == 200 and r.json()["delivered"] is True, r.text
    victim_delivery = r.json()["delivery_id"]
    r = await live.client.get("/api/v1/webhooks/callback-secret", headers=victim)
    victim_callback_secret = r.json()["secret"]
    victim_inbound = await simulate_inbound(live, victim, VICTIM_HANDSET, "victim's reply")
    r = await live.client.post(
        "/api/v1/messages",
        headers=victim,
        json={"to": "+4917612345673", "text": "cb", "callback_url": receiver.url + "/cb"},
    )
    assert r.status_code == 202, r.text
    victim_messages = {victim_message, r.json()["id"]}
    # The victim's phone, a message sent through the integrator API, and its webhook.
    victim_account = (await gw.keys.authenticate(victim_key.key)).account_id
    creds = await gw.device_accounts.ensure(victim_account)
    victim_device = (
        await gw.devices.register(
            scheme="bearer", credential=creds.private_token, name="victim phone",
            push_token=None, sims=[], app_version=None,
        )
    ).device_id  # fmt: skip
    r = await live.client.post(
        f"{GATE}/messages", json={**SMSGATE_SEND, "id": "victim-msg"}, headers=victim
    )
    assert r.status_code == 202, r.text
    r = await live.client.post(
        f"{GATE}/webhooks", headers=victim,
        json={"id": "victim-hook", "url": "https://example.com/v", "event": "sms:received"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    victim_token = await gw.device_tokens.issue_token(victim_account, ["messages:send"], None)

    def hook_requests() -> list[Received]:
        return [x for x in receiver.received if x.path == "/hooks"]

    def callback_requests() -> list[Received]:
        return [x for x in receiver.received if x.path == "/hooks/cb"]

    async def settled() -> bool:
        return len(hook_requests()) == 2 and len(callback_requests()) == 3

    await wait_for(settled)
    callback_delivery = callback_requests()[0].headers["x-smsbridge-delivery"]
    assert all(signed_with(victim_callback_secret, x) for x in callback_requests())

    await gw.accounts.create("intruder")
    intruder_key = await gw.keys.create(account="intruder")
    intruder = {
        "Authorization": f"Bearer {intruder_key.key}",
        # Smstools' doors take the key's id and the key as these two headers.
        "X-Client-Id": str(intruder_key.id),
        "X-Client-Secret": intruder_key.key,
    }
    values = {
        "victim_message": victim_message,
        "victim_key": str(victim_key.id),
        "victim_contact": victim_contact,
        "victim_group": victim_group,
        "victim_number": VICTIM_NUMBER,
        "victim_campaign": victim_campaign,
        "victim_webhook": victim_webhook,
        "victim_delivery": victim_delivery,
        "victim_inbound": victim_inbound,
        "victim_handset": VICTIM_HANDSET,
        "victim_device": victim_device,
        "victim_jti": victim_token.id,
        "victim_recipient": victim_recipient,
        "victim_message_hex": format(int(victim_message), "024x"),
    }
    victim_later = ""
    intruder_inbound = ""
    for (method, _), (path, body, expected) in CASES.items():
        url = path.format(**values)
        if path.startswith("/api/v1/events"):
            # A victim event after all the above, then the intruder's own marker: the stream,
            # replayed from the start of the feed, is read up to the marker.
            victim_later = await simulate_inbound(live, victim, VICTIM_HANDSET, "victim again")
            marker = await simulate_inbound(live, intruder, INTRUDER_HANDSET, "marker")
            status, events = await stream_events_of(
                live.client,
                url,
                intruder,
                lambda evs: any(e["data"].get("inbound_id") == marker for e in evs),  # noqa: B023
            )
            assert status in expected, (method, path, status)
            types = {e["type"] for e in events}
            assert {"message.queued", "message.inbound"} <= types, types  # its own events
            for event in events:
                data = event["data"]
                assert data.get("message_id") not in victim_messages, event
                assert data.get("inbound_id") not in (victim_inbound, victim_later), event
                assert VICTIM_HANDSET not in (data.get("from"), data.get("to")), event
                assert "victim" not in (data.get("text") or ""), event
            inbound_ids = {e["data"]["inbound_id"] for e in events if "inbound_id" in e["data"]}
            assert inbound_ids == {intruder_inbound, marker}
            continue
        if isinstance(body, str):  # a CSV body
            headers = {**intruder, "Content-Type": "text/csv"}
            r = await live.client.request(method, url, content=body.encode(), headers=headers)
        else:
            r = await live.client.request(method, url, json=fill(body, values), headers=intruder)
        assert r.status_code in expected, (method, path, r.status_code, r.text)
        if (method, path) in PROVIDER_CASES:
            for leak in LEAKS:
                assert leak not in r.text, (method, url, leak, r.text)
        if r.status_code == 200 and method == "GET" and path == "/api/v1/messages":
            assert all(m["id"] != victim_message for m in r.json()["messages"])
        if r.status_code == 200 and method == "GET" and path == "/api/v1/contacts":
            assert all(c["id"] != victim_contact for c in r.json()["contacts"])
        if r.status_code == 200 and method == "GET" and path == "/api/v1/groups":
            assert all(g["id"] != victim_group for g in r.json()["groups"])
        if r.status_code == 200 and method == "GET" and path == "/api/v1/opt-outs":
            assert all(o["number"] != VICTIM_NUMBER for o in r.json()["opt_outs"])
        if r.status_code == 200 and path == "/api/v1/contacts/export":
            assert VICTIM_NUMBER not in r.text
        if r.status_code == 200 and method == "GET" and path == "/api/v1/campaigns":
            assert all(c["id"] != victim_campaign for c in r.json()["campaigns"])
        if method == "POST" and path == "/api/v1/webhooks":
            assert r.json()["error"]["code"] == "campaign_not_found"
        if r.status_code == 200 and method == "GET" and path == "/api/v1/webhooks":
            assert all(w["id"] != victim_webhook for w in r.json()["webhooks"])
        if r.status_code == 200 and path.startswith("/api/v1/webhooks/callback-secret"):
            assert r.json()["secret"] != victim_callback_secret
        if r.status_code == 200 and method == "GET" and path == "/api/v1/inbound":
            assert all(i["from"] != VICTIM_HANDSET for i in r.json()["inbound"])
        if r.status_code == 200 and method == "GET" and path == "/api/v1/conversations":
            assert all(c["number"] != VICTIM_HANDSET for c in r.json()["conversations"])
        if r.status_code == 200 and method == "GET" and path == "/api/v1/devices":
            assert all(d["id"] != victim_device for d in r.json()["devices"])
        if (
            r.status_code == 200
            and method == "GET"
            and path in (f"{GATE}/devices", f"{GATE}/device")
        ):
            assert all(d["id"] != victim_device for d in r.json())
        if r.status_code == 200 and method == "GET" and path == f"{GATE}/messages":
            assert all(m["id"] != "victim-msg" for m in r.json())
        if r.status_code == 200 and method == "GET" and path == f"{GATE}/webhooks":
            assert all(w["id"] != "victim-hook" for w in r.json())
        if r.status_code == 200 and path == f"{MOBILE}/device":
            assert "device" not in r.json()
        if r.status_code == 201 and path == "/api/v1/simulator/inbound":
            intruder_inbound = r.json()["inbound_id"]
    # nor can the victim's webhooks, deliveries and callbacks be reached another way
    r = await live.client.post(
        "/api/v1/webhooks",
        headers=intruder,
        json={"url": "https://example.com/mine", "events": ["*"], "enabled": False},
    )
    assert r.status_code == 201, r.text
    own_webhook = r.json()["id"]
    r = await live.client.post(
        f"/api/v1/webhooks/{own_webhook}/deliveries/{victim_delivery}/redeliver", headers=intruder
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "delivery_not_found", r.text
    r = await live.client.get(f"/api/v1/webhooks/{own_webhook}/deliveries", headers=intruder)
    assert r.status_code == 200 and r.json()["deliveries"] == [], r.text
    # Per-message callbacks live in the outbox as webhook 0, of every account: not a webhook.
    for method, url in (
        ("GET", "/api/v1/webhooks/0"),
        ("GET", "/api/v1/webhooks/0/deliveries"),
        ("POST", "/api/v1/webhooks/0/redeliver"),
        ("POST", f"/api/v1/webhooks/0/deliveries/{callback_delivery}/redeliver"),
        ("POST", "/api/v1/webhooks/0/test"),
        ("PATCH", "/api/v1/webhooks/0"),
        ("DELETE", "/api/v1/webhooks/0"),
    ):
        body = {"url": "https://evil.example/"} if method == "PATCH" else None
        r = await live.client.request(method, url, json=body, headers=intruder)
        assert r.status_code == 404, (method, url, r.text)
    r = await live.client.patch(
        f"/api/v1/webhooks/{own_webhook}", json={"campaign_id": victim_campaign}, headers=intruder
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "campaign_not_found", r.text
    r = await live.client.get("/api/v1/inbound", params={"from": VICTIM_HANDSET}, headers=intruder)
    assert r.status_code == 200 and r.json()["inbound"] == [], r.text
    # nor can the victim's groups, contacts or ids be reached another way
    for ref in (str(victim_group), "victims"):
        r = await live.client.get(f"/api/v1/groups/{ref}", headers=intruder)
        assert r.status_code == 404, r.text
        r = await live.client.post(
            "/api/v1/messages", headers=intruder, json={"to": f"group:{ref}", "text": "spam"}
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "group_not_found"
        r = await live.client.get("/api/v1/contacts", params={"group": ref}, headers=intruder)
        assert r.status_code == 404
    r = await live.client.post(
        "/api/v1/messages", headers=intruder, json={"to": "Victoria", "text": "hello {{firstname}}"}
    )
    assert r.status_code == 422, r.text  # no contact of that name in the intruder's book
    r = await live.client.post(
        "/api/v1/groups", headers=intruder, json={"name": "stolen", "contacts": [victim_contact]}
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "contact_not_found"
    r = await live.client.post(
        "/api/v1/contacts",
        headers=intruder,
        json={"phone": "+4917612345674", "groups": [victim_group]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "group_not_found"
    for targets in (
        {"groups": [victim_group]},
        {"groups": ["victims"]},
        {"contacts": [victim_contact]},
    ):
        r = await live.client.post(
            "/api/v1/campaigns",
            headers=intruder,
            json={"name": "reach", "text": "x", "targets": targets},
        )
        assert r.status_code == 404, (targets, r.text)
    # the victim's message is untouched
    r = await live.client.get(f"/api/v1/messages/{victim_message}", headers=victim)
    assert r.json()["status"] == "scheduled" and r.json()["text"] == "secret"
    assert len(r.json()["recipients"]) == 1
    assert (await live.client.get("/api/v1/messages", headers=victim)).is_success
    # and so is the victim's address book
    r = await live.client.get(f"/api/v1/contacts/{victim_contact}", headers=victim)
    assert r.status_code == 200
    assert r.json()["firstname"] == "Victoria" and r.json()["unsubscribed"] is True
    r = await live.client.get(f"/api/v1/groups/{victim_group}", headers=victim)
    assert r.json()["name"] == "victims" and r.json()["members"] == 1
    r = await live.client.get("/api/v1/contacts", headers=victim)
    assert [c["phone"] for c in r.json()["contacts"]] == [VICTIM_NUMBER]
    r = await live.client.get("/api/v1/opt-outs", headers=victim)
    assert [o["number"] for o in r.json()["opt_outs"]] == [VICTIM_NUMBER]
    r = await live.client.get(f"/api/v1/campaigns/{victim_campaign}", headers=victim)
    assert r.status_code == 200 and r.json()["text"] == "secret offer"
    assert r.json()["state"] == "draft"
    # and so are the victim's webhook, its secret, its log, its callbacks and received SMS
    r = await live.client.get(f"/api/v1/webhooks/{victim_webhook}", headers=victim)
    assert r.status_code == 200 and r.json()["url"] == receiver.url, r.text
    assert r.json()["enabled"] is True and r.json()["campaign_id"] is None
    r = await live.client.get("/api/v1/webhooks", headers=victim)
    assert [w["id"] for w in r.json()["webhooks"]] == [victim_webhook]
    r = await live.client.get("/api/v1/webhooks/callback-secret", headers=victim)
    assert r.json()["secret"] == victim_callback_secret

    async def later_arrived() -> bool:
        return len(hook_requests()) >= 3

    await wait_for(later_arrived)
    await asyncio.sleep(0.3)  # anything the intruder set off would have arrived by now
    hooks = hook_requests()
    assert [orjson.loads(x.body)["type"] for x in hooks] == [
        "webhook.test",
        "message.inbound",
        "message.inbound",
    ]
    assert [orjson.loads(x.body)["data"]["inbound_id"] for x in hooks[1:]] == [
        victim_inbound,
        victim_later,
    ]
    assert len(callback_requests()) == 3  # no callback sent again
    r = await live.client.post(f"/api/v1/webhooks/{victim_webhook}/test", headers=victim)
    assert r.json()["delivered"] is True, r.text
    assert all(signed_with(victim_secret, x) for x in hook_requests())  # the secret is unchanged
    r = await live.client.get(f"/api/v1/webhooks/{victim_webhook}/deliveries", headers=victim)
    assert len(r.json()["deliveries"]) == 4, r.text
    assert all(d["state"] == "done" and d["attempts"] == 1 for d in r.json()["deliveries"])
    r = await live.client.get(f"/api/v1/inbound/{victim_inbound}", headers=victim)
    assert r.status_code == 200 and r.json()["read_at"] is None, r.text
    assert r.json()["text"] == "victim's reply"
    r = await live.client.get(f"/api/v1/conversations/{VICTIM_HANDSET}", headers=victim)
    assert r.status_code == 200 and r.json()["unread"] == 2, r.text
