"""``/ws/staff/analytics/``: the live dashboard's snapshots, for staff only. Thin: the snapshot is
read by analytics.selectors and sent by analytics.push.

Anonymous sockets close with 4401, signed-in non-staff with 4403 (as ``/ws/staff/orders/``). The
page gets a snapshot at once, then one every ``ANALYTICS_PUSH_SECONDS``; it sends nothing.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from accounts.consumers import UserSocketConsumer
from analytics import push
from common.fanout import group_fanout

CLOSE_FORBIDDEN = 4403
ERROR_NOTHING_TO_SEND = "This socket only sends snapshots; it reads nothing."


class StaffAnalyticsConsumer(UserSocketConsumer):
    database_free_events = UserSocketConsumer.database_free_events | {push.SNAPSHOT_EVENT}

    async def user_connected(self, user: Any) -> None:
        if not user.is_staff:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await group_fanout(push.STAFF_GROUP).subscribe(self)
        await self.send(text_data=await database_sync_to_async(push.snapshot_text)())
        push.push_loop_ensure()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send_json({"type": "error", "message": ERROR_NOTHING_TO_SEND})

    async def analytics_snapshot(self, event: dict[str, Any]) -> None:
        """``analytics.snapshot`` from analytics.push: relay the text encoded once."""
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        group_fanout(push.STAFF_GROUP).unsubscribe(self)
        await super().disconnect(code)
