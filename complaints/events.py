"""Complaint events: every state change, who, when, why (DESIGN.md "Event schemas").

``CaseService(on_change=...)`` calls its callback once per audit row, after the
change is committed. ``to_bus(bus)`` is a ready callback that publishes them on
``qinglang.case-events`` keyed by case id.
"""

from __future__ import annotations

from typing import Any, Callable

from complaints.models import AuditEntry
from complaints.views import iso

SCHEMA_VERSION = 1


def event_of(row: AuditEntry, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION, "id": f"cev-{row.case_id}-{row.seq}", "case_id": row.case_id,
        "seq": row.seq, "action": row.action, "actor": row.actor, "at": iso(row.at),
        "state_before": (before or {}).get("state"), "state_after": (after or {}).get("state"),
        "reason": row.reason, "hash": row.hash,
    }


def to_bus(bus: Any) -> Callable[[dict[str, Any]], None]:
    from core.events import Topic

    def publish(event: dict[str, Any]) -> None:
        bus.produce(Topic.CASE_EVENTS.value, str(event["case_id"]), event)

    return publish
