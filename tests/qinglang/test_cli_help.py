"""Every command and sub-command explains itself with an example."""

from __future__ import annotations

import click
import typer.main
from typer.testing import CliRunner

from qinglang.cli import app


def _walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, path + [name])


def test_every_command_has_help_with_an_example():
    root = typer.main.get_command(app)
    runner = CliRunner()
    missing = []
    for path, _cmd in _walk(root, []):
        if not path:
            continue
        result = runner.invoke(app, path + ["--help"])
        assert result.exit_code == 0, (path, result.output)
        if "example" not in result.output.lower() and "示例" not in result.output:
            missing.append(" ".join(path))
    assert not missing, f"commands without an example in --help: {missing}"


def test_top_level_commands_of_the_design_exist():
    root = typer.main.get_command(app)
    names = set(root.commands)
    assert {"demo", "up", "ingest", "jobs", "console", "lists", "match", "scan", "search",
            "services", "bench", "complaints", "sources", "users"} <= names
