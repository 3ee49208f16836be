"""Domain objects to the native API's JSON (ids as strings: they exceed JS-safe integers in
other gateways, and clients should treat them as opaque)."""

from __future__ import annotations

from typing import Any

from smsbridge.core.encoding import (
    Segmentation,
    build_udh,
    concat_ie,
    national_udh,
    parse_languages,
    segment,
)
from smsbridge.core.message import Status, summarize
from smsbridge.core.pricing import credits
from smsbridge.core.reasons import reason_for
from smsbridge.core.timefmt import iso, iso_of
from smsbridge.services.message_plan import AcceptedMessage
from smsbridge.store.messages import MessageRecord, Row


def _error(
    code: str | None, message: str | None, channel: str | None = None
) -> dict[str, Any] | None:
    """The raw code as the channel gave it, and the reason it maps to."""
    if code is None:
        return None
    return {"code": code, "message": message or code, "reason": reason_for(channel, code)}


def accepted_many(msgs: list[AcceptedMessage]) -> list[dict[str, Any]]:
    return [accepted(m) for m in msgs]


def accepted(msg: AcceptedMessage) -> dict[str, Any]:
    recipients: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for r in msg.recipients:
        status = r.status
        counts[status] = counts.get(status, 0) + 1
        item: dict[str, Any] = {"id": str(r.id), "to": r.to, "status": status}
        if r.error_code is not None:
            item["error"] = _error(r.error_code, r.error_message)
        if r.text is not None:
            item["text"] = r.text
            item["parts"] = r.parts
        recipients.append(item)
    out = {
        "id": str(msg.id),
        "status": next(iter(counts)) if len(counts) == 1 else "mixed",
        "summary": counts,
        "encoding": msg.encoding,
        "parts": msg.parts,
        "test": msg.test,
        "priority": "high" if msg.priority else "normal",
        "from": msg.sender,
        "label": msg.label,
        "foreign_id": msg.foreign_id,
        "created_at": iso_of(msg.created_at),
        "send_at": None if msg.send_at is None else iso_of(msg.send_at),
        "expires_at": None if msg.expires_at is None else iso_of(msg.expires_at),
        "price": credits(msg.price),
    }
    if msg.balance is not None:
        out["balance"] = credits(msg.balance)
    if msg.draft:
        out["draft"] = True
    out["recipients"] = recipients
    return out


def preview(msg: AcceptedMessage) -> dict[str, Any]:
    """Each recipient's rendered text, encoding, parts and price (nothing was written)."""
    recipients = []
    for r in msg.recipients:
        item: dict[str, Any] = {
            "to": r.to,
            "status": "rejected" if r.error_code else "ok",
            "text": r.text if r.text is not None else msg.text,
            "encoding": r.encoding or msg.encoding,
            "parts": r.parts if r.parts is not None else msg.parts,
            "price": credits(r.price),
        }
        if r.error_code is not None:
            item["error"] = _error(r.error_code, r.error_message)
        recipients.append(item)
    return {
        "recipients": recipients,
        "count": len(recipients),
        "rejected": sum(1 for r in msg.recipients if r.error_code),
        "price": credits(msg.price),
        "encoding": msg.encoding,
        "parts": msg.parts,
    }


def _message_head(row: Row, rcpts: list[Row]) -> dict[str, Any]:
    status, counts = summarize(r["status"] for r in rcpts)
    return {
        "id": str(row["id"]),
        "status": status,
        "summary": counts,
        "text": row["text"],
        "from": row["sender"],
        "encoding": row["encoding"],
        "parts": row["parts"],
        "test": bool(row["test"]),
        "priority": "high" if row["priority"] else "normal",
        "flash": bool(row["flash"]),
        "label": row["label"],
        "foreign_id": row["foreign_id"],
        "created_at": iso(row["created_at"]),
        "send_at": iso(row["send_at"]),
        "expires_at": iso(row["expires_at"]),
        "price": credits(row["price"]),
        "draft": bool(row["draft"]),
        "campaign_id": row["campaign_id"],
    }


def listed(row: Row, rcpts: list[Row]) -> dict[str, Any]:
    out = _message_head(row, rcpts)
    out["recipients"] = [
        {
            "id": str(r["id"]),
            "to": r["to_number"],
            "status": r["status"],
            **(
                {"error": _error(r["error_code"], r["error_message"], r["channel"])}
                if r["error_code"]
                else {}
            ),
            "updated_at": iso(r["updated_at"]),
        }
        for r in rcpts
    ]
    return out


def detailed(record: MessageRecord) -> dict[str, Any]:
    row = record.message
    out = _message_head(row, record.recipients)
    seg = segment(
        row["text"],
        row["encoding"],
        languages=parse_languages(row["languages"]),
        max_parts=255,
        udh=row["udh"],
    )
    out["concat_ref"] = row["concat_ref"]
    out["national_shift"] = (
        {"locking": seg.locking_shift, "single": seg.single_shift} if row["languages"] else None
    )
    out["segments"] = [
        {
            "seq": seq,
            "text": text,
            "udh": row["udh"] or _udh(seg, row["concat_ref"], seq),
        }
        for seq, text in enumerate(seg.parts, start=1)
    ]
    recipients = []
    for r in record.recipients:
        initial = Status.SCHEDULED.value if row["send_at"] else Status.QUEUED.value
        if r["status"] == Status.DRAFT.value:
            initial = Status.DRAFT.value
        elif r["status"] == Status.REJECTED.value:
            initial = Status.REJECTED.value
        history = [{"status": initial, "at": iso(r["created_at"]), "detail": None}]
        history += [
            {"status": e["status"], "at": iso(e["at"]), "detail": e["detail"]}
            for e in record.events.get(r["id"], [])
        ]
        item: dict[str, Any] = {
            "id": str(r["id"]),
            "to": r["to_number"],
            "status": r["status"],
            "attempts": r["attempts"],
            "channel": r["channel"],
            "updated_at": iso(r["updated_at"]),
            "history": history,
            "parts": [
                {
                    "seq": p["seq"],
                    "provider_id": p["provider_id"],
                    "status": p["status"],
                    "error_code": p["error_code"],
                    "updated_at": iso(p["updated_at"]),
                }
                for p in record.parts.get(r["id"], [])
            ],
        }
        if r["error_code"]:
            item["error"] = _error(r["error_code"], r["error_message"], r["channel"])
        if r["text"] is not None:
            item["text"] = r["text"]
            item["encoding"] = r["encoding"]
            item["parts_count"] = r["parts"]
        item["price"] = credits(r["price"])
        recipients.append(item)
    out["recipients"] = recipients
    return out


def _udh(seg: Segmentation, reference: int, seq: int) -> str | None:
    """The user data header each part carries: concatenation and national shift elements."""
    concat = concat_ie(reference, seg.part_count, seq) if seg.part_count > 1 else b""
    national = national_udh(seg.locking_shift, seg.single_shift)
    return build_udh(concat + national).hex() if concat or national else None
