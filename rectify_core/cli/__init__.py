"""Command line: thin over the library. Reads the clock once, owns transactions,
and turns RectifyError into a clean Chinese message and a non-zero exit.

Commands are listed in `catalog` (name → module, attribute and help), so the command set
never depends on what happened to be imported, and a command's module is imported only
when that command runs: `rectify --help` imports none of them, `rectify units` only its
own (start-up is most of a clerk's wait). The installed `rectify` (rectify_flows.cli)
builds the same group and adds the commands that need Prefect.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from rectify_core.cli import running, zh

zh.install()  # before the commands are built: click's words in Chinese

from rectify_core.cli.catalog import CATALOG  # noqa: E402


class LazyGroup(click.Group):
    """A group whose commands are imported from their modules when first asked for; its
    help lists them from the catalog without importing any."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute, _ = self.lazy[cmd_name]
            self.add_command(getattr(importlib.import_module(f"rectify_core.cli.{module}"), attribute), cmd_name)
            running.settle()
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their short help; those not yet imported from the catalog."""
        shown = [(name, self.commands.get(name) or click.Command(name, help=self.lazy[name][2]))
                 for name in self.list_commands(ctx)]
        shown = [(name, command) for name, command in shown if not command.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("命令"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in shown])

    def load_all(self) -> LazyGroup:
        """Every command imported (for the synopsis, the catalog's check and the tests)."""
        for name in self.lazy:
            self.get_command(click.Context(self), name)
        return self


def make_cli(extra: Iterable[click.Command] = ()) -> LazyGroup:
    """A fresh `rectify` group: the core commands (imported as they are used), then `extra`."""

    @click.group(cls=LazyGroup, lazy=CATALOG, context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--db", "db_url", metavar="URL",
                  help="数据库地址（SQLAlchemy URL）；默认读取 RECTIFY_DATABASE_URL，"
                       "再默认为用户目录下的 SQLite 文件。")
    @click.option("--config", "config", metavar="DIR", type=click.Path(path_type=Path),
                  help="配置目录（rules.toml、contacts.toml、calendar.toml）；默认读取 "
                       "RECTIFY_CONFIG_DIR，再默认为项目的 config/。")
    @click.version_option(package_name="rectify", help="显示版本并退出。")
    @click.pass_context
    def rectify(ctx: click.Context, db_url: str | None, config: Path | None) -> None:
        """rectify：巡察整改台账的时限与提醒引擎。"""
        from rectify_core.cli.app import App
        from rectify_core.config.settings import resolve_config_dir
        from rectify_core.ledger import db

        ctx.obj = App(db.database_url(db_url), resolve_config_dir(config))
        ctx.call_on_close(ctx.obj.close)

    assert isinstance(rectify, LazyGroup)
    for command in extra:
        rectify.add_command(command)
    return rectify


cli = make_cli()


def main(argv: list[str] | None = None) -> None:
    """The core commands alone (the installed `rectify` adds serve, demo and deployments)."""
    running.run(cli, argv)
