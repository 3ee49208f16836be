"""Campaign progress and completion reach webhooks."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from smsbridge.services import campaign_runner
from smsbridge.testing.webhook_receiver import WebhookReceiver
from tests.conftest import wait_for

FAST = {"webhooks_allow_private": True, "webhooks_poll_interval_ms": 20}


async def test_campaign_progress_and_completion(
    live_factory: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaign_runner, "PROGRESS_EVERY_US", 0)
    receiver = await WebhookReceiver().start()
    try:
        live = await live_factory(database_url, **FAST)
        r = await live.client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["campaign.progress", "campaign.completed"]},
            headers=live.headers,
        )
        assert r.status_code == 201, r.text
        numbers = [f"+4917612345{i:03d}" for i in range(20)]
        r = await live.client.post(
            "/api/v1/campaigns",
            json={"name": "news", "text": "Hello", "targets": {"numbers": numbers},
                  "start": True},
            headers=live.headers,
        )  # fmt: skip
        assert r.status_code in (200, 201), r.text
        campaign_id = r.json()["id"]

        def events() -> list[dict[str, Any]]:
            return [orjson.loads(x.body) for x in receiver.accepted()]

        async def completed() -> bool:
            return any(e["type"] == "campaign.completed" for e in events())

        await wait_for(completed, timeout=20)
        done = [e for e in events() if e["type"] == "campaign.completed"]
        assert len(done) == 1
        data = done[0]["data"]
        assert data["campaign_id"] == campaign_id and data["state"] == "completed"
        assert sum(data["counts"].values()) == 20
        assert data["counts"].get("delivered", 0) + data["counts"].get("sent", 0) == 20
        progress = [e for e in events() if e["type"] == "campaign.progress"]
        assert progress and all(e["data"]["campaign_id"] == campaign_id for e in progress)
        # in order: progress events come before the completion
        types = [e["type"] for e in events()]
        assert types.index("campaign.completed") == len(types) - 1
    finally:
        await receiver.stop()
