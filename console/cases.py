"""Turning an alert into a complaint case (complaints.service, when that package is present)."""

from __future__ import annotations

import importlib
from typing import Any

from console.users import User
from core.errors import QinglangError
from core.services import Services


class CasesUnavailable(QinglangError):
    http_status = 501


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise


def available() -> bool:
    mod = _module("complaints.service")
    return mod is not None and hasattr(mod, "CaseService")


def _service(svc: Services, user: User) -> Any:
    routes = _module("console.routers.complaints")
    if routes is not None and hasattr(routes, "service_for"):
        return routes.service_for(svc, user)  # acting as the signed-in user, with the configured rules
    mod = _module("complaints.service")
    if mod is None or not hasattr(mod, "CaseService"):
        raise CasesUnavailable("complaint cases are not available in this installation",
                               hint="install the complaints package, or link the alert to an existing case id")
    return mod.CaseService(svc.db, svc.blobs, actor=mod.Actor(user.name, frozenset(user.roles)))


def open_case_from_alert(svc: Services, detail: Any, user: User, reason: str | None) -> str:
    """Register a case (channel ``monitoring``) with the alert and its hits as evidence; returns its id."""
    a = detail.alert
    hit = (detail.hits or [{}])[0] or {}
    ev = hit.get("evidence") or {}
    description = (f"监测告警：信源 {a.source_id}，检测器 {a.detector}，命中“{a.term or a.detector}”，"
                   f"共 {a.count} 次（{a.first_seen:%Y-%m-%d %H:%M} 至 {a.last_seen:%Y-%m-%d %H:%M} UTC）。"
                   + (f"\n片段：{ev.get('snippet')}" if ev.get("snippet") else "")
                   + (f"\n说明：{reason}" if reason else ""))
    case = _service(svc, user).register(
        channel="monitoring", category=a.category or "other", target=f"{a.source_id} {a.term or ''}".strip(),
        description=description, target_source_id=a.source_id[:100],
        target_platform=str(hit.get("platform") or "")[:200], target_program=str(hit.get("program") or "")[:200],
        evidence={"alert_id": a.id, "hit_ids": [h.get("id") for h in detail.hits[:20] if h.get("id")]},
    )
    return str(case["id"] if isinstance(case, dict) else getattr(case, "id", case))
