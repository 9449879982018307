"""`qinglang lists`: negative lists (负面清单) — import, export, inspect, enable, audit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.errors import BadInput, MissingExtra, NotFound

app = typer.Typer(
    help="Negative lists: import/export plain text or CSV, inspect, enable/disable, allow-list, history.\n\n"
    "Example:\n\n    qinglang lists import words.txt --list gambling --kind keyword --category gambling",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

USER = typer.Option("cli", "--user", "-u", help="who makes the change (recorded in the history)")
REASON = typer.Option("", "--reason", "-r", help="why (recorded in the history)")


def open_store() -> Any:
    """The SQL list store of the data dir, migrated on first use."""
    from core.services import Services
    from core.settings import get_settings
    from detectors.lists.sql import SqlListStore
    from qinglang.wiring import migrate_all

    settings = get_settings()
    settings.ensure_data_dir()
    migrate_all(settings.db_url)
    return SqlListStore(Services(settings).db)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    )  # fmt: skip


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="plain text (one term a line) or CSV with a header; '-' reads stdin"),
    list_name: str = typer.Option(..., "--list", "-l", help="list name (created if needed)"),
    kind: str = typer.Option("keyword", "--kind", "-k", help="keyword, person, title, account, domain, fingerprint"),
    category: Optional[str] = typer.Option(None, "--category", "-c", help="category of a new list"),
    severity: Optional[str] = typer.Option(None, "--severity", "-s", help="default severity of a new list"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="txt or csv (default: from the file name)"),
    user: str = USER,
    reason: str = REASON,
    json_out: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Add or update a list's entries from a file; prints rejected lines with reasons.

    Plain text: one term a line. CSV: a header naming the columns term (required), category,
    severity, tags (a;b), valid_from, valid_until (ISO dates), source, note, enabled, pinyin
    (true: also match pinyin spellings and homophones). Rejected: blank lines, terms of only
    noise characters, duplicates after normalization, conflicting duplicates, invalid dates.

    Example: qinglang lists import words.csv --list gambling --kind keyword --category gambling --severity high
    """
    from detectors.lists.io import guess_format, import_data

    store = open_store()
    if kind == "fingerprint":
        _import_fingerprint(store, file, list_name, category, severity, user, reason, json_out)
        return
    if str(file) == "-":
        data = sys.stdin.buffer.read()
    elif not file.is_file():
        raise BadInput(f"file {file} does not exist", hint="check the path")
    else:
        data = file.read_bytes()
    fmt = guess_format(str(file), fmt)
    with _progress() as bar:
        parse_task = bar.add_task("读取 reading", total=None)
        save_task = bar.add_task("保存 saving", total=None, visible=False)

        def on_parse(done: int, total: int) -> None:
            bar.update(parse_task, completed=done, total=total)

        def on_save(done: int, total: int) -> None:
            bar.update(parse_task, visible=False)
            bar.update(save_task, completed=done, total=total, visible=True)

        report = import_data(
            store, list_name, data, fmt=fmt, kind=kind, category=category, severity=severity, user=user,
            reason=reason, source_name=str(file), progress=on_save, parse_progress=on_parse,
        )  # fmt: skip
    if json_out:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return
    out.print(
        f"list [bold]{report.list}[/] version {report.version}: {report.added} added, "
        f"{report.updated} updated, {report.unchanged} unchanged, {len(report.rejected)} rejected"
    )
    for r in report.rejected:
        out.print(f"  line {r.line}: {r.reason}" + (f"  {r.text}" if r.text else ""), markup=False,
                  highlight=False, soft_wrap=True)  # fmt: skip


def _import_fingerprint(store: Any, file: Path, list_name: str, category: Optional[str], severity: Optional[str],
                        user: str, reason: str, json_out: bool) -> None:  # fmt: skip
    try:
        from detectors.fingerprint.importer import import_clip
    except ImportError as exc:
        raise MissingExtra("fingerprint lists (banned clips)", "all") from exc
    from core.services import Services
    from core.settings import get_settings
    from detectors.lists.types import EntryIn

    store.ensure_list(list_name, "fingerprint", category or "banned-work", severity or "high", user=user, reason=reason)
    with _progress() as bar:
        task = bar.add_task("指纹 hashing (s)", total=None)
        summary = import_clip(Services(get_settings()), list_name, str(file), user=user,
                              progress=lambda t: bar.update(task, completed=t))  # fmt: skip
    entry = EntryIn(term=Path(str(file)).name, source=str(file), data=dict(summary))
    report = store.upsert_entries(list_name, [entry], user=user, reason=reason or f"import clip {file}")
    summary = {**summary, "version": report.version}
    if json_out:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        out.print(f"list [bold]{list_name}[/] version {report.version}: clip {file} hashed ({summary})")


@app.command("export")
def export(
    list_name: str = typer.Option(..., "--list", "-l", help="list name"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="txt or csv (default: from -o, else txt)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="file to write (default: stdout)"),
) -> None:
    """Write a list back in the import format (txt: enabled terms; csv: every entry with its fields).

    Example: qinglang lists export --list gambling --format csv -o gambling.csv
    """
    from detectors.lists.io import export_text, guess_format

    store = open_store()
    fmt = guess_format(str(output or ""), fmt)
    entries, _ = store.entries(list_name, limit=None)
    text = export_text(entries, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(entries)} entries to {output}")


@app.command("ls")
def ls(json_out: bool = typer.Option(False, "--json", help="JSON lines")) -> None:
    """Every list with its kind, category, version and size.

    Example: qinglang lists ls
    """
    lists = open_store().lists()
    if json_out:
        for i in lists:
            print(json.dumps(_list_json(i), ensure_ascii=False))
        return
    if not lists:
        err.print("no lists yet; import one: qinglang lists import words.txt --list NAME --kind keyword")
        return
    t = Table("name", "kind", "category", "severity", "enabled", "version", "entries")
    for i in lists:
        t.add_row(i.name, i.kind, i.category, i.severity, "yes" if i.enabled else "no", str(i.version), str(i.entry_count))
    out.print(t)


def _list_json(i: Any) -> dict[str, Any]:
    return {
        "id": i.id, "name": i.name, "kind": i.kind, "category": i.category, "severity": i.severity,
        "enabled": i.enabled, "version": i.version, "entries": i.entry_count, "options": i.options,
    }  # fmt: skip


@app.command("show")
def show(
    name: str = typer.Argument(..., help="list name"),
    limit: int = typer.Option(50, "--limit", "-n", help="entries to show"),
    json_out: bool = typer.Option(False, "--json", help="JSON"),
) -> None:
    """A list's settings and its first entries (tombstones marked).

    Example: qinglang lists show gambling --limit 20
    """
    store = open_store()
    info = store.get_list(name)
    entries, total = store.entries(name, limit=limit)
    if json_out:
        data = _list_json(info)
        data["entries_shown"] = [
            {"id": e.id, "term": e.term, "enabled": e.enabled, "category": e.category, "severity": e.severity,
             "pinyin": e.pinyin, "version": e.version} for e in entries
        ]  # fmt: skip
        print(json.dumps(data, ensure_ascii=False))
        return
    out.print(f"[bold]{info.name}[/] kind={info.kind} category={info.category} severity={info.severity} "
              f"enabled={info.enabled} version={info.version} entries={total}")  # fmt: skip
    out.print(f"options: {json.dumps(info.options, ensure_ascii=False)}", highlight=False)
    t = Table("id", "term", "enabled", "category", "severity", "pinyin", "version")
    for e in entries:
        t.add_row(str(e.id), e.term, "yes" if e.enabled else "no (tombstone)", e.category or "", e.severity or "",
                  "yes" if e.pinyin else "", str(e.version))  # fmt: skip
    out.print(t)
    if total > len(entries):
        out.print(f"… {total - len(entries)} more (use --limit or lists export)")


def _set_enabled(name: str, enabled: bool, user: str, reason: str) -> None:
    info = open_store().update_list(name, {"enabled": enabled}, user=user, reason=reason)
    out.print(f"list {info.name} {'enabled' if info.enabled else 'disabled'} (version {info.version})")


@app.command("enable")
def enable(name: str = typer.Argument(..., help="list name"), user: str = USER, reason: str = REASON) -> None:
    """Turn a list on: its entries match again.

    Example: qinglang lists enable gambling --reason "campaign start"
    """
    _set_enabled(name, True, user, reason)


@app.command("disable")
def disable(name: str = typer.Argument(..., help="list name"), user: str = USER, reason: str = REASON) -> None:
    """Turn a list off (nothing is deleted).

    Example: qinglang lists disable gambling --reason "under review"
    """
    _set_enabled(name, False, user, reason)


@app.command("entry-disable")
def entry_disable(
    name: str = typer.Argument(..., help="list name"),
    term: str = typer.Argument(..., help="the entry's term as written"),
    user: str = USER,
    reason: str = REASON,
) -> None:
    """Disable one entry (kept as a tombstone in the history).

    Example: qinglang lists entry-disable gambling 博彩 --reason "false positives"
    """
    entry = open_store().disable_entry(name, term, user=user, reason=reason)
    out.print(f"entry {entry.id} {entry.term!r} disabled (list version {entry.version})")


@app.command("allow")
def allow(
    phrase: str = typer.Argument(..., help="allowed phrase: suppresses any listed term inside it"),
    list_name: Optional[str] = typer.Option(None, "--list", "-l", help="only for this list (default: all lists)"),
    note: str = typer.Option("", "--note", help="note"),
    user: str = USER,
    reason: str = REASON,
) -> None:
    """Add an allowed phrase (exception), for one list or globally.

    Example: qinglang lists allow 三黄鸡 --list porn --reason "a dish, not a film"
    """
    a = open_store().add_allow(phrase, list_name, note=note, user=user, reason=reason)
    scope = f"list {list_name}" if list_name else "all lists"
    out.print(f"allowed {a.phrase!r} for {scope} (id {a.id})")


@app.command("history")
def history(
    name: Optional[str] = typer.Argument(None, help="list name (omit: global allow-list changes)"),
    json_out: bool = typer.Option(False, "--json", help="JSON lines"),
) -> None:
    """Every version of a list: who, when, why and what.

    Example: qinglang lists history gambling
    """
    store = open_store()
    if name:
        store.get_list(name)
    versions = store.versions(name)
    if json_out:
        for v in versions:
            print(json.dumps({"version": v.version, "user": v.user, "reason": v.reason, "action": v.action,
                              "detail": v.detail, "at": v.created_at.isoformat()}, ensure_ascii=False))  # fmt: skip
        return
    if not versions:
        raise NotFound("no history yet", hint="changes appear here after an import or an edit")
    t = Table("version", "when", "who", "action", "why", "what")
    for v in versions:
        t.add_row(str(v.version), v.created_at.strftime("%Y-%m-%d %H:%M:%S"), v.user, v.action, v.reason,
                  json.dumps(v.detail, ensure_ascii=False))  # fmt: skip
    out.print(t)


@app.command("set")
def set_options(
    name: str = typer.Argument(..., help="list name"),
    options: list[str] = typer.Argument(..., help="KEY=VALUE evasion options: case, width, compat, t2s, numerals, "
                                        "noise_gap, repeats, whole_word, pinyin"),  # fmt: skip
    user: str = USER,
    reason: str = REASON,
) -> None:
    """Change a list's evasion rules (each is an option per list).

    Example: qinglang lists set gambling noise_gap=2 pinyin=false --reason "fewer false positives"
    """
    store = open_store()
    current = dict(store.get_list(name).options)
    for item in options:
        key, sep, value = item.partition("=")
        if not sep:
            raise BadInput(f"option {item!r} is not KEY=VALUE", hint="e.g. noise_gap=2 or t2s=false")
        current[key.strip()] = value.strip()
    info = store.update_list(name, {"options": current}, user=user, reason=reason)
    out.print(f"list {info.name} version {info.version}: {json.dumps(info.options, ensure_ascii=False)}", highlight=False)
