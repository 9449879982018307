"""`qinglang scan`: every enabled media detector over one file or stream."""

from __future__ import annotations

import json
import logging
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import QinglangError

err = Console(stderr=True)
log = logging.getLogger(__name__)


def _matcher(settings: Any) -> tuple[Any, list[str]]:
    """The enabled negative lists of the data dir as a matcher and ASR hotwords; (None, []) when unavailable."""
    try:
        from detectors.lists.live import LiveMatcher
        from detectors.lists.store import SqlListStore
    except ImportError:
        err.print("note: negative-list matcher not available; keyword findings skipped")
        return None, []
    from core.services import Services
    from qinglang.wiring import migrate_all

    try:
        migrate_all(settings.db_url)
        live = LiveMatcher(SqlListStore(Services(settings).db))
        return live.current(), live.hotwords()
    except QinglangError as exc:
        err.print(f"note: negative lists not loaded ({exc.message}); keyword findings skipped")
        return None, []


def _fingerprints(settings: Any) -> Any:
    from core.services import Services
    from detectors.fingerprint.store import FingerprintStore
    from qinglang.wiring import migrate_all

    try:
        migrate_all(settings.db_url)
        index = FingerprintStore(Services(settings).db).load_index()
    except QinglangError as exc:
        err.print(f"note: fingerprint lists not loaded ({exc.message})")
        return None
    return index if len(index) else None


def scan(
    target: str = typer.Argument(..., metavar="FILE_OR_URL", help="media file path or stream URL"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object per finding"),
    only: Optional[str] = typer.Option(
        None, "--only", help="comma-separated detectors: qos (all technical checks), black, freeze, silence, "
        "loudness, signal_loss, colour_bars, asr, ocr, fingerprint, language, keyword"),
    fps: float = typer.Option(1.0, "--fps", help="frames a second for the technical checks"),
    keyframe_interval: float = typer.Option(2.0, "--keyframe-interval", help="seconds between OCR/fingerprint frames"),
    language: Optional[str] = typer.Option(None, "--language", help="speech language (default: settings asr_language)"),
) -> None:
    """Run the media detectors over one file or stream and print the findings.

    Speech and on-screen text go through the enabled negative lists of the data
    directory; those hits are printed as findings of detector "keyword" with
    their term and list. ASR and OCR run when their extras are installed.

    Example:

        qinglang scan news.mp4 --json --only qos,ocr
    """
    from core.settings import get_settings
    from detectors.media import expand_only, scan_file

    settings = get_settings()
    wanted = expand_only(set(only.split(",")) if only else None)
    matcher, hotwords = _matcher(settings) if "keyword" in wanted and wanted & {"asr", "ocr"} else (None, [])
    fingerprints = _fingerprints(settings) if "fingerprint" in wanted else None
    options = {"fps": fps, "keyframe_interval": keyframe_interval, "detectors": {"asr": {
        "model": settings.asr_model, "language": language or settings.asr_language,
        "compute_type": settings.asr_compute_type, "data_dir": str(settings.data_path), "hotwords": hotwords}}}

    def note(msg: str) -> None:
        err.print(f"note: {msg}")

    count = 0
    if json_out:
        for f in scan_file(target, wanted, matcher, options=options, fingerprints=fingerprints, notes=note):
            typer.echo(json.dumps(f.to_json(), ensure_ascii=False))
            count += 1
        return
    with Progress(TextColumn("[bold]scan[/]"), BarColumn(), TextColumn("{task.fields[pos]}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("scan", total=None, pos="")

        def progress(t: float, duration: float | None) -> None:
            bar.update(task, completed=t, total=duration, pos=f"{t:7.1f} s")

        for f in scan_file(target, wanted, matcher, progress, options=options, fingerprints=fingerprints,
                           notes=note):
            bar.console.print(_line(f.to_json()))
            count += 1
    err.print(f"{count} finding(s)")


def _line(d: dict[str, Any]) -> str:
    span = f"{d.get('start') or 0:8.2f}-{d.get('end') or 0:8.2f}s"
    extra = d.get("term") or d.get("text") or d.get("value") or ""
    more = f" list={d['list']}" if d.get("list") else ""
    return f"{span}  {d['detector']:<12} {str(extra)[:80]}{more}"
