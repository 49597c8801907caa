"""Running the command group: user mistakes become a message and an exit code, never a
traceback. Light on purpose (click and rectify's own errors): it runs before any command
is imported, and `rectify --help` should not wait for a database library it never uses."""

from __future__ import annotations

import gc
import sys

import click

from rectify_core import masking
from rectify_core.errors import RectifyError

_whole_process = False  # this process runs one command and ends (argv from the command line)


def run(group: click.Group, argv: list[str] | None) -> None:
    """Run a command group: user mistakes become a message and exit code, never a traceback.
    `argv` None: the command line's, and this process is that one command (see `settle`)."""
    global _whole_process
    _whole_process = argv is None
    masking.install()
    try:
        group.main(args=argv, prog_name="rectify", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RectifyError as exc:
        message = f"错误：{exc}" if not str(exc).startswith(("导入失败", "配置错误")) else str(exc)
        click.echo(message + (f"（命令行：{exc.hint}）" if exc.hint else ""), err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        _database_error(exc)
        raise


def settle() -> None:
    """Called once the command's module (and all it imports) is loaded. When the process is
    that one command, what is loaded by now lives until the process ends, so it is moved out
    of the garbage collector's way (`gc.freeze`): the collections the command's own work sets
    off, and the ones the interpreter runs at exit, no longer walk every class and function
    of SQLAlchemy and the models — about 0.1 s of every command's start-up, and more of a
    command that makes many objects. In a process that runs commands in turn (the tests)
    nothing is frozen."""
    if _whole_process:
        gc.freeze()


def _database_error(exc: Exception) -> None:
    """A database that cannot be reached (or was cut mid-run) said in words, exit 3; any
    other error goes on (a bug: its traceback is wanted). SQLAlchemy is only asked about
    when a command has imported it."""
    found = sys.modules.get("sqlalchemy.exc")
    if found is None or not isinstance(exc, found.OperationalError | found.DatabaseError):
        return
    from rectify_core.ledger import db

    meaning = db.explain(exc)
    if meaning is None and not isinstance(exc, found.OperationalError):
        return
    if meaning == db.CUT:  # mid-run: what was done is kept, so "nothing changed" would be false
        click.echo(f"错误：{meaning}。", err=True)
        sys.exit(3)
    click.echo(f"错误：{meaning or f'无法访问数据库（{type(exc.orig).__name__}）'}。"
               "数据库未作任何改动；请检查 --db 或 RECTIFY_DATABASE_URL。", err=True)
    sys.exit(3)
