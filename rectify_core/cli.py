"""Command line: thin over the library. Reads the clock once, owns transactions,
and turns RectifyError into a clean Chinese message and a non-zero exit."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from rectify_core import daily, db, items, outbox, views
from rectify_core.audit import audit_ledger
from rectify_core.daily import Settings, load_settings, resolve_config_dir
from rectify_core.dates import local_datetime, local_today
from rectify_core.errors import RectifyError
from rectify_core.extensions import extend
from rectify_core.importers import read_ledger
from rectify_core.mailsink import MailSink
from rectify_core.models import Item
from rectify_core.status import LABELS
from rectify_core.store import ImportResult, save_ledger

DEMO_LEDGER = Path(__file__).parent / "data" / "demo-ledger.csv"
@dataclass
class App:
    url: str
    config: Path | None = None
    _engine: Engine | None = None
    _settings: Settings | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.url)
            db.migrate(self._engine)
        return self._engine

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


def utcnow() -> dt.datetime:
    """The one place the CLI reads the clock."""
    return dt.datetime.now(dt.UTC)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", metavar="URL",
              help="数据库地址（SQLAlchemy URL）；默认读取 RECTIFY_DATABASE_URL，"
                   "再默认为用户目录下的 SQLite 文件。")
@click.option("--config", "config", metavar="DIR", type=click.Path(path_type=Path),
              help="配置目录（rules.toml、contacts.toml、calendar.toml）；默认读取 "
                   "RECTIFY_CONFIG_DIR，再默认为项目的 config/。")
@click.version_option(package_name="rectify")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, config: Path | None) -> None:
    """rectify：巡察整改台账的时限与提醒引擎。"""
    ctx.obj = App(db.database_url(db_url), resolve_config_dir(config))


def now_for(day: dt.date | None) -> dt.datetime:
    """--date D means 09:00 Asia/Shanghai on D; no date means the clock, read once."""
    return local_datetime(day, 9, 0) if day else utcnow()


DATE = click.DateTime(formats=["%Y-%m-%d"])


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _import(app: App, path: Path) -> ImportResult:
    parsed = read_ledger(path)
    with db.transaction(app.engine) as session:
        return save_ledger(parsed, utcnow(), session=session)


def _report_import(path: Path, result: ImportResult) -> None:
    click.echo(f"已导入 {path}：{result.unit} / {result.round_name}（轮次 {result.round_id}）")
    click.echo(f"  新增 {result.created} 条，更新 {result.updated} 条，未变化 {result.unchanged} 条")


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
def import_cmd(app: App, file: Path) -> None:
    """导入整改进展报告（.txt/.docx）或整改台账（.xlsx/.csv），格式按内容自动识别。"""
    _report_import(file, _import(app, file))


def _print_items(rows: list[Item]) -> None:
    if not rows:
        click.echo("（台账为空：请先用 rectify import 导入）")
        return
    for item in rows:
        due = item.deadline.isoformat() if item.deadline else {
            "immediate": "立行立改", "long_term": "长期坚持"}.get(item.deadline_kind or "", "—")
        click.echo(f"{item.no:>4}  {LABELS[item.status]:<5}  {due:<10}  "
                   f"{item.leader or '—':<6}  {item.title}")
    counts = {label: sum(LABELS[i.status] == label for i in rows) for label in LABELS.values()}
    click.echo(f"共 {len(rows)} 条：" + "，".join(f"{k} {v}" for k, v in counts.items()))


@cli.command("items")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.option("--round", "round_id", type=int, help="只列出该轮次（编号）。")
@click.pass_obj
def items_cmd(app: App, as_json: bool, round_id: int | None) -> None:
    """列出台账中的问题。"""
    with db.transaction(app.engine) as session:
        rows = items.list_items(session=session, round_id=round_id)
        if as_json:
            _dump([items.item_json(i) for i in rows])
        else:
            _print_items(rows)


@cli.command("show")
@click.argument("no", type=int)
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.pass_obj
def show_cmd(app: App, no: int, round_id: int | None) -> None:
    """显示一个问题的详情：整改措施与事件记录。"""
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        click.echo(items.describe(item, items.events_of(item, session=session)))


@cli.command("audit")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：claims 与 findings。")
def audit_cmd(file: Path, as_json: bool) -> None:
    """核对报告概述中的数字与正文是否一致（不写数据库）。"""
    result = audit_ledger(read_ledger(file))
    if as_json:
        _dump(result.as_json())
        return
    click.echo(f"概述：{result.claims.get('text', '（未找到）')}")
    if not result.findings:
        click.echo("未发现不一致。")
    for n, finding in enumerate(result.findings, start=1):
        click.echo(f"{n}. {finding['message']}")


@cli.command("check")
@click.option("--date", "day", type=DATE, help="检查哪一天（YYYY-MM-DD），默认为上海时间的今天。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组，每个未完成或阶段性完成的问题一项。")
@click.pass_obj
def check_cmd(app: App, day: dt.datetime | None, as_json: bool) -> None:
    """计算某一天每个未完成问题的时限、剩余工作日、红黄绿灯和应提醒的人（只计算，不发送）。"""
    today = local_today(now_for(_day(day)))
    plans = daily.plan_stage(app.engine, app.settings, today).plans
    warning = views.estimated_warning(plans)
    if warning:
        click.echo(warning, err=True)
    if as_json:
        _dump([views.plan_json(p) for p in sorted(plans, key=views.urgency)])
    else:
        click.echo(views.check_text(plans, today, app.settings.calendar))


@cli.command("extend")
@click.argument("no", type=int)
@click.option("--to", "to", type=DATE, required=True, help="批准后的新整改时限（YYYY-MM-DD）。")
@click.option("--reason", required=True, help="延期理由。")
@click.option("--approved-by", "approved_by", required=True, help="批准人。")
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--date", "day", type=DATE, help="批准日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def extend_cmd(app: App, no: int, to: dt.datetime, reason: str, approved_by: str,
               round_id: int | None, day: dt.datetime | None) -> None:
    """记录一次经批准的延期：写入事件记录，计入延期次数（受上限约束）。"""
    now = now_for(_day(day))
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        event = extend(item, to.date(), reason, approved_by, now, local_today(now), app.settings.rules,
                       app.settings.calendar, session=session)
    click.echo(f"已记录：问题{no}的整改时限由 {event.data['from'] or '未定'} 延至 {event.data['to']}"
               f"（第{event.data['count']}次延期，批准人：{approved_by}）")


@cli.command("notify")
@click.option("--date", "day", type=DATE, help="按哪一天计划和发送（YYYY-MM-DD），默认为上海时间的今天。")
@click.option("--dry-run", is_flag=True, help="只显示将要发给谁，不写数据库、不发送。")
@click.pass_obj
def notify_cmd(app: App, day: dt.datetime | None, dry_run: bool) -> None:
    """计划当天的提醒，写入发件箱，按人合并成一条摘要发送，并报告结果。"""
    now = now_for(_day(day))
    plan = daily.plan_stage(app.engine, app.settings, local_today(now))
    warning = views.estimated_warning(plan.plans)
    if warning:
        click.echo(warning, err=True)
    if dry_run:
        click.echo(views.dry_run_text(plan))
        return
    enqueued = daily.enqueue_stage(app.engine, app.settings, plan, now)
    report = daily.deliver_stage(app.engine, app.settings, plan.directory, now)
    click.echo(views.notify_text(report, enqueued))
    if report.failed:
        sys.exit(4)


@cli.command("outbox")
@click.option("--state", type=click.Choice(outbox.STATES), help="只列出该状态的通知。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.pass_obj
def outbox_cmd(app: App, state: str | None, as_json: bool) -> None:
    """列出发件箱中的通知（最新的在前）。"""
    with db.transaction(app.engine) as session:
        rows = outbox.list_notices(state, session=session)
        data = [views.notice_json(n) for n in rows]
    if as_json:
        _dump(data)
        return
    if not data:
        click.echo("发件箱为空。")
    for n in data:
        error = f"  错误：{n['last_error']}" if n["last_error"] else ""
        click.echo(f"{n['id']:>6}  {outbox.STATE_NAMES[n['state']]:<6} 问题{n['item_no']:<4} {n['recipient']}"
                   f"（{n['step']}，时限 {n['due']}，尝试 {n['attempts']} 次）{error}")


@cli.command("mailsink")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="邮件保存目录，默认为数据目录下的 mail/。")
@click.option("--port", type=int, default=8025, show_default=True, help="监听端口（仅 127.0.0.1）。")
def mailsink_cmd(directory: Path | None, port: int) -> None:
    """在本机启动一个测试用邮件服务器，把收到的每封邮件存为 .eml 文件（Ctrl-C 停止）。"""
    target = directory or db.default_database_path().parent / "mail"
    with MailSink(target, port):
        click.echo(f"本地邮件服务器：127.0.0.1:{port}，邮件保存在 {target}（Ctrl-C 停止）")
        import time

        while True:
            time.sleep(3600)


@cli.command("demo")
@click.pass_obj
def demo_cmd(app: App) -> None:
    """导入内置演示台账并列出（可重复运行，不会重复导入）。"""
    result = _import(app, DEMO_LEDGER)
    click.echo(f"数据库：{db.display_url(app.url)}")
    _report_import(DEMO_LEDGER, result)
    with db.transaction(app.engine) as session:
        _print_items(items.list_items(session=session, round_id=result.round_id))


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become a message and exit code, never a traceback."""
    try:
        cli.main(args=argv, prog_name="rectify", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RectifyError as exc:
        click.echo(f"错误：{exc}" if not str(exc).startswith(("导入失败", "配置错误")) else str(exc),
                   err=True)
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        click.echo(f"错误：无法访问数据库（{type(exc.orig).__name__}）。请检查 --db 或 "
                   "RECTIFY_DATABASE_URL。", err=True)
        sys.exit(3)
