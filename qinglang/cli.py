"""`qinglang`: one entry point. Sub-commands live in qinglang/cmd_*.py, one file each.

Every command catches ``QinglangError`` and prints its message and hint (never
a stack trace) and exits with the error's exit code.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from core.errors import QinglangError

err_console = Console(stderr=True)

app = typer.Typer(
    name="qinglang",
    help=(
        "清朗 Qinglang: content monitoring and complaint handling.\n\n"
        "Example:\n\n    qinglang demo          # embedded stack with demo sources\n\n"
        "    qinglang match '这里有赌博网站' --json"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, attribute, kind, name): kind "group" adds a Typer sub-app, "command" registers a function.
_COMMANDS: list[tuple[str, str, str, str]] = [
    ("qinglang.cmd_demo", "demo", "command", "demo"),
    ("qinglang.cmd_demo", "up", "command", "up"),
    ("qinglang.cmd_roles", "ingest", "command", "ingest"),
    ("qinglang.cmd_roles", "jobs", "command", "jobs"),
    ("qinglang.cmd_roles", "console", "command", "console"),
    ("qinglang.cmd_lists", "app", "group", "lists"),
    ("qinglang.cmd_match", "match", "command", "match"),
    ("qinglang.cmd_scan", "scan", "command", "scan"),
    ("qinglang.cmd_search", "search", "command", "search"),
    ("qinglang.cmd_deadletters", "app", "group", "deadletters"),
    ("qinglang.cmd_services", "app", "group", "services"),
    ("qinglang.cmd_complaints", "app", "group", "complaints"),
    ("qinglang.cmd_sources", "app", "group", "sources"),
    ("qinglang.cmd_users", "app", "group", "users"),
    ("qinglang.cmd_db", "app", "group", "db"),
    ("qinglang.cmd_bench", "bench", "command", "bench"),
]


def _register() -> None:
    for module_name, attr, kind, name in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # not written yet
            raise
        obj = getattr(module, attr)
        if kind == "group":
            app.add_typer(obj, name=name)
        else:
            app.command(name=name)(obj)


_register()


def main() -> None:
    try:
        app()
    except QinglangError as exc:
        err_console.print(f"[bold red]错误 error:[/] {exc.message}")
        if exc.hint:
            err_console.print(f"[yellow]how to fix:[/] {exc.hint}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
