"""`qinglang complaints`: register and work complaint cases from the shell.

The CLI acts as a named user (``--user`` or ``QINGLANG_USER``, default ``cli``)
holding ``--role`` roles (or ``QINGLANG_ROLES``, comma-separated; default
``admin``), and every change is audited exactly like the API's.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from core.errors import QinglangError

app = typer.Typer(
    help="Complaint cases: registration, acceptance, verification, referral, feedback.\n\n"
    "Example:\n\n    qinglang complaints add --channel hotline --category vulgar "
    "--target '某平台 某节目' --description '内容低俗' --json",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

UserOpt = typer.Option(None, "--user", help="act as this user (default $QINGLANG_USER or 'cli')")
RoleOpt = typer.Option(None, "--role", help="role(s) held (default $QINGLANG_ROLES or 'admin')")
JsonOpt = typer.Option(False, "--json", help="print JSON")


def _handle(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QinglangError as exc:
            err.print(f"[bold red]错误 error:[/] {exc.message}", soft_wrap=True)
            if exc.hint:
                err.print(f"[yellow]how to fix:[/] {exc.hint}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def _service(user: Optional[str], roles: Optional[list[str]]) -> Any:
    from complaints.service import Actor, CaseService
    from core.services import Services
    from core.settings import get_settings
    from qinglang.wiring import migrate_all

    settings = get_settings()
    settings.ensure_data_dir()
    migrate_all(settings.db_url)
    services = Services(settings)
    name = user or os.environ.get("QINGLANG_USER") or "cli"
    held = roles or [r.strip() for r in os.environ.get("QINGLANG_ROLES", "admin").split(",") if r.strip()]
    config = (settings.model_extra or {}).get("complaints") or {}
    return CaseService(services.db, services.blobs, actor=Actor(name, frozenset(held)), config=config,
                       max_upload_bytes=settings.max_upload_bytes)


def _emit(obj: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        return
    if isinstance(obj, dict) and "state" in obj:
        out.print(f"[bold]case {obj['id']}[/] {obj.get('tracking_code', '')}  state: [cyan]{obj['state']}[/]",
                  highlight=False, markup=True)
        for name, due in (obj.get("deadlines") or {}).items():
            out.print(f"  deadline {name}: {due}", highlight=False, markup=False)
        for key in ("category", "channel", "target", "description", "assignee", "outcome"):
            if obj.get(key):
                out.print(f"  {key}: {obj[key]}", highlight=False, markup=False)
        if obj.get("allowed_actions"):
            out.print(f"  next: {', '.join(obj['allowed_actions'])}", highlight=False, markup=False)
    else:
        out.print(obj, markup=False)


@app.command("add")
@_handle
def add(
    channel: str = typer.Option(..., help="web | hotline | letter | email | transfer"),
    category: str = typer.Option(..., help="e.g. vulgar, gambling, false_information, minors, other"),
    target: str = typer.Option(..., help="what the complaint is about (platform, program, URL, account)"),
    description: str = typer.Option(..., help="what the complainant reports"),
    received_at: Optional[str] = typer.Option(None, "--received-at", help="ISO-8601 time it arrived"),
    complainant: Optional[str] = typer.Option(None, help="complainant's name (personal data)"),
    contact: Optional[str] = typer.Option(None, help="phone number or email address"),
    platform: str = typer.Option("", help="platform of the target"),
    program: str = typer.Option("", help="program of the target"),
    url: str = typer.Option("", help="URL of the target"),
    account: str = typer.Option("", help="account of the target"),
    source: str = typer.Option("", help="monitored source id of the target, if known"),
    as_json: bool = JsonOpt,
    user: Optional[str] = UserOpt,
    role: Optional[list[str]] = RoleOpt,
) -> None:
    """Register a complaint; prints the case with its id, state and deadlines.

    Example: qinglang complaints add --channel hotline --category vulgar --target '某台 某节目'
    --description '节目内容低俗' --complainant 张三 --contact 13800000000 --json
    """
    from core.errors import BadInput

    person: dict[str, Any] | None = None
    if complainant or contact:
        person = {"name": complainant or ""}
        if contact:
            person["email" if "@" in contact else "phone"] = contact
    data: dict[str, Any] = dict(channel=channel, category=category, target=target, description=description,
                                target_platform=platform, target_program=program, target_url=url,
                                target_account=account, target_source_id=source, complainant=person)
    if received_at:
        from datetime import datetime

        try:
            data["received_at"] = datetime.fromisoformat(received_at)
        except ValueError as exc:
            raise BadInput(f"--received-at {received_at!r} is not an ISO-8601 time",
                           hint="e.g. --received-at 2026-10-09T09:30:00+08:00") from exc
    _emit(_service(user, role).register(**data), as_json)


@app.command("act")
@_handle
def act(
    case_id: int = typer.Argument(..., help="case id"),
    action: str = typer.Argument(..., help="accept, reject, merge, verify, refer, record-reply, conclude, "
                                 "send-feedback, close, reopen, extend, request-info, provide-info, assign, "
                                 "attach-evidence, request-monitoring, chase, confirm-receipt"),
    reason: Optional[str] = typer.Option(None, help="why (reject: out_of_scope|insufficient_information|duplicate)"),
    unit: Optional[str] = typer.Option(None, help="unit code (refer)"),
    due: Optional[str] = typer.Option(None, help="due date YYYY-MM-DD (refer)"),
    outcome: Optional[str] = typer.Option(None, help="substantiated | partly | unsubstantiated (conclude)"),
    text: Optional[str] = typer.Option(None, help="reply text, conclusion basis, feedback addition"),
    note: Optional[str] = typer.Option(None, help="referral note"),
    into: Optional[int] = typer.Option(None, help="case id to merge into (merge)"),
    days: Optional[int] = typer.Option(None, help="extension in days, at most 30 (extend)"),
    assignee: Optional[str] = typer.Option(None, "--assignee", help="user to assign (assign)"),
    kind: Optional[str] = typer.Option(None, help="hit | alert | blob (attach-evidence)"),
    ref: Optional[str] = typer.Option(None, help="hit id, alert id or blob ref (attach-evidence)"),
    source: Optional[str] = typer.Option(None, help="source id (request-monitoring)"),
    until: Optional[str] = typer.Option(None, help="ISO time monitoring runs until (request-monitoring)"),
    as_json: bool = JsonOpt,
    user: Optional[str] = UserOpt,
    role: Optional[list[str]] = RoleOpt,
) -> None:
    """Apply one workflow action; exits non-zero with the reason when it is not allowed.

    Example: qinglang complaints act 12 refer --unit nj-bureau --note '请核查' --json
    """
    if action == "refer" and note is None:
        note = text
    fields = dict(reason=reason, unit=unit, due=due, outcome=outcome, text=text, note=note, into=into,
                  days=days, user=assignee, kind=kind, ref=ref, source=source, until=until)
    _emit(_service(user, role).act(case_id, action, **fields), as_json)


@app.command("show")
@_handle
def show(case_id: int = typer.Argument(...), as_json: bool = JsonOpt, user: Optional[str] = UserOpt,
         role: Optional[list[str]] = RoleOpt) -> None:
    """Show one case with deadlines, complainants, evidence, referrals and feedback.

    Example: qinglang complaints show 12 --json
    """
    _emit(_service(user, role).show(case_id), as_json)


@app.command("ls")
@_handle
def ls(
    queue: str = typer.Option("all", help="all | mine | due-soon | overdue | escalated"),
    state: Optional[str] = typer.Option(None),
    category: Optional[str] = typer.Option(None),
    q: Optional[str] = typer.Option(None, help="search target and description"),
    limit: int = typer.Option(50),
    as_json: bool = JsonOpt,
    user: Optional[str] = UserOpt,
    role: Optional[list[str]] = RoleOpt,
) -> None:
    """List cases in a queue (JSON lines with --json).

    Example: qinglang complaints ls --queue overdue --json
    """
    rows, count = _service(user, role).list_cases(queue, state=state, category=category, q=q, limit=limit)
    if as_json:
        for row in rows:
            _emit(row, True)
        return
    table = Table("id", "state", "category", "target", "next due", "assignee", title=f"{queue}: {count}")
    for r in rows:
        table.add_row(str(r["id"]), r["state"], r["category"], r["target"][:40],
                      (r["next_due"] or "") + (" ⚠" if r["overdue"] else ""), r["assignee"])
    out.print(table)


@app.command("stats")
@_handle
def stats(csv: bool = typer.Option(False, "--csv", help="CSV instead of JSON"), user: Optional[str] = UserOpt,
          role: Optional[list[str]] = RoleOpt) -> None:
    """Statistics: by state, category, platform, channel; on-time rate; handling time.

    Example: qinglang complaints stats --csv > stats.csv
    """
    svc = _service(user, role)
    if csv:
        sys.stdout.write(svc.stats_csv())
    else:
        _emit(svc.stats(), True)


@app.command("escalate")
@_handle
def escalate(as_json: bool = JsonOpt, user: Optional[str] = UserOpt, role: Optional[list[str]] = RoleOpt) -> None:
    """Escalate every passed deadline to the supervisor (run periodically).

    Example: qinglang complaints escalate --json
    """
    for row in _service(user, role).escalate_overdue():
        _emit(row, True) if as_json else out.print(f"case {row['case_id']}: {row['deadline']} due {row['due']}")


@app.command("verify-audit")
@_handle
def verify_audit(case_id: int = typer.Argument(...), user: Optional[str] = UserOpt,
                 role: Optional[list[str]] = RoleOpt) -> None:
    """Check a case's hash-chained audit log; exits 1 when it was tampered with.

    Example: qinglang complaints verify-audit 12
    """
    report = _service(user, role).verify_audit(case_id)
    _emit(report.__dict__, True)
    if not report.ok:
        raise typer.Exit(1)


units = typer.Typer(help="The registry of units cases are referred to.\n\nExample:\n\n"
                    "    qinglang complaints units add nj-bureau 南京市广电局 --kind city_bureau")
app.add_typer(units, name="units")


@units.command("add")
@_handle
def units_add(code: str = typer.Argument(...), name: str = typer.Argument(...),
              kind: str = typer.Option("agency", help="city_bureau | county_bureau | platform | agency"),
              contact: str = typer.Option(""), as_json: bool = JsonOpt, user: Optional[str] = UserOpt,
              role: Optional[list[str]] = RoleOpt) -> None:
    """Add a unit.

    Example: qinglang complaints units add nj-bureau 南京市广电局 --kind city_bureau
    """
    _emit(_service(user, role).add_unit(code, name, kind, contact), as_json)


@units.command("ls")
@_handle
def units_ls(as_json: bool = JsonOpt, user: Optional[str] = UserOpt, role: Optional[list[str]] = RoleOpt) -> None:
    """List units.

    Example: qinglang complaints units ls --json
    """
    for u in _service(user, role).units():
        _emit(u, True) if as_json else out.print(f"{u['code']}\t{u['name']}\t{u['kind']}", markup=False)
