"""`qinglang demo` and `qinglang up`: the embedded stack in one process."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from core.services import Services
from core.settings import Settings, get_settings

out = Console(stderr=True)

DEMO_LISTS = {  # file name -> (kind, category, severity)
    "demo-gambling": ("keyword", "gambling", "high"),
    "demo-fraud": ("keyword", "fraud", "medium"),
}


def _import_demo_lists(services: Services) -> None:
    from core.errors import NotFound
    from detectors.lists.io import import_data
    from detectors.lists.sql import SqlListStore

    store = SqlListStore(services.db)
    folder = Path(__file__).parent / "demo" / "lists"
    for name, (kind, category, severity) in DEMO_LISTS.items():
        try:
            store.get_list(name)
            continue
        except NotFound:
            pass
        path = folder / f"{name}.txt"
        import_data(store, name, path.read_bytes(), fmt="txt", kind=kind, category=category,
                    severity=severity, user="demo", reason="demo list", source_name=path.name)


def _demo_users(services: Services) -> dict[str, str]:
    """One account per role, each with a fresh random password (printed once)."""
    from console.users import UserService
    from core.errors import NotFound

    users = UserService(services.db)
    accounts = {"admin": ["admin"], "operator": ["operator"], "handler": ["handler"],
                "supervisor": ["supervisor", "handler"], "analyst": ["analyst"], "listadmin": ["list_admin"]}
    passwords: dict[str, str] = {}
    for name, roles in accounts.items():
        password = secrets.token_urlsafe(12)
        try:
            users.get(name)
            users.set_roles(name, roles)
            users.set_password(name, password)
            users.set_disabled(name, False)
        except NotFound:
            users.create(name, password, roles, display_name=f"演示 {name}")
        passwords[name] = password
    return passwords


def prepare_demo(services: Services, *, with_users: bool = True) -> tuple[Any, list[Any], dict[str, str]]:
    """Demo files, lists, sources (and users); returns (site, sources, passwords)."""
    from ingest.registry import SourceRegistry
    from qinglang.demo.sources import DemoSite, demo_sources, write_files
    from qinglang.wiring import migrate_all

    settings = services.settings
    data_dir = settings.ensure_data_dir()
    migrate_all(settings.db_url)
    files = write_files(data_dir)
    site = DemoSite(files.site).start()
    sources = demo_sources(files, site.url)
    registry = SourceRegistry(services.db)
    for src in sources:
        schedule = "15m" if str(src.kind) == "website" else "once"
        registry.add(upsert=True, id=src.id, kind=str(src.kind), name=src.name, operator=src.operator,
                     licence=src.licence, locator=src.locator, tags=src.tags,
                     profile=src.profile.model_dump(), schedule=schedule, enabled=True)
    _import_demo_lists(services)
    passwords = _demo_users(services) if with_users else {}
    return site, sources, passwords


def _distributed_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"bus": settings.bus or "kafka://127.0.0.1:9092",
                                       "index": settings.index or "elasticsearch://127.0.0.1:9200"})


def demo(
    port: int = typer.Option(None, help="console port (default 8000)"),
    once: bool = typer.Option(False, "--once", help="ingest the demo sources, drain the pipeline, print the alerts, exit"),
    distributed: bool = typer.Option(False, "--distributed",
                                     help="use the local Kafka and Elasticsearch (start them with `qinglang services start`)"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the embedded stack with bundled demo sources and print the console URL.

    Makes a short programme video (black, silent and frozen stretches and a
    burned-in subtitle with a listed term), a local web page and a comment feed
    with listed terms; within a minute the console shows their alerts.

    Example:

        qinglang demo                 # then open the printed URL
        QINGLANG_DATA_DIR=/tmp/q qinglang demo --once
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    settings = get_settings()
    if distributed:
        settings = _distributed_settings(settings)
    services = Services(settings)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=out) as bar:
        task = bar.add_task("准备演示数据 preparing demo media, lists and sources…", total=None)
        site, sources, passwords = prepare_demo(services, with_users=not once)
        bar.update(task, description="演示数据就绪 demo data ready")
    if once:
        _run_once(services, sources)
        site.stop()
        return
    if distributed:
        _run_distributed(services, port, passwords, site)
        return
    from qinglang.stack import EmbeddedStack

    stack = EmbeddedStack(services, port=port).start()
    _print_welcome(stack.url, passwords, settings)
    try:
        stack.wait()
    finally:
        stack.stop()
        site.stop()


def _print_welcome(url: str, passwords: dict[str, str], settings: Settings, title: str = "清朗 Qinglang 演示已启动 demo running") -> None:
    out.print(f"\n[bold green]{title}[/]  console: [link={url}]{url}[/link]")
    out.print(f"data directory: {settings.data_path}")
    if passwords:
        out.print("accounts (demo passwords, new on every start):")
        for name, pw in passwords.items():
            out.print(f"  {name:<11} {pw}")
    out.print("alerts appear within a minute; Ctrl-C stops." + ("" if passwords else
              " Create the first account with `qinglang users create NAME --role admin`.") + "\n")


def _run_once(services: Services, sources: list[Any]) -> None:
    from core.alerts import AlertStore
    from ingest.worker import IngestWorker
    from stream_jobs.runner import EmbeddedRunner

    worker = IngestWorker(services)
    runner = EmbeddedRunner(services)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=out) as bar:
            for src in sources:
                task = bar.add_task(f"ingest {src.id}", total=None)
                n = worker.run_source_once(src)
                bar.update(task, description=f"ingest {src.id}: {n} samples")
            task = bar.add_task("stream jobs", total=None)
            handled = runner.run_until_idle(timeout=600)
            bar.update(task, description=f"stream jobs: {handled} records")
    finally:
        runner.close()
    alerts, total = AlertStore(services.db).list(limit=100)
    out.print(f"{total} alerts:")
    for a in alerts:
        out.print(escape(f"  [{a.severity}] {a.source_id} {a.detector} {a.term or ''} ×{a.count}"))


def _run_distributed(services: Services, port: int | None, passwords: dict[str, str], site: Any) -> None:
    import subprocess
    import sys

    from ingest.worker import IngestWorker
    from qinglang.stack import ConsoleServer

    settings = services.settings
    env_cmd = [sys.executable, "-m", "qinglang", "jobs", "--distributed"]
    import os

    env = dict(os.environ, QINGLANG_BUS=settings.bus_url, QINGLANG_INDEX=settings.index_url,
               QINGLANG_DATA_DIR=str(settings.data_path))
    jobs_proc = subprocess.Popen(env_cmd, env=env)
    console = ConsoleServer(services, settings.host, port or settings.port).start()
    import threading

    stop = threading.Event()
    worker = IngestWorker(services)
    t = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    t.start()
    _print_welcome(f"http://{settings.host}:{port or settings.port}/", passwords, settings)
    try:
        while jobs_proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        jobs_proc.terminate()
        console.stop()
        site.stop()


def up(
    config: Path = typer.Option(None, "--config", "-c", help="TOML config file (else QINGLANG_CONFIG)"),
    port: int = typer.Option(None, help="console port"),
) -> None:
    """Run the embedded stack (ingest, stream jobs, console) from a config file.

    Sources listed in the config's [[sources]] tables are registered (upserted) first.

    Example:

        QINGLANG_CONFIG=qinglang.toml qinglang up
    """
    import os

    from core.settings import reset_settings_cache
    from ingest.registry import SourceRegistry
    from qinglang.stack import EmbeddedStack
    from qinglang.wiring import migrate_all

    if config is not None:
        os.environ["QINGLANG_CONFIG"] = str(config)
        reset_settings_cache()
    settings = get_settings()
    services = Services(settings)
    migrate_all(settings.db_url)
    registry = SourceRegistry(services.db)
    for raw in settings.sources:
        fields = dict(raw)
        registry.add(upsert=True, id=fields.pop("id", None), **fields)
    stack = EmbeddedStack(services, port=port).start()
    _print_welcome(stack.url, {}, settings, title="清朗 Qinglang 已启动 running")
    try:
        stack.wait()
    finally:
        stack.stop()
