"""`qinglang deadletters`: records the stream jobs rejected — list them, replay them once fixed."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

app = typer.Typer(
    help="Dead letters: records a stream job rejected, with the reason. List them; replay them once the cause "
    "is fixed.\n\nExample:\n\n    qinglang deadletters list --handler texts\n\n"
    "    qinglang deadletters replay --id dlq-3f2a... --json",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

HANDLER = typer.Option(None, "--handler", help="only those rejected by this stage: samples, texts or hits")
TOPIC = typer.Option(None, "--topic", help="only those read from this topic, e.g. qinglang.texts")


def _read(handler: Optional[str], topic: Optional[str]) -> tuple[Any, list[Any]]:
    from core.services import Services
    from core.settings import get_settings
    from stream_jobs.dead_letters import read

    services = Services(get_settings())
    with Progress(TextColumn("reading dead letters"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("read", total=None)
        letters = read(services.bus, handler=handler, original_topic=topic,
                       on_progress=lambda done, total: bar.update(task, completed=done, total=total))
    return services, letters


@app.command("list")
def list_(
    handler: Optional[str] = HANDLER,
    topic: Optional[str] = TOPIC,
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="show at most this many, newest last"),
    json_out: bool = typer.Option(False, "--json", help="one JSON object (the dead letter) per line"),
) -> None:
    """List dead letters: id, when, stage, original topic and key, reason (one per id).

    Example:

        qinglang deadletters list --handler texts --limit 20
    """
    services, letters = _read(handler, topic)
    try:
        shown = letters[-limit:]
        if json_out:
            for x in shown:
                print(json.dumps(x.value, ensure_ascii=False))
            return
        if not letters:
            out.print("no dead letters")
            return
        table = Table("id", "failed at", "stage", "topic", "key", "reason", "replayable")
        for x in shown:
            v = x.value
            why = x.why_not_replayable()
            table.add_row(x.id, str(v.get("failed_at", ""))[:19], str(v.get("handler", "")),
                          str(v.get("original_topic", "")), str(v.get("record_key") or ""),
                          str(v.get("reason", ""))[:80], "yes" if why is None else f"no: {why}")
        out.print(table)
        if len(letters) > len(shown):
            out.print(f"{len(letters) - len(shown)} older not shown (--limit)")
    finally:
        services.close()


@app.command("replay")
def replay_(
    ids: list[str] = typer.Option([], "--id", help="the dead letter to replay (repeat for several)"),
    everything: bool = typer.Option(False, "--all", help="replay every listed dead letter (after filters)"),
    handler: Optional[str] = HANDLER,
    topic: Optional[str] = TOPIC,
    dry_run: bool = typer.Option(False, "--dry-run", help="say what would be replayed, write nothing"),
    json_out: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Write the originals of dead letters back to their topics, for the stream jobs to handle again.

    Fix the cause first (the producer, the handler, a list). Ids downstream are
    deterministic, so replaying something twice does not duplicate hits; one
    that fails again returns as a dead letter.

    Example:

        qinglang deadletters replay --all --handler texts --dry-run
    """
    from stream_jobs.dead_letters import ReplayReport, replay, select

    services, letters = _read(handler, topic)
    try:
        chosen = select(letters, ids, everything)
        if dry_run:
            report = ReplayReport(replayed=[x.id for x in chosen if x.why_not_replayable() is None],
                                  skipped={x.id: w for x in chosen if (w := x.why_not_replayable())})
        else:
            report = replay(services.bus, chosen)
        if json_out:
            print(json.dumps({"replayed": report.replayed, "skipped": report.skipped, "dry_run": dry_run},
                             ensure_ascii=False))
            return
        verb = "would replay" if dry_run else "replayed"
        out.print(f"{verb} {len(report.replayed)} dead letter(s)")
        for i, why in report.skipped.items():
            out.print(f"skipped {i}: {why}", highlight=False, markup=False)
    finally:
        services.close()
