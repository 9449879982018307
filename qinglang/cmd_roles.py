"""Each role alone, for the distributed deployment: `qinglang ingest`, `jobs`, `console`."""

from __future__ import annotations

import logging
import threading

import typer
from rich.console import Console

from core.services import Services
from core.settings import get_settings

console_out = Console(stderr=True)


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def ingest(
    source: list[str] = typer.Option([], "--source", "-s", help="only these source ids (default: every enabled source)"),
    once: bool = typer.Option(False, "--once", help="sample each source once and exit"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the ingest worker: sample every enabled source into the bus.

    Example:

        QINGLANG_BUS=kafka://127.0.0.1:9092 qinglang ingest
    """
    from ingest.worker import IngestWorker
    from qinglang.wiring import migrate_all

    _logging(verbose)
    settings = get_settings()
    migrate_all(settings.db_url)
    services = Services(settings)
    worker = IngestWorker(services)
    if once:
        from ingest.registry import SourceRegistry

        n = 0
        for src, _schedule in SourceRegistry(services.db).rows(enabled_only=True):
            if source and src.id not in source:
                continue
            n += worker.run_source_once(src)
        console_out.print(f"ingested {n} samples")
        return
    console_out.print(f"ingest worker running (bus {settings.bus_url}); Ctrl-C stops")
    stop = threading.Event()
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        stop.set()


def jobs(
    distributed: bool = typer.Option(False, "--distributed", help="run as a Faust worker on Kafka"),
    until_idle: bool = typer.Option(False, "--until-idle", help="embedded: stop when every topic is drained"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the stream jobs (detectors, indexing, alerting) over the bus.

    Example:

        qinglang jobs --until-idle        # embedded: drain the bus once
        qinglang jobs --distributed       # a Faust worker on Kafka (several share partitions)
    """
    _logging(verbose)
    settings = get_settings()
    if distributed or settings.bus_url.startswith("kafka://"):
        from stream_jobs.faust_app import run_worker

        run_worker(settings)
        return
    from stream_jobs.runner import EmbeddedRunner

    services = Services(settings)
    runner = EmbeddedRunner(services)
    try:
        if until_idle:
            n = runner.run_until_idle(timeout=24 * 3600)
            console_out.print(f"handled {n} records; every topic drained")
        else:
            console_out.print(f"stream jobs running (bus {settings.bus_url}); Ctrl-C stops")
            runner.run()
    finally:
        runner.close()


def console(
    host: str = typer.Option(None, help="listen address (default from settings: 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default from settings: 8000)"),
) -> None:
    """Serve the web console (alerts, search, complaints, lists).

    Example:

        qinglang console --port 8080
    """
    import uvicorn

    from console.app import create_app
    from qinglang.wiring import wire

    settings = get_settings()
    app = create_app(wire(Services(settings)))
    h, p = host or settings.host, port or settings.port
    console_out.print(f"console: http://{h}:{p}/")
    uvicorn.run(app, host=h, port=p, log_level="warning", timeout_graceful_shutdown=3)
