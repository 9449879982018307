"""Pages for the source registry (/sources): the register with health, create/edit forms, CSV import, boosts.

Reads are open to the roles that read ``/api/sources`` (operators, analysts,
supervisors); changes to administrators; supervisors may also raise a source's
sampling for a while (a boost, e.g. targeted monitoring asked for by a
complaint). Forms post back here with the CSRF token in a hidden field; an error
re-renders the form with the message and hint next to it.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from console import i18n
from console.deps import Role, ServicesDep, require
from console.routers.sources import AdminDep, ReaderDep, registry
from console.templating import DISPLAY_TZ, render
from core.alerts import AlertStore
from core.errors import BadInput, QinglangError, RecordTooLarge
from core.events import SamplingProfile, SourceKind, utcnow
from ingest.csvimport import import_csv
from ingest.registry import BoostRow, SourceRow

router = APIRouter(prefix="/sources", include_in_schema=False)
BoosterDep = Annotated[Any, Depends(require(Role.SUPERVISOR))]  # administrators hold every role
PAGE = 100
KINDS = [k.value for k in SourceKind]
PROFILE_FIELDS = list(SamplingProfile.model_fields)
TEXT_FIELDS = ("id", "kind", "name", "operator", "licence", "locator", "tags", "schedule", "language", "options")
HEALTH_STATES = ("idle", "ok", "running", "error", "lost", "silent")

MESSAGES: dict[str, tuple[str, str]] = {
    "src_title": ("信源", "Sources"), "src_new": ("新建信源", "New source"), "src_edit": ("编辑信源", "Edit source"),
    "src_id": ("编号", "Id"), "src_kind": ("类型", "Kind"), "src_name": ("名称", "Name"),
    "src_operator": ("运营单位", "Operator"), "src_licence": ("许可证号", "Licence no."),
    "src_locator": ("地址", "Locator"), "src_tags": ("标签", "Tags"), "src_schedule": ("调度", "Schedule"),
    "src_language": ("语言", "Language"), "src_enabled": ("启用", "Enabled"), "src_options": ("插件选项 (JSON)", "Plugin options (JSON)"),
    "src_profile": ("采样参数", "Sampling profile"), "src_effective": ("当前生效（含加密）", "In effect (with boosts)"),
    "frames_per_second": ("每秒帧数（技术检测）", "Frames per second (technical checks)"),
    "keyframe_interval": ("关键帧间隔 秒（OCR/指纹）", "Keyframe interval, s (OCR, fingerprints)"),
    "audio_chunk_seconds": ("音频分段 秒", "Audio chunk, s"), "audio_overlap_seconds": ("音频重叠 秒", "Audio overlap, s"),
    "recrawl_seconds": ("重抓间隔 秒", "Recrawl interval, s"), "silent_after_seconds": ("无信号判定 秒", "Silent after, s"),
    "src_health": ("运行状态", "Health"), "src_last_sample": ("最近采样", "Last sample"),
    "src_last_run": ("最近运行", "Last run"), "src_samples": ("采样数", "Samples"), "src_errors": ("错误数", "Errors"),
    "src_last_error": ("最近错误", "Last error"), "src_yes": ("是", "yes"), "src_no": ("否", "no"),
    "h_idle": ("空闲", "Idle"), "h_ok": ("正常", "OK"), "h_running": ("运行中", "Running"), "h_error": ("出错", "Error"),
    "h_lost": ("信号丢失", "Signal lost"), "h_silent": ("无信号", "Silent"),
    "kind_website": ("网站", "Website"), "kind_app": ("应用", "App"), "kind_iptv": ("IPTV", "IPTV"),
    "kind_ott": ("OTT", "OTT"), "kind_comments": ("评论/弹幕", "Comments"), "kind_file": ("文件", "File"),
    "src_import": ("导入许可平台名录 (CSV)", "Import a register of licensed platforms (CSV)"),
    "src_import_hint": ("首行：kind,name,operator,licence,locator,tags；可选 id、schedule、enabled、language 及采样参数列。"
                        "同一类型与地址的信源会被更新。",
                        "First line: kind,name,operator,licence,locator,tags; optional id, schedule, enabled, language "
                        "and sampling columns. A source with the same kind and locator is updated."),
    "src_upload": ("上传并导入", "Upload and import"), "src_imported": ("已导入 {n} 个信源", "{n} sources imported"),
    "src_rejected": ("拒绝 {n} 行（未写入）", "{n} rows rejected (nothing of them written)"), "src_line": ("行号", "Line"),
    "src_boosts": ("加密采样（定向监看）", "Sampling boosts (targeted monitoring)"),
    "src_factor": ("倍数", "Factor"), "src_until": ("截止（北京时间）", "Until (Beijing time)"),
    "src_scope": ("范围", "Scope"), "src_boost": ("加密采样", "Boost"), "src_no_boosts": ("当前无加密采样", "No active boost"),
    "src_latest_alerts": ("该信源最近告警", "Latest alerts of this source"),
    "src_enable": ("启用", "Enable"), "src_disable": ("停用", "Disable"), "src_delete": ("删除信源", "Delete source"),
    "src_delete_confirm": ("删除后其运行状态与加密记录一并清除。", "Its health and boosts are removed with it."),
    "src_saved": ("已保存", "Saved"), "src_none": ("没有信源", "No sources"),
    "src_schedule_hint": ("留空为自动；continuous、once、manual 或间隔，如 900、15m、2h",
                          "empty = automatic; continuous, once, manual or an interval such as 900, 15m, 2h"),
    "src_tags_hint": ("逗号分隔，如 jiangsu-related, key-drama, children", "comma separated, e.g. jiangsu-related, key-drama"),
    "src_id_hint": ("留空则按类型与地址生成", "empty: derived from kind and locator"),
    "src_fix": ("请修改后重新提交", "fix it and submit again"), "src_wall": ("信源墙", "Source wall"),
}
for _key, _pair in MESSAGES.items():
    i18n.MESSAGES.setdefault(_key, _pair)


def _err(exc: QinglangError) -> dict[str, str]:
    return {"message": exc.message, "hint": exc.hint}


def _field_of(message: str) -> str:
    """The form field a registry message is about (so the page can show it next to that field)."""
    low = message.lower()
    for name in (*PROFILE_FIELDS, "kind", "schedule", "locator", "name", "options", "profile", "tags", "id"):
        if re.search(rf"\b{name}\b", low):
            return "profile" if name in PROFILE_FIELDS else name
    return ""


def _is(user: Any, *roles: Role) -> bool:
    return bool(user) and user.has(*[str(r) for r in roles])


# -- the register -------------------------------------------------------------------

def _list_page(request: Request, svc: Any, user: Any, *, kind: str = "", tag: str = "", enabled: str = "",
               page: int = 1, report: dict[str, Any] | None = None, error: dict[str, str] | None = None,
               status: int = 200) -> Response:
    reg = registry(svc)
    flag = {"true": True, "false": False}.get(enabled)
    page = max(1, page)
    rows, total = reg.list(enabled=flag, kind=kind if kind in KINDS else None, tag=tag or None,
                           offset=(page - 1) * PAGE, limit=PAGE)
    health = reg.health()
    with svc.db.session() as s:
        all_tags = sorted({t for tags in s.scalars(sa.select(SourceRow.tags)) for t in (tags or [])})
    filters = {"kind": kind, "tag": tag, "enabled": enabled}
    qs = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "sources/list.html", {
        "rows": rows, "health": health, "total": total, "page": page, "pages": max(1, (total + PAGE - 1) // PAGE),
        "filters": filters, "qs": qs, "kinds": KINDS, "all_tags": all_tags, "report": report, "error": error,
        "can_edit": _is(user, Role.ADMIN), "max_upload": int(svc.settings.max_upload_bytes),
        "done": request.query_params.get("done", ""),
    }, status_code=status)


@router.get("")
def list_page(request: Request, svc: ServicesDep, user: ReaderDep, kind: str = "", tag: str = "",
              enabled: str = "", page: int = 1) -> Response:
    return _list_page(request, svc, user, kind=kind, tag=tag, enabled=enabled, page=page)


def _read_upload(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise RecordTooLarge(f"the file is larger than {limit // (1024 * 1024) or 1} MiB",
                             hint="split the register into smaller files")
    if not data.strip():
        raise BadInput("the uploaded file is empty", hint="choose the CSV file of the register")
    return data


@router.post("/import")
def import_page(request: Request, svc: ServicesDep, user: AdminDep, file: UploadFile = File(...)) -> Response:
    filename = Path(file.filename or "register.csv").name or "register.csv"
    try:
        data = _read_upload(file, int(svc.settings.max_upload_bytes))
        with tempfile.TemporaryDirectory(prefix="qinglang-import-") as tmp:
            path = Path(tmp) / "register.csv"
            path.write_bytes(data)
            try:
                result = import_csv(registry(svc), path)
            except QinglangError as exc:
                exc.message = exc.message.replace(str(path), filename)
                raise
    except QinglangError as exc:
        return _list_page(request, svc, user, error=_err(exc), status=exc.http_status)
    report = {"filename": filename, "imported": result.imported,
              "errors": [{"line": line, "reason": reason} for line, reason in result.errors]}
    return _list_page(request, svc, user, report=report)


# -- create and edit ----------------------------------------------------------------

def _number(form: dict[str, str], name: str, errors: dict[str, str]) -> float | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        errors[name] = f"{name} must be a number, not {raw!r}"
        return None
    if not value > 0 and not (name == "audio_overlap_seconds" and value == 0):
        errors[name] = f"{name} must be positive"
    return value


def _fields(form: dict[str, str], *, creating: bool) -> dict[str, Any]:
    """Source fields from the form, or BadInput listing each bad field (the page shows them)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {k: form.get(k, "").strip() for k in TEXT_FIELDS if k != "options"}
    if not creating or not out["id"]:
        out.pop("id")
    elif len(out["id"]) > 64 or not re.fullmatch(r"[\w.:-]+", out["id"]):
        errors["id"] = "id may have at most 64 letters, digits, '.', ':', '_' or '-'"
    out["language"] = out["language"] or "zh"
    profile = {}
    for name in PROFILE_FIELDS:
        value = _number(form, name, errors)
        profile[name] = SamplingProfile.model_fields[name].default if value is None else value
    out["profile"] = profile
    raw = form.get("options", "").strip()
    if raw:
        try:
            out["options"] = json.loads(raw)
        except ValueError as exc:
            errors["options"] = f"options are not valid JSON ({exc})"
        else:
            if not isinstance(out["options"], dict):
                errors["options"] = "options must be a JSON object"
    elif not creating:
        out["options"] = {}
    if creating:
        out["enabled"] = form.get("enabled", "") in ("on", "true", "1")
    if errors:
        err = BadInput("; ".join(errors.values()), hint="correct the marked fields")
        err.fields = errors  # type: ignore[attr-defined]
        raise err
    return out


def _form_values(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"kind": "website", "language": "zh", "enabled": True, "schedule": "",
                **SamplingProfile().model_dump()}
    values = {k: row.get(k, "") for k in TEXT_FIELDS if k not in ("tags", "options")}
    values.update(row.get("profile") or {}, tags=", ".join(row.get("tags") or []), enabled=row.get("enabled"),
                  options=json.dumps(row["options"], ensure_ascii=False, indent=1) if row.get("options") else "")
    return values


def _form_page(request: Request, *, source_id: str | None, values: dict[str, Any],
               exc: QinglangError | None = None) -> Response:
    fields: dict[str, str] = dict(getattr(exc, "fields", {}) or {})
    if exc is not None and not fields:
        where = _field_of(exc.message)
        if where:
            fields[where] = exc.message
    return render(request, "sources/form.html", {
        "source_id": source_id, "values": values, "kinds": KINDS, "profile_fields": PROFILE_FIELDS,
        "error": _err(exc) if exc else None, "field_errors": fields,
    }, status_code=exc.http_status if exc else 200)


async def _form_dict(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v)[:4000] for k, v in form.items() if isinstance(v, str)}


@router.get("/new")
def new_form(request: Request, user: AdminDep) -> Response:
    return _form_page(request, source_id=None, values=_form_values(None))


@router.post("/new")
async def create(request: Request, svc: ServicesDep, user: AdminDep) -> Response:
    form = await _form_dict(request)
    try:
        fields = _fields(form, creating=True)
        row = await run_in_threadpool(lambda: registry(svc).add(**fields))
    except QinglangError as exc:
        return _form_page(request, source_id=None, values={**form, "enabled": "enabled" in form}, exc=exc)
    return RedirectResponse(f"/sources/{quote(row['id'], safe='')}?done=create", status_code=303)


@router.get("/{source_id}/edit")
def edit_form(request: Request, source_id: str, svc: ServicesDep, user: AdminDep) -> Response:
    row = registry(svc).get(source_id)
    return _form_page(request, source_id=source_id, values=_form_values(row))


@router.post("/{source_id}/edit")
async def update(request: Request, source_id: str, svc: ServicesDep, user: AdminDep) -> Response:
    reg = registry(svc)
    current = await run_in_threadpool(reg.get, source_id)
    form = await _form_dict(request)
    try:
        fields = _fields(form, creating=False)
        await run_in_threadpool(lambda: reg.update(source_id, **fields))
    except QinglangError as exc:
        return _form_page(request, source_id=source_id, values={**form, "enabled": current["enabled"]}, exc=exc)
    return RedirectResponse(f"/sources/{quote(source_id, safe='')}?done=edit", status_code=303)


# -- one source ---------------------------------------------------------------------

def _boosts(svc: Any, source: dict[str, Any]) -> list[dict[str, Any]]:
    now = utcnow()
    with svc.db.session() as s:
        q = sa.select(BoostRow).where(sa.or_(BoostRow.source_id == source["id"],
                                             BoostRow.tag.in_(list(source.get("tags") or []) or [""])))
        out = []
        for b in s.scalars(q.order_by(BoostRow.until.desc())):
            until = b.until if b.until.tzinfo else b.until.replace(tzinfo=now.tzinfo)
            if until > now:
                out.append({"id": b.id, "factor": b.factor, "until": until, "reason": b.reason or "",
                            "scope": f"#{b.tag}" if b.tag else source["id"]})
        return out


def _detail_page(request: Request, svc: Any, user: Any, source_id: str, *, error: dict[str, str] | None = None,
                 boost_values: dict[str, str] | None = None, status: int = 200) -> Response:
    reg = registry(svc)
    row = reg.get(source_id)
    effective = reg.effective(reg.source(source_id)).profile.model_dump()
    alerts, alert_count = AlertStore(svc.db).list(source=source_id, limit=20)
    return render(request, "sources/detail.html", {
        "s": row, "health": reg.health(source_id), "boosts": _boosts(svc, row), "effective": effective,
        "profile_fields": PROFILE_FIELDS, "alerts": alerts, "alert_count": alert_count,
        "can_edit": _is(user, Role.ADMIN), "can_boost": _is(user, Role.SUPERVISOR), "error": error,
        "boost_values": boost_values or {"factor": "2", "until": "", "reason": ""},
        "done": request.query_params.get("done", ""),
    }, status_code=status)


@router.get("/{source_id}")
def detail(request: Request, source_id: str, svc: ServicesDep, user: ReaderDep) -> Response:
    return _detail_page(request, svc, user, source_id)


@router.post("/{source_id}/enabled")
async def set_enabled(request: Request, source_id: str, svc: ServicesDep, user: AdminDep) -> Response:
    form = await _form_dict(request)
    flag = form.get("enabled", "") == "true"
    await run_in_threadpool(registry(svc).set_enabled, source_id, flag)
    return RedirectResponse(f"/sources/{quote(source_id, safe='')}?done={'enable' if flag else 'disable'}",
                            status_code=303)


@router.post("/{source_id}/delete")
async def delete(request: Request, source_id: str, svc: ServicesDep, user: AdminDep) -> Response:
    await run_in_threadpool(registry(svc).delete, source_id)
    return RedirectResponse("/sources?done=delete", status_code=303)


def parse_until(raw: str) -> datetime:
    """A boost end time: ISO-8601; without an offset it is Beijing time (the console's clock)."""
    text = raw.strip()
    if not text:
        raise BadInput("a boost needs an end time", hint="pick the date and time the boost ends")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(f"end time {text!r} is not a date and time", hint="e.g. 2026-10-09T18:00") from exc
    return value if value.tzinfo else value.replace(tzinfo=DISPLAY_TZ)


@router.post("/{source_id}/boosts")
async def boost(request: Request, source_id: str, svc: ServicesDep, user: BoosterDep) -> Response:
    form = await _form_dict(request)
    values = {k: form.get(k, "") for k in ("factor", "until", "reason")}
    try:
        try:
            factor = float(values["factor"])
        except ValueError as exc:
            raise BadInput(f"factor must be a number, not {values['factor']!r}", hint="e.g. 2 for twice") from exc
        if not 0 < factor <= 100:
            raise BadInput(f"factor {factor:g} is out of range", hint="use a number above 0 and at most 100")
        until = parse_until(values["until"])
        reason = values["reason"].strip()[:2000]
        await run_in_threadpool(lambda: registry(svc).boost(source_id, factor, until, reason))
    except QinglangError as exc:
        if exc.http_status == 404:
            raise
        error, code = _err(exc), exc.http_status
        return await run_in_threadpool(lambda: _detail_page(request, svc, user, source_id, error=error,
                                                            boost_values=values, status=code))
    return RedirectResponse(f"/sources/{quote(source_id, safe='')}?done=boost", status_code=303)
