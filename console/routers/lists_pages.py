"""List administrators' pages (/lists): lists, entries, import/export, allow-list, history, a text try-out.

Forms post back here (CSRF token in the form) and redirect; an error re-renders
the page with the message. Reads are open to list administrators, analysts and
operators; writes to list administrators.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from console.deps import Role, ServicesDep, require
from console.routers.lists import READ_ROLES, store_for
from console.templating import render
from core.errors import QinglangError, RecordTooLarge
from detectors.lists.types import CATEGORIES, KINDS, SEVERITIES, EntryIn

router = APIRouter(prefix="/lists", include_in_schema=False)
Reader = Annotated[Any, Depends(require(*READ_ROLES))]
Admin = Annotated[Any, Depends(require(Role.LIST_ADMIN))]
PAGE = 50

KIND_LABELS = {"keyword": "关键词", "person": "人员", "title": "作品", "account": "账号", "domain": "域名", "fingerprint": "指纹"}
CATEGORY_LABELS = {
    "gambling": "赌博", "fraud": "诈骗", "pornography": "色情", "violence": "暴力", "drugs": "毒品",
    "tainted-artist": "劣迹艺人", "banned-work": "禁播作品", "illegal-account": "违规账号", "language-standard": "语言规范",
}  # fmt: skip
SEVERITY_LABELS = {"info": "提示", "low": "低", "medium": "中", "high": "高", "critical": "严重"}


def _labels() -> dict[str, Any]:
    return {"kinds": KINDS, "categories": CATEGORIES, "severities": SEVERITIES, "kind_labels": KIND_LABELS,
            "category_labels": CATEGORY_LABELS, "severity_labels": SEVERITY_LABELS,
            "option_labels": OPTION_LABELS}  # fmt: skip


def _is_admin(user: Any) -> bool:
    return bool(user and user.has(str(Role.LIST_ADMIN)))


def _segments(text: str, hits: list[Any]) -> list[tuple[str, bool]]:
    """The text cut into (piece, is_hit) so the template can highlight hits (escaped by Jinja)."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for f in sorted(hits, key=lambda f: (f.char_start, -f.char_end)):
        if f.char_start < pos:
            continue  # overlapping hits: the first one is highlighted
        out.append((text[pos : f.char_start], False))
        out.append((text[f.char_start : f.char_end], True))
        pos = f.char_end
    out.append((text[pos:], False))
    return [s for s in out if s[0]]


@router.get("")
def index(request: Request, svc: ServicesDep, user: Reader, text: str = "", error: str = "") -> Response:
    from detectors.matcher.matcher import Matcher

    store = store_for(svc)
    hits: list[Any] = []
    if text:
        hits = Matcher(store.snapshot()).match(text[:100_000])
    ctx = {"lists": store.lists(), "allows": store.allows(), "text": text, "hits": hits,
           "segments": _segments(text, hits) if text else [], "error": error, "can_edit": _is_admin(user),
           "done": request.query_params.get("done", ""), **_labels()}  # fmt: skip
    return render(request, "lists/index.html", ctx)


@router.post("")
async def create(request: Request, svc: ServicesDep, user: Admin, name: str = Form(...), kind: str = Form("keyword"),
                 category: str = Form(...), severity: str = Form("medium"), description: str = Form(""),
                 reason: str = Form("")) -> Response:  # fmt: skip
    try:
        await run_in_threadpool(lambda: store_for(svc).create_list(
            name, kind, category, severity, description=description, user=user.name, reason=reason))  # fmt: skip
    except QinglangError as exc:
        return RedirectResponse(f"/lists?error={quote(exc.message)}", status_code=303)
    return RedirectResponse(f"/lists/{quote(name)}?done=create", status_code=303)


@router.post("/allow")
async def allow(request: Request, svc: ServicesDep, user: Admin, phrase: str = Form(...), list_name: str = Form(""),
                reason: str = Form("")) -> Response:  # fmt: skip
    try:
        await run_in_threadpool(lambda: store_for(svc).add_allow(phrase, list_name or None, user=user.name, reason=reason))
    except QinglangError as exc:
        return RedirectResponse(f"/lists?error={quote(exc.message)}", status_code=303)
    return RedirectResponse("/lists?done=allow", status_code=303)


@router.get("/{name}")
def show(request: Request, name: str, svc: ServicesDep, user: Reader, q: str = "", page: int = 1,
         error: str = "") -> Response:  # fmt: skip
    store = store_for(svc)
    try:
        info = store.get_list(name)
    except QinglangError as exc:
        return render(request, "lists/index.html", {"lists": store.lists(), "allows": store.allows(), "text": "",
                      "hits": [], "segments": [], "error": exc.message, "can_edit": _is_admin(user), "done": "",
                      **_labels()}, status_code=exc.http_status)  # fmt: skip
    page = max(1, page)
    entries, total = store.entries(name, offset=(page - 1) * PAGE, limit=PAGE, q=q or None)
    ctx = {"info": info, "entries": entries, "total": total, "q": q, "page": page,
           "pages": max(1, -(-total // PAGE)), "versions": store.versions(name)[:50], "error": error,
           "done": request.query_params.get("done", ""), "can_edit": _is_admin(user), **_labels()}  # fmt: skip
    return render(request, "lists/show.html", ctx)


def _back(name: str, done: str = "", error: str = "") -> RedirectResponse:
    tail = f"?error={quote(error)}" if error else f"?done={quote(done)}"
    return RedirectResponse(f"/lists/{quote(name)}{tail}", status_code=303)


@router.post("/{name}/toggle")
async def toggle(name: str, svc: ServicesDep, user: Admin, enabled: str = Form(...), reason: str = Form("")) -> Response:
    try:
        await run_in_threadpool(lambda: store_for(svc).update_list(
            name, {"enabled": enabled == "true"}, user=user.name, reason=reason))  # fmt: skip
    except QinglangError as exc:
        return _back(name, error=exc.message)
    return _back(name, "toggle")


@router.post("/{name}/entries")
async def add_entry(name: str, svc: ServicesDep, user: Admin, term: str = Form(...), severity: str = Form(""),
                    pinyin: str = Form(""), note: str = Form(""), reason: str = Form("")) -> Response:  # fmt: skip
    item = EntryIn(term=term.strip(), severity=severity or None, pinyin=pinyin == "on", note=note)
    try:
        await run_in_threadpool(lambda: store_for(svc).upsert_entries(name, [item], user=user.name, reason=reason))
    except QinglangError as exc:
        return _back(name, error=exc.message)
    return _back(name, "entry")


@router.post("/{name}/entries/{entry_id}/toggle")
async def toggle_entry(name: str, entry_id: int, svc: ServicesDep, user: Admin, enabled: str = Form(...),
                       reason: str = Form("")) -> Response:  # fmt: skip
    try:
        await run_in_threadpool(lambda: store_for(svc).update_entry(
            entry_id, {"enabled": enabled == "true"}, user=user.name, reason=reason))  # fmt: skip
    except QinglangError as exc:
        return _back(name, error=exc.message)
    return _back(name, "entry")


@router.post("/{name}/import")
async def upload(request: Request, name: str, svc: ServicesDep, user: Admin, file: UploadFile = File(...),
                 kind: str = Form("keyword"), reason: str = Form("")) -> Response:  # fmt: skip
    from detectors.lists.io import guess_format, import_data

    store = store_for(svc)
    try:
        limit = svc.settings.max_upload_bytes
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise RecordTooLarge(f"文件超过 {limit} 字节 (file too large)", hint="use: qinglang lists import")
        info = store.get_list(name)
        report = await run_in_threadpool(lambda: import_data(
            store, name, data, fmt=guess_format(file.filename or "", None), kind=info.kind, user=user.name,
            reason=reason, source_name=file.filename or "upload"))  # fmt: skip
    except QinglangError as exc:
        return _back(name, error=exc.message)
    entries, total = store.entries(name, limit=PAGE)
    ctx = {"info": store.get_list(name), "entries": entries, "total": total, "q": "", "page": 1,
           "pages": max(1, -(-total // PAGE)), "versions": store.versions(name)[:50], "error": "", "done": "import",
           "report": report, "can_edit": True, **_labels()}  # fmt: skip
    return render(request, "lists/show.html", ctx)


OPTION_LABELS = {
    "case": "大小写 case", "width": "全角半角 width", "compat": "兼容字符 ①Ⓐ compat", "t2s": "繁简 traditional→simplified",
    "numerals": "数字写法 二贰② numerals", "repeats": "重复字 repeats", "whole_word": "英文整词 whole word",
    "pinyin": "拼音谐音(按条目) pinyin per entry",
}  # fmt: skip


@router.post("/{name}/options")
async def set_options(request: Request, name: str, svc: ServicesDep, user: Admin) -> Response:
    form = await request.form()
    options: dict[str, Any] = {k: form.get(k) == "on" for k in OPTION_LABELS}
    options["noise_gap"] = form.get("noise_gap") or "0"
    reason = str(form.get("reason") or "")
    try:
        await run_in_threadpool(lambda: store_for(svc).update_list(name, {"options": options}, user=user.name,
                                                                   reason=reason))  # fmt: skip
    except QinglangError as exc:
        return _back(name, error=exc.message)
    return _back(name, "options")
