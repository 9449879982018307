"""Import a register of licensed platforms from CSV.

Header (first line): ``kind,name,operator,licence,locator,tags`` and optionally
``id``, ``schedule``, ``enabled``, ``language``, ``profile`` / ``options``
(JSON objects) and single profile fields (``frames_per_second``,
``keyframe_interval``, ``audio_chunk_seconds``, ``audio_overlap_seconds``,
``recrawl_seconds``, ``silent_after_seconds``). Tags are separated by ``;``,
``,`` or ``|``. UTF-8 (with or without BOM) or GB18030 (Excel in Chinese).

Every good row is imported (an existing source with the same id, or the same
kind and locator, is updated); every bad row is reported with its line number
and nothing of it is written.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BadInput, QinglangError
from core.events import SamplingProfile
from ingest.registry import SourceRegistry, validate_fields

REQUIRED = ("kind", "name", "locator")
KNOWN = {"id", "kind", "name", "operator", "licence", "license", "locator", "tags", "schedule", "enabled",
         "language", "profile", "options"} | set(SamplingProfile.model_fields)
_TRUE = {"1", "true", "yes", "y", "on", "是", "启用"}
_FALSE = {"0", "false", "no", "n", "off", "否", "停用", "禁用"}


@dataclass
class ImportResult:
    imported: list[str] = field(default_factory=list)  # source ids
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}", hint="check the file name") from exc
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise BadInput(f"{path} is neither UTF-8 nor GB18030", hint="save the register as UTF-8 CSV")


def row_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Source fields of one CSV row (BadInput naming what is wrong)."""
    row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
    out: dict[str, Any] = {k: row[k] for k in ("id", "kind", "name", "operator", "locator", "tags", "schedule",
                                               "language") if row.get(k)}
    if row.get("licence") or row.get("license"):
        out["licence"] = row.get("licence") or row.get("license")
    if row.get("enabled"):
        flag = row["enabled"].lower()
        if flag not in _TRUE | _FALSE:
            raise BadInput(f"enabled must be yes or no, not {row['enabled']!r}", hint="use yes/no")
        out["enabled"] = flag in _TRUE
    for key in ("profile", "options"):
        if row.get(key):
            try:
                value = json.loads(row[key])
            except ValueError as exc:
                raise BadInput(f"{key} is not valid JSON ({exc})", hint=f'write {key} as a JSON object') from exc
            if not isinstance(value, dict):
                raise BadInput(f"{key} must be a JSON object", hint='e.g. {"depth": 2}')
            out[key] = value
    profile = dict(out.get("profile", {}))
    for name in SamplingProfile.model_fields:
        if row.get(name):
            try:
                profile[name] = float(row[name])
            except ValueError as exc:
                raise BadInput(f"{name} must be a number, not {row[name]!r}", hint="e.g. 1 or 0.5") from exc
    if profile:
        out["profile"] = profile
    missing = [k for k in REQUIRED if not out.get(k)]
    if missing:
        raise BadInput(f"missing {', '.join(missing)}", hint="kind, name and locator are required")
    validate_fields(out)
    return out


def import_csv(registry: SourceRegistry, path: Path | str) -> ImportResult:
    path = Path(path)
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [k for k in REQUIRED if k not in header]
    if missing:
        raise BadInput(
            f"{path}: the header lacks {', '.join(missing)} (found: {', '.join(header) or 'nothing'})",
            hint="the first line must be: kind,name,operator,licence,locator,tags",
        )
    unknown = [h for h in header if h and h not in KNOWN]
    result = ImportResult()
    if unknown:
        result.errors.append((1, f"unknown columns ignored: {', '.join(unknown)}"))
    for row in reader:
        line_no = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            result.errors.append((line_no, "more fields than the header has"))
            continue
        try:
            fields = row_fields(row)
            saved = registry.add(upsert=True, **fields)
        except QinglangError as exc:
            result.errors.append((line_no, exc.message))
            continue
        result.imported.append(saved["id"])
    return result
