"""Turning an alert into a complaint case (complaints.service, when that package is present)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from console.users import User
from core.errors import QinglangError
from core.services import Services


class CasesUnavailable(QinglangError):
    http_status = 501


def _service_class() -> Any:
    try:
        module = importlib.import_module("complaints.service")
    except ModuleNotFoundError as exc:
        if exc.name in ("complaints", "complaints.service"):
            return None
        raise
    return getattr(module, "CaseService", None)


def available() -> bool:
    return _service_class() is not None


def _construct(cls: Any, svc: Services) -> Any:
    params = list(inspect.signature(cls).parameters.values())
    first = params[0].name if params else ""
    if first in ("db", "database"):
        return cls(svc.db)
    if first in ("services", "svc"):
        return cls(svc)
    try:
        return cls(svc.db)
    except TypeError:
        return cls(svc)


def open_case_from_alert(svc: Services, detail: Any, user: User, reason: str | None) -> str:
    cls = _service_class()
    if cls is None:
        raise CasesUnavailable("complaint cases are not available in this installation",
                               hint="install the complaints package, or link the alert to a case id")
    a = detail.alert
    hit = detail.hits[0] if detail.hits else {}
    ev = (hit or {}).get("evidence") or {}
    description = (f"监测告警 {a.id}：信源 {a.source_id}，检测器 {a.detector}，命中“{a.term or ''}”"
                   f"（{a.count} 次，{a.first_seen.isoformat()} 至 {a.last_seen.isoformat()}）。"
                   + (f"\n片段：{ev.get('snippet')}" if ev.get("snippet") else "")
                   + (f"\n说明：{reason}" if reason else ""))
    evidence = {"alert_id": a.id, "hit_ids": [h.get("id") for h in detail.hits[:20]],
                "frame": ev.get("frame"), "clip": ev.get("clip"), "media_start": ev.get("media_start"),
                "snippet": ev.get("snippet")}
    wanted: dict[str, Any] = {
        "channel": "monitoring", "category": a.category or "other", "target": a.source_id,
        "description": description, "received_at": a.last_seen, "evidence": evidence,
        "user": user.name, "actor": user.name, "by": user.name, "alert_id": a.id, "source_id": a.source_id,
    }
    service = _construct(cls, svc)
    sig = inspect.signature(service.register)
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    kwargs = {k: v for k, v in wanted.items() if takes_kwargs and k in
              ("channel", "category", "target", "description") or k in sig.parameters}
    case = service.register(**kwargs)
    case_id = case.get("id") if isinstance(case, dict) else getattr(case, "id", case)
    return str(case_id)
