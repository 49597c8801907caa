"""The installed `rectify` command: the core commands of rectify_core.cli, plus those
that need Prefect (serve, demo, deployments), added to a group of its own with
add_command. It sits at the edge, so the core never imports flows. Prefect is imported
inside those three commands only: the others start fast and leave Prefect's logging
alone."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rectify_core import HOME
from rectify_core.cli import make_cli
from rectify_core.errors import RectifyError

if TYPE_CHECKING:  # the running commands import it themselves
    from rectify_core.cli.app import App

DATA = HOME / "data"
DEMO_LEDGER = DATA / "demo-ledger.csv"


def _dump(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.command("deployments")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def deployments_cmd(as_json: bool) -> None:
    """列出 rectify serve 将注册的 Prefect 部署：名称、cron、时区、参数。"""
    from rectify_flows.deploy import TZ, specs

    data = [{"name": s.full_name, "cron": s.cron, "timezone": TZ if s.cron else None, "active": s.active,
             "parameters": s.parameters, "description": s.description} for s in specs()]
    if as_json:
        _dump(data)
        return
    for d in data:
        when = (f"{d['cron']}（{d['timezone']}{'' if d['active'] else '，未启用'}）" if d["cron"]
                else "无定时（按需触发）")
        click.echo(f"{d['name']:<36} {when:<34} {d['description']}")
        if d["parameters"]:
            click.echo(f"{'':<36} 参数：{json.dumps(d['parameters'], ensure_ascii=False)}")


@click.command("serve")
@click.pass_obj
def serve_cmd(app: App) -> None:
    """启动 Prefect serve：注册并运行每日提醒和季度回头看的定时部署（需先运行 prefect server start）。"""
    from prefect import serve

    from rectify_core.ledger import db
    from rectify_flows.deploy import runner_deployments

    # flow runs started by serve inherit these; secrets stay out of deployment parameters
    os.environ["RECTIFY_DATABASE_URL"] = app.url
    if app.config:
        os.environ["RECTIFY_CONFIG_DIR"] = str(app.config)
    click.echo(f"数据库：{db.display_url(app.url)}；配置：{app.config or '内置默认'}")
    click.echo("定时只在运行中的 Prefect 服务器上触发（prefect server start）。按 Ctrl-C 停止。")
    with db.present(app.url):  # a restore is refused while the schedules run
        serve(*runner_deployments())


DEMO_DATE = "2026-11-25"  # a Wednesday: inside the send window, with reminders owed


@click.command("demo")
@click.pass_context
def demo_cmd(ctx: click.Context) -> None:
    """主任务演示：导入内置演示台账，经 Prefect 运行每日提醒流程，邮件发到本地邮件服务器并保存为 .eml。"""
    from rectify_core.cli.app import App
    from rectify_core.cli.ledger import report_imported
    from rectify_core.delivery import outbox
    from rectify_core.delivery.mailsink import MailSink
    from rectify_core.ledger import db
    from rectify_core.ledger.importing import import_file
    from rectify_core.runs import views

    app: App = ctx.obj
    data_dir = db.default_database_path().parent
    explicit = (ctx.parent is not None and ctx.parent.params.get("db_url")) or os.environ.get("RECTIFY_DATABASE_URL")
    url = app.url if explicit else f"sqlite:///{data_dir / 'demo.db'}"
    mail_dir, config = data_dir / "demo-mail", data_dir / "demo-config"
    demo = App(url)
    imported = import_file(demo.engine, DEMO_LEDGER)
    click.echo(f"数据库：{db.display_url(url)}")
    report_imported(DEMO_LEDGER, imported)
    with MailSink(mail_dir) as sink:
        config.mkdir(parents=True, exist_ok=True)
        template = (DATA / "demo-contacts.toml").read_text(encoding="utf-8")
        (config / "contacts.toml").write_text(template.replace("{port}", str(sink.port)), encoding="utf-8")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        # Prefect's temporary server takes longer than its 20 s default on a busy first run
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
        from rectify_flows.daily import daily_flow

        click.echo(f"经 Prefect 运行每日提醒流程（演示日期 {DEMO_DATE}，本地邮件服务器 127.0.0.1:{sink.port}）……")
        summary = _run_demo_flow(daily_flow, config, url)
        received = sink.messages
    click.echo(views.demo_text(summary, received, mail_dir))
    with db.transaction(demo.engine) as session:
        click.echo(views.outbox_by_person(outbox.list_notices(None, session=session)))


cli = make_cli([deployments_cmd, serve_cmd, demo_cmd])


def _run_demo_flow(daily_flow: Any, config: Path, url: str) -> Any:
    """The daily flow through Prefect's temporary server; one more try when the server
    fails to start (a slow machine), then a clear message instead of a traceback. The
    import is already saved and the outbox keeps every notice: running again is safe."""
    for attempt in (1, 2):
        try:
            return daily_flow(date=DEMO_DATE, config_dir=str(config), database_url=url)
        except RuntimeError as exc:
            if "ephemeral" not in str(exc).lower() and "prefect" not in str(exc).lower():
                raise
            if attempt == 2:
                raise RectifyError("Prefect 临时服务器未能启动（机器较忙时可能如此）。演示台账已导入，待发送的"
                                   "提醒保存在发件箱中，不会丢失也不会重复；请稍后重新运行 ./dev demo") from None
            click.echo("Prefect 临时服务器启动较慢，正在重试……", err=True)
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become a message and exit code, never a traceback."""
    from rectify_core.cli.running import run

    run(cli, argv)
