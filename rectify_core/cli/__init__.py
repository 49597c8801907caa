"""Command line: thin over the library. Reads the clock once, owns transactions,
and turns RectifyError into a clean Chinese message and a non-zero exit.

Commands live in modules by concern and are registered here explicitly, so the command
set never depends on what happened to be imported. The installed `rectify`
(rectify_flows.cli) builds the same group and adds the commands that need Prefect.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from rectify_core.cli import zh

zh.install()  # before the commands are built: click's words in Chinese

from rectify_core.cli import (  # noqa: E402
    actions,
    calendar,
    delivery,
    documents,
    ledger,
    lookback,
    people,
    records,
    scores,
    units,
    web,
)
from rectify_core.cli.app import App, run  # noqa: E402
from rectify_core.config.settings import resolve_config_dir  # noqa: E402
from rectify_core.ledger import db  # noqa: E402

COMMANDS: tuple[click.Command, ...] = (
    ledger.import_cmd, ledger.imports_group, ledger.items_cmd, ledger.show_cmd, ledger.rounds_group,
    ledger.audit_cmd,
    delivery.check_cmd, delivery.notify_cmd, delivery.outbox_cmd, delivery.mailsink_cmd,
    actions.extend_cmd, actions.progress_cmd, actions.reassign_cmd, actions.close_cmd,
    actions.withdraw_cmd, actions.merge_cmd, actions.reinstate_cmd,
    documents.report_cmd, documents.export_cmd, documents.dashboard_cmd, documents.bulletin_cmd,
    lookback.lookback_group, web.web_group,
    records.backup_cmd, records.restore_cmd, records.archive_cmd,
    units.units_group, units.accounts_group, people.people_group, scores.scores_cmd, calendar.calendar_group,
)


def make_cli(extra: Iterable[click.Command] = ()) -> click.Group:
    """A fresh `rectify` group: the core commands, then `extra`."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
        ctx.obj = App(db.database_url(db_url), resolve_config_dir(config))
        ctx.call_on_close(ctx.obj.close)

    for command in (*COMMANDS, *extra):
        rectify.add_command(command)
    return rectify


cli = make_cli()


def main(argv: list[str] | None = None) -> None:
    """The core commands alone (the installed `rectify` adds serve, demo and deployments)."""
    run(cli, argv)
