"""`qinglang users`: console accounts (create the first administrator here)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import BadInput

app = typer.Typer(
    help="Console accounts and roles.\n\nExample:\n\n    qinglang users create admin --role admin",
    no_args_is_help=True,
)
out = Console()

RoleOpt = Annotated[list[str], typer.Option("--role", "-r", help="operator, handler, supervisor, analyst, "
                                            "list_admin or admin (repeat, or comma-separate)")]


def _users():  # type: ignore[no-untyped-def]
    from console.users import UserService
    from core.services import Services
    from core.settings import get_settings
    from qinglang.wiring import migrate_all

    settings = get_settings()
    settings.ensure_data_dir()
    migrate_all(settings.db_url)
    return UserService(Services(settings).db)


def _print(user, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print(json.dumps(user.public(), ensure_ascii=False))
    else:
        out.print(f"[green]{user.name}[/] roles={','.join(user.roles)}" + (" [red](disabled)[/]" if user.disabled else ""))


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="account name")],
    role: RoleOpt,
    password: Annotated[str | None, typer.Option("--password", "-p", help="omit to be prompted")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create an account.

    Example: qinglang users create admin --role admin
    """
    if password is None:
        password = typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise BadInput("an empty password", hint="give --password or type one at the prompt")
    _print(_users().create(name, password, role), as_json)


@app.command("ls")
def ls(as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False) -> None:
    """List accounts.

    Example: qinglang users ls --json
    """
    users = _users().list()
    if as_json:
        for u in users:
            print(json.dumps(u.public(), ensure_ascii=False))
        return
    table = Table("name", "roles", "state")
    for u in users:
        table.add_row(u.name, ",".join(u.roles), "disabled" if u.disabled else "enabled")
    out.print(table)


@app.command("set-roles")
def set_roles(name: Annotated[str, typer.Argument()], role: RoleOpt,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Replace an account's roles (signs its sessions out).

    Example: qinglang users set-roles zhang --role operator --role handler
    """
    _print(_users().set_roles(name, role), as_json)


@app.command("disable")
def disable(name: Annotated[str, typer.Argument()],
            enable: Annotated[bool, typer.Option("--enable", help="re-enable instead")] = False,
            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Disable an account (or --enable it again); its sessions end at once.

    Example: qinglang users disable zhang
    """
    _print(_users().set_disabled(name, not enable), as_json)


@app.command("set-password")
def set_password(name: Annotated[str, typer.Argument()],
                 password: Annotated[str | None, typer.Option("--password", "-p")] = None) -> None:
    """Set an account's password (prompted when omitted).

    Example: qinglang users set-password zhang
    """
    if password is None:
        password = typer.prompt("新密码 new password", hide_input=True, confirmation_prompt=True)
    _print(_users().set_password(name, password or ""), False)
