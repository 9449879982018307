"""`qinglang sources`: the register of monitored sources (import, list, add, enable, run once)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.errors import BadInput
from core.services import Services
from core.settings import get_settings

app = typer.Typer(
    help="Monitored sources: websites, apps, IPTV/OTT streams, comment feeds.\n\n"
    "Example:\n\n    qinglang sources import register.csv && qinglang sources ls",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


def _services() -> Services:
    """Settings, a migrated database and the adapters (migrates on first use)."""
    from qinglang.wiring import migrate_all

    settings = get_settings()
    settings.ensure_data_dir()
    migrate_all(settings.db_url)
    return Services(settings)


def _registry(services: Services) -> Any:
    from ingest.registry import SourceRegistry

    return SourceRegistry(services.db)


def _json_obj(value: Optional[str], what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise BadInput(f"--{what} is not valid JSON ({exc})", hint=f"""e.g. --{what} '{{"depth": 2}}'""") from exc
    if not isinstance(data, dict):
        raise BadInput(f"--{what} must be a JSON object", hint=f"""e.g. --{what} '{{"depth": 2}}'""")
    return data


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        out.print(f"[green]{data['id']}[/] {data['kind']} {data['name']} enabled={data['enabled']}")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV: kind,name,operator,licence,locator,tags[,schedule,enabled,...]"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines: one per imported source and per bad row"),
) -> None:
    """Import (or update) a register of licensed platforms from CSV; bad rows are reported by line.

    Example:

        qinglang sources import licensed_platforms.csv
    """
    from ingest.csvimport import import_csv

    services = _services()
    result = import_csv(_registry(services), file)
    if as_json:
        for sid in result.imported:
            print(json.dumps({"imported": sid}))
        for line, reason in result.errors:
            print(json.dumps({"line": line, "error": reason}, ensure_ascii=False))
    else:
        out.print(f"imported {len(result.imported)} sources from {file}")
        for line, reason in result.errors:
            err.print(f"[yellow]line {line}:[/] {reason}")
    if result.errors and not result.imported:
        raise typer.Exit(2)


@app.command("ls")
def ls(
    kind: Optional[str] = typer.Option(None, help="only this kind (website, app, iptv, ott, comments, file)"),
    tag: Optional[str] = typer.Option(None, help="only sources with this tag"),
    enabled: Optional[bool] = typer.Option(None, "--enabled/--disabled", help="only enabled / disabled ones"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines, with health"),
) -> None:
    """List sources with their health (state, last sample, errors).

    Example:

        qinglang sources ls --kind iptv --json
    """
    services = _services()
    reg = _registry(services)
    rows, total = reg.list(enabled=enabled, kind=kind, tag=tag)
    health = reg.health()
    if as_json:
        for row in rows:
            print(json.dumps({**row, "health": health.get(row["id"])}, ensure_ascii=False))
        return
    table = Table(title=f"{total} sources")
    for col in ("id", "kind", "name", "operator", "tags", "enabled", "state", "last sample", "errors"):
        table.add_column(col, overflow="fold")
    for row in rows:
        h = health.get(row["id"]) or {}
        table.add_row(row["id"], row["kind"], row["name"], row["operator"], ",".join(row["tags"]),
                      "yes" if row["enabled"] else "no", h.get("state", "idle"),
                      (h.get("last_sample_at") or "")[:19], str(h.get("errors_total", 0)))
    out.print(table)


@app.command("add")
def add(
    kind: str = typer.Option(..., help="website, app, iptv, ott, comments or file"),
    name: str = typer.Option(..., help="display name"),
    locator: str = typer.Option(..., help="URL, multicast address (udp://239.0.0.1:1234), API endpoint or path"),
    operator: str = typer.Option("", help="operating company"),
    licence: str = typer.Option("", help="licence number"),
    tags: str = typer.Option("", help="comma-separated tags, e.g. jiangsu-related,key-drama"),
    schedule: str = typer.Option("", help="continuous, once, manual or an interval (900, 15m); empty = automatic"),
    profile: Optional[str] = typer.Option(None, help='sampling profile JSON, e.g. {"frames_per_second": 2}'),
    options: Optional[str] = typer.Option(None, help='plugin options JSON, e.g. {"depth": 2}'),
    id: Optional[str] = typer.Option(None, "--id", help="source id (default: derived from kind and locator)"),
    disabled: bool = typer.Option(False, "--disabled", help="register without sampling it yet"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register one source.

    Example:

        qinglang sources add --kind iptv --name 江苏卫视 --locator udp://239.1.1.1:1234 --tags jiangsu-related
    """
    fields: dict[str, Any] = dict(kind=kind, name=name, locator=locator, operator=operator, licence=licence,
                                  tags=tags, schedule=schedule, enabled=not disabled)
    for key, value in (("profile", _json_obj(profile, "profile")), ("options", _json_obj(options, "options"))):
        if value is not None:
            fields[key] = value
    _print(_registry(_services()).add(id=id, **fields), as_json)


def _set_enabled(source_id: str, flag: bool, as_json: bool) -> None:
    _print(_registry(_services()).set_enabled(source_id, flag), as_json)


@app.command("enable")
def enable(source_id: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """Start sampling a source (the worker picks it up on its next pass).

    Example:

        qinglang sources enable src-a06c9b979c1afd4aceaa
    """
    _set_enabled(source_id, True, as_json)


@app.command("disable")
def disable(source_id: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """Stop sampling a source (a running live reader stops on the worker's next pass).

    Example:

        qinglang sources disable src-a06c9b979c1afd4aceaa
    """
    _set_enabled(source_id, False, as_json)


@app.command("run")
def run(
    source_id: str = typer.Argument(..., help="source id (see `qinglang sources ls`)"),
    seconds: Optional[float] = typer.Option(None, "--seconds", help="stop a live stream after this long"),
    as_json: bool = typer.Option(False, "--json", help="print each sample as a JSON line"),
) -> None:
    """Ingest one source once into the bus (a live stream until --seconds or Ctrl-C).

    Example:

        qinglang sources run src-a06c9b979c1afd4aceaa --seconds 60
    """
    import threading

    from ingest.worker import IngestWorker

    services = _services()
    worker = IngestWorker(services)
    source = worker.registry.source(source_id)
    stop = threading.Event()
    n = 0
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, disable=as_json or not sys.stderr.isatty()) as bar:
        task = bar.add_task(f"{source.name}: 0 samples", total=None)

        def on_sample(sample: Any) -> None:
            nonlocal n
            n += 1
            bar.update(task, description=f"{source.name}: {n} samples (t={sample.media_start})")
            if as_json:
                print(json.dumps(sample.to_json(), ensure_ascii=False), flush=True)

        try:
            total = worker.run_source_once(source, max_seconds=seconds, stop=stop, on_sample=on_sample)
        except KeyboardInterrupt:
            stop.set()
            total = n
    health = worker.registry.health(source_id)
    if not as_json:
        out.print(f"{total} samples from {source_id} to the bus; errors so far: {health['errors_total']}"
                  + (f" (last: {health['last_error']})" if health["last_error"] else ""))
