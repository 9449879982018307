"""Import and export of lists: plain text (one term a line) and CSV with a header.

Every rejected line is reported with its line number and reason: blank, only
noise characters, duplicate (same normalized term as an earlier line),
conflicting duplicate (same term, other category or severity), invalid date,
invalid value. Duplicates are judged after normalization with the list's own
options, so 賭博 and 赌博 are the same entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from core.errors import BadInput
from detectors.lists.store import ListStore, Progress, parse_when
from detectors.lists.types import EntryIn, ImportReport, Rejected, check_category, check_severity

FORMATS = ("txt", "csv")
CSV_COLUMNS = ("term", "category", "severity", "tags", "valid_from", "valid_until", "source", "note", "enabled", "pinyin")
_TRUE = {"true", "1", "yes", "y", "on", "是"}
_FALSE = {"false", "0", "no", "n", "off", "否"}
MAX_TERM = 500


def decode(data: bytes, name: str = "input") -> str:
    """UTF-8 (with or without BOM) or a BadInput that says where it broke."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(
            f"{name} is not valid UTF-8 (byte {exc.start}, line {line})",
            hint="save it as UTF-8, e.g.: iconv -f GB18030 -t UTF-8 old.txt > new.txt",
        ) from exc


def guess_format(filename: str, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise BadInput(f"unknown format {fmt!r}", hint="use txt or csv")
        return fmt
    return "csv" if filename.lower().endswith(".csv") else "txt"


Keys = Callable[[list[str]], list[str]]  # terms -> normalized keys, in one batch


class _Checker:
    """Rejects blanks, noise-only terms and duplicates (by normalized key)."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.items: list[EntryIn] = []
        self.rejected: list[Rejected] = []
        self.entries: list[EntryIn] = []

    def add(self, item: EntryIn) -> None:
        if len(item.term) > MAX_TERM:
            self.rejected.append(Rejected(item.line or 0, f"term longer than {MAX_TERM} characters", item.term[:40] + "…"))
        else:
            self.items.append(item)

    def finish(self) -> tuple[list[EntryIn], list[Rejected]]:
        seen: dict[str, EntryIn] = {}
        for item, k in zip(self.items, self.keys([i.term for i in self.items]), strict=True):
            line, term = item.line or 0, item.term
            if not k:
                self.rejected.append(Rejected(line, "only noise characters (spaces, punctuation, symbols)", term))
                continue
            p = seen.get(k)
            if p is None:
                seen[k] = item
                self.entries.append(item)
                continue
            same_term = "" if p.term == term else f" ({p.term} and {term} are both {k} after normalization)"
            if (p.category, p.severity) != (item.category, item.severity):
                why = (
                    f"conflicting duplicate of line {p.line}{same_term}: category/severity "
                    f"{item.category or '-'}/{item.severity or '-'} vs {p.category or '-'}/{p.severity or '-'}"
                )
            else:
                why = f"duplicate of line {p.line}{same_term}"
            self.rejected.append(Rejected(line, why, term))
        return self.entries, self.rejected


def parse_txt(text: str, keys: Keys, progress: Progress | None = None) -> tuple[list[EntryIn], list[Rejected]]:
    chk = _Checker(keys)
    lines = text.splitlines()
    for n, raw in enumerate(lines, 1):
        term = raw.strip()
        if not term:
            chk.rejected.append(Rejected(n, "blank line"))
        else:
            chk.add(EntryIn(term, line=n))
        if progress and n % 10000 == 0:
            progress(n, len(lines))
    return chk.finish()


def _bool(value: str, column: str) -> bool | None:
    v = value.strip().lower()
    if not v:
        return None
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"invalid {column} value {value!r} (use true/false)")


def parse_csv(text: str, keys: Keys, progress: Progress | None = None) -> tuple[list[EntryIn], list[Rejected]]:
    chk = _Checker(keys)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "term" not in header:
        raise BadInput(
            "the CSV file has no 'term' column in its header",
            hint=f"the first line must name the columns, e.g.: {','.join(CSV_COLUMNS)}",
        )
    reader.fieldnames = header
    total = text.count("\n") + 1
    for n, row in enumerate(reader, 1):
        line = reader.line_num
        if None in row:
            chk.rejected.append(Rejected(line, "more fields than columns in the header"))
            continue
        term = (row.get("term") or "").strip()
        if not term and not any((v or "").strip() for v in row.values()):
            chk.rejected.append(Rejected(line, "blank line"))
            continue
        if not term:
            chk.rejected.append(Rejected(line, "empty term"))
            continue
        try:
            item = _row_entry(row, term, line)
        except (ValueError, BadInput) as exc:
            chk.rejected.append(Rejected(line, getattr(exc, "message", None) or str(exc), term))
            continue
        chk.add(item)
        if progress and n % 10000 == 0:
            progress(line, total)
    return chk.finish()


def _row_entry(row: dict[str, Any], term: str, line: int) -> EntryIn:
    def get(c: str) -> str:
        return (row.get(c) or "").strip()

    dates: dict[str, datetime | None] = {}
    for c in ("valid_from", "valid_until"):
        try:
            dates[c] = parse_when(get(c))
        except BadInput as exc:
            raise ValueError(f"invalid date in {c}: {get(c)!r}") from exc
    if dates["valid_from"] and dates["valid_until"] and dates["valid_until"] <= dates["valid_from"]:
        raise ValueError("valid_until is not after valid_from")
    enabled = _bool(get("enabled"), "enabled")
    pinyin = _bool(get("pinyin"), "pinyin")
    tags = [t.strip() for t in get("tags").replace("|", ";").split(";") if t.strip()]
    return EntryIn(
        term=term,
        category=check_category(get("category")) if get("category") else None,
        severity=check_severity(get("severity")) if get("severity") else None,
        tags=tags,
        valid_from=dates["valid_from"],
        valid_until=dates["valid_until"],
        source=get("source"),
        note=get("note"),
        enabled=True if enabled is None else enabled,
        pinyin=bool(pinyin),
        line=line,
    )


def import_data(
    store: ListStore, list_name: str, data: bytes, *, fmt: str = "txt", kind: str = "keyword",
    category: str | None = None, severity: str | None = None, user: str = "", reason: str = "",
    source_name: str = "input", progress: Progress | None = None, parse_progress: Progress | None = None,
) -> ImportReport:  # fmt: skip
    """Create the list if needed, parse ``data`` and add/update its entries in one version."""
    from detectors.matcher.normalize import Options, normalize_terms, table_for

    text = decode(data, source_name)
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}", hint="use txt or csv")
    info = store.ensure_list(list_name, kind, category, severity, user=user, reason=reason or "import")
    table = table_for(Options.from_dict(info.options).profile())
    parse = parse_csv if fmt == "csv" else parse_txt
    entries, rejected = parse(text, lambda ts: normalize_terms(ts, table), parse_progress)
    if not entries and not rejected:
        raise BadInput(f"{source_name} holds no entries", hint="put one term per line (txt) or a header and rows (csv)")
    report = store.upsert_entries(list_name, entries, user=user, reason=reason or f"import {source_name}", progress=progress)
    report.rejected = sorted(rejected, key=lambda r: r.line)
    return report


def export_text(entries: Iterable[Any], fmt: str) -> str:
    """The list's entries in the import format (txt: enabled terms; csv: every entry, tombstones too)."""
    if fmt == "txt":
        return "".join(f"{e.term}\n" for e in entries if e.enabled)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in entries:
        w.writerow([
            e.term, e.category or "", e.severity or "", ";".join(e.tags),
            e.valid_from.isoformat() if e.valid_from else "", e.valid_until.isoformat() if e.valid_until else "",
            e.source, e.note, "true" if e.enabled else "false", "true" if e.pinyin else "false",
        ])  # fmt: skip
    return buf.getvalue()
