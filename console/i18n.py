"""Interface text: zh-CN by default, English via ``?lang=en`` or the ``qinglang_lang`` cookie.

Templates call ``t("key")``; unknown keys show the key itself (easy to spot).
"""

from __future__ import annotations

from typing import Any

LANGS = ("zh-CN", "en")
LANG_COOKIE = "qinglang_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # nav and common
    "alerts": ("告警", "Alerts"), "search": ("检索", "Search"), "complaints": ("投诉", "Complaints"),
    "lists": ("清单", "Lists"), "wall": ("信源墙", "Source wall"), "reports": ("报表", "Reports"),
    "users": ("用户", "Users"), "sign_in": ("登录", "Sign in"), "sign_out": ("退出", "Sign out"),
    "username": ("账号", "Account"), "password": ("密码", "Password"), "filter": ("筛选", "Filter"),
    "all": ("全部", "All"), "state": ("状态", "State"), "severity": ("级别", "Severity"),
    "source": ("信源", "Source"), "detector": ("检测器", "Detector"), "list": ("清单", "List"),
    "category": ("类别", "Category"), "platform": ("平台", "Platform"), "origin": ("来源类型", "Origin"),
    "term": ("命中词", "Term"), "count": ("次数", "Count"), "first_seen": ("首次", "First seen"),
    "last_seen": ("最近", "Last seen"), "time": ("时间", "Time"), "timecode": ("时间码", "Timecode"),
    "actions": ("操作", "Actions"), "none": ("无", "None"), "total": ("合计", "Total"),
    "since": ("起始", "From"), "until": ("截止", "To"), "query": ("关键词", "Query"),
    "save": ("保存", "Save"), "delete": ("删除", "Delete"), "name": ("名称", "Name"),
    "roles": ("角色", "Roles"), "disabled": ("已停用", "Disabled"), "enabled": ("启用", "Enabled"),
    "create": ("新建", "Create"), "back": ("返回", "Back"), "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"), "reason": ("原因", "Reason"), "error": ("出错了", "Something went wrong"),
    "how_to_fix": ("处理办法", "How to fix"), "no_results": ("没有结果", "No results"),
    # alerts
    "live": ("实时", "Live"), "sound": ("声音提示", "Sound"), "acknowledge": ("确认", "Acknowledge"),
    "escalate": ("上报", "Escalate"), "dismiss": ("误报排除", "Dismiss"), "open_case": ("立案", "Open case"),
    "link": ("关联案件", "Link case"), "case": ("案件", "Case"),
    "shortcuts": ("快捷键：j/k 上下移动，Enter 打开，a 确认，e 上报，d 排除",
                  "Keys: j/k move, Enter open, a acknowledge, e escalate, d dismiss"),
    "evidence": ("证据", "Evidence"), "frame": ("画面", "Frame"), "clip": ("音视频片段", "Clip"),
    "transcript": ("文本", "Text"), "matched_entry": ("命中清单条目", "Matched list entry"),
    "version": ("版本", "Version"), "earlier_alerts": ("该信源的历史告警", "Earlier alerts of this source"),
    "history": ("处置记录", "History"), "hits": ("命中", "Hits"), "confidence": ("置信度", "Confidence"),
    "dismiss_reason_prompt": ("请填写排除原因", "Why is this a false alarm?"),
    "state_new": ("新告警", "New"), "state_acknowledged": ("已确认", "Acknowledged"),
    "state_escalated": ("已上报", "Escalated"), "state_dismissed": ("已排除", "Dismissed"),
    "state_linked": ("已立案", "Linked"),
    "sev_info": ("提示", "Info"), "sev_low": ("低", "Low"), "sev_medium": ("中", "Medium"),
    "sev_high": ("高", "High"), "sev_critical": ("紧急", "Critical"),
    # search and reports
    "export_csv": ("导出 CSV", "Export CSV"), "saved_searches": ("已保存的检索", "Saved searches"),
    "save_search": ("保存检索", "Save search"), "per_day": ("每日命中", "Hits per day"),
    "facets": ("分面统计", "Facets"), "results": ("结果", "Results"), "share_hint": (
        "地址栏即可分享本次检索", "The address bar holds this search: share it"),
    "trends": ("趋势", "Trends"), "top_terms": ("高频命中词", "Top terms"),
    "weekly_report": ("周报", "Weekly report"), "print": ("打印", "Print"),
    "precision": ("清单条目准确率", "Precision per list entry"), "dismissed": ("排除", "Dismissed"),
    "by_platform": ("按平台", "By platform"), "by_category": ("按类别", "By category"),
    "by_day": ("按日", "By day"), "by_state": ("按处置状态", "By state"),
    "health": ("状态", "Health"), "healthy": ("正常", "OK"), "silent": ("无信号", "Silent"),
    "problem": ("异常", "Problem"), "no_frame": ("暂无画面", "No frame yet"),
    "exporting": ("正在导出", "Exporting"), "rows": ("行", "rows"),
    "err_401": ("请先登录", "Please sign in"), "err_403": ("无权访问", "Not allowed"),
    "err_404": ("未找到", "Not found"), "err_409": ("当前状态不允许此操作", "Not allowed in this state"),
    "err_413": ("提交的内容过大", "Too large"), "err_422": ("输入有误", "Invalid input"),
    "err_429": ("尝试次数过多", "Too many attempts"), "err_500": ("系统内部错误", "Internal error"),
    "err_501": ("功能未安装", "Not available"), "err_503": ("后端服务不可用", "Service unavailable"),
    "login_title": ("清朗 · 监测与投诉处置平台", "Qinglang · monitoring and complaint handling"),
}


def normalize(lang: str | None) -> str | None:
    if not lang:
        return None
    low = lang.strip().lower()
    if low.startswith("en"):
        return "en"
    if low.startswith("zh"):
        return "zh-CN"
    return None


def t(key: str, lang: str = "zh-CN", **kw: Any) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**kw) if kw else text


def resolve(query_lang: str | None, cookie_lang: str | None, default: str = "zh-CN") -> str:
    return normalize(query_lang) or normalize(cookie_lang) or normalize(default) or "zh-CN"
