"""`qinglang services start|stop|status`: local Kafka, Elasticsearch and PostgreSQL (deploy/local/)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from qinglang import services_local as sl

app = typer.Typer(
    help="Local Kafka 4.1, Elasticsearch 8 and PostgreSQL 15 for the distributed mode and CI.\n\n"
    "Example:\n\n    qinglang services start all",
    no_args_is_help=True,
)
console = Console(stderr=True)

Which = Annotated[str, typer.Argument(help="kafka, elasticsearch, postgres or all")]


@app.command()
def start(which: Which = "all", json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Start services (downloads from Maven Central once; a running service is left alone).

    Example: qinglang services start kafka
    """
    for name in sl.names(which):
        svc = sl.get(name)
        with console.status(f"[bold]{name}[/]: starting…") as status:
            def say(text: str, n: str = name) -> None:
                status.update(f"[bold]{n}[/]: {text}")

            msg = svc.start(say)
        if json_out:
            print(json.dumps(svc.status().to_json()))
        else:
            console.print(f"[green]✓[/] {name} {msg}; logs: {svc.status().logs}")


@app.command()
def stop(which: Which = "all", json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stop services started by `qinglang services start` (nothing is left running).

    Example: qinglang services stop all
    """
    for name in reversed(sl.names(which)):
        svc = sl.get(name)
        with console.status(f"[bold]{name}[/]: stopping…"):
            was = svc.stop()
        if json_out:
            print(json.dumps({"service": name, "stopped": was}))
        else:
            console.print(f"{name}: {'stopped' if was else 'was not running'}")


@app.command()
def status(which: Which = "all", json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Say which services answer, their pid, address and log file.

    Example: qinglang services status --json
    """
    for name in sl.names(which):
        st = sl.get(name).status()
        if json_out:
            print(json.dumps(st.to_json()))
            continue
        state = "[green]running[/]" if st.running else ("[yellow]starting?[/]" if st.pid else "[red]stopped[/]")
        pid = f" pid {st.pid}" if st.pid else ""
        extra = f" ({st.detail})" if st.detail else ""
        console.print(f"{name:14} {state} {st.address}{pid}{extra}\n{'':14} logs: {st.logs}")
