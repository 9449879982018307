"""`qinglang bench SUITE`: benchmarks that print ratios against a baseline measured in the same run."""

from __future__ import annotations

import importlib
import inspect
import json

import typer

from core.errors import BadInput

SUITES = {
    "pipeline": "bench.pipeline",
    "keywords": "bench.keywords",
    "media": "bench.media",
    "ingest": "bench.ingest",
    "complaints": "bench.complaints",
    "search": "bench.search",
    "console": "bench.console",
}


def bench(
    suite: str = typer.Argument(..., help=f"one of: {', '.join(SUITES)}, all"),
    json_out: bool = typer.Option(False, "--json", help="print the figures as one JSON object per suite"),
    quick: bool = typer.Option(False, "--quick", help="smaller sizes, for a fast look (figures are less stable)"),
) -> None:
    """Run a benchmark suite; each prints its figures next to a named baseline as a ratio.

    Example:

        qinglang bench keywords --quick
    """
    names = list(SUITES) if suite == "all" else [suite]
    for name in names:
        if name not in SUITES:
            raise BadInput(f"unknown benchmark suite {name!r}", hint=f"use one of: {', '.join(SUITES)}, all")
        try:
            module = importlib.import_module(SUITES[name])
        except ModuleNotFoundError as exc:
            raise BadInput(f"benchmark suite {name!r} is not available ({exc})", hint="reinstall qinglang") from exc
        kwargs: dict[str, object] = {"progress": not json_out}
        if quick and "quick" in inspect.signature(module.run).parameters:
            kwargs["quick"] = True
        result = module.run(**kwargs)
        if json_out:
            typer.echo(json.dumps({"suite": name, **(result or {})}, ensure_ascii=False, default=str))
