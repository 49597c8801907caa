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

from rectify_core import daily, db, items, lookback, outbox, scan, views
from rectify_core.audit import audit_ledger
from rectify_core.closure import close_item
from rectify_core.daily import Settings, load_settings, resolve_config_dir, run_now
from rectify_core.dates import local_today
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


class _Date(click.ParamType):  # type: ignore[type-arg]
    """YYYY-MM-DD -> datetime.date."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"“{value}”不是有效日期（格式 YYYY-MM-DD）", param, ctx)


DATE = _Date()


def _import(app: App, path: Path, unit: str | None = None, round_name: str | None = None) -> ImportResult:
    parsed = read_ledger(path)
    parsed.unit = unit or parsed.unit
    parsed.round_name = round_name or parsed.round_name
    with db.transaction(app.engine) as session:
        return save_ledger(parsed, run_now(None), session=session)


def _report_import(path: Path, result: ImportResult) -> None:
    click.echo(f"已导入 {path}：{result.unit} / {result.round_name}（轮次 {result.round_id}）")
    click.echo(f"  新增 {result.created} 条，更新 {result.updated} 条，未变化 {result.unchanged} 条")


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--unit", help="被巡察单位名称（默认从文件中识别）。")
@click.option("--round-name", "round_name", help="巡察轮次名称（默认从文件中识别）；同名轮次会被更新而不是重复导入。")
@click.pass_obj
def import_cmd(app: App, file: Path, unit: str | None, round_name: str | None) -> None:
    """导入整改进展报告（.txt/.docx）或整改台账（.xlsx/.csv），格式按内容自动识别。"""
    _report_import(file, _import(app, file, unit, round_name))


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
def check_cmd(app: App, day: dt.date | None, as_json: bool) -> None:
    """计算某一天每个未完成问题的时限、剩余工作日、红黄绿灯和应提醒的人（只计算，不发送）。"""
    today = local_today(run_now(day))
    plans = [p for p in daily.plan_stage(app.engine, app.settings, today).plans if p.item.lookback_id is None]
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
def extend_cmd(app: App, no: int, to: dt.date, reason: str, approved_by: str,
               round_id: int | None, day: dt.date | None) -> None:
    """记录一次经批准的延期：写入事件记录，计入延期次数（受上限约束）。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        event = extend(item, to, reason, approved_by, now, local_today(now), app.settings.rules,
                       app.settings.calendar, session=session)
    click.echo(f"已记录：问题{no}的整改时限由 {event.data['from'] or '未定'} 延至 {event.data['to']}"
               f"（第{event.data['count']}次延期，批准人：{approved_by}）")


@cli.command("notify")
@click.option("--date", "day", type=DATE, help="按哪一天计划和发送（YYYY-MM-DD），默认为上海时间的今天。")
@click.option("--dry-run", is_flag=True, help="只显示将要发给谁，不写数据库、不发送。")
@click.pass_obj
def notify_cmd(app: App, day: dt.date | None, dry_run: bool) -> None:
    """计划当天的提醒，写入发件箱，按人合并成一条摘要发送，并报告结果。"""
    now = run_now(day)
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


@cli.command("close")
@click.argument("no", type=int)
@click.option("--evidence", "evidence", multiple=True, required=True,
              help="佐证材料：文件路径（记录文件名与 SHA-256）或文字说明；可重复。")
@click.option("--by", "by", required=True, help="经办人。")
@click.option("--verified-by", "verified_by", required=True, help="核验人（须为责任人和经办人以外的第二人）。")
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--date", "day", type=DATE, help="销号日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def close_cmd(app: App, no: int, evidence: tuple[str, ...], by: str, verified_by: str, round_id: int | None,
              day: dt.date | None) -> None:
    """销号：凭佐证材料并经第二人核验，把问题标为已完成并记录。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        closure = close_item(item, list(evidence), by, verified_by, now, local_today(now), app.settings.rules,
                             app.settings.calendar, session=session)
    late = "（逾期完成）" if closure.late else ""
    click.echo(f"已销号：问题{no}，{closure.closed_on}，经办人 {by}，核验人 {verified_by}，"
               f"佐证材料 {len(closure.evidence)} 份{late}")


@cli.group("lookback")
def lookback_group() -> None:
    """回头看：抽查已销号问题，防止反弹回潮。"""


@lookback_group.command("plan")
@click.option("--date", "day", type=DATE, help="按哪一天抽选（YYYY-MM-DD），默认为今天。")
@click.option("--seed", help="随机抽查的种子（默认由日期生成，可复现）。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_obj
def lookback_plan_cmd(app: App, day: dt.date | None, seed: str | None, as_json: bool) -> None:
    """显示当天的回头看抽选结果及理由（不分派任务、不写数据库）。"""
    today = local_today(run_now(day))
    seed = seed or lookback.default_seed(today)
    with db.transaction(app.engine) as session:
        chosen = lookback.select_for_sweep(lookback.candidates(today, session=session), today,
                                           app.settings.rules, seed)
    data = {"date": today.isoformat(), "seed": seed, "selected": [lookback.selection_json(s) for s in chosen]}
    if as_json:
        _dump(data)
        return
    click.echo(views.lookback_plan_text(data))


@lookback_group.command("assign")
@click.option("--date", "day", type=DATE, help="抽选日期（YYYY-MM-DD），默认为今天。")
@click.option("--seed", help="随机抽查的种子（默认由日期生成）。")
@click.pass_obj
def lookback_assign_cmd(app: App, day: dt.date | None, seed: str | None) -> None:
    """执行当天的回头看抽选并分派任务（同一天重复执行不会重复分派）。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        directory = scan.with_people(app.settings.directory, session=session)
        sweep, assigned = lookback.assign(local_today(now), now, app.settings.rules, app.settings.calendar,
                                          directory, session=session, seed=seed)
    click.echo(f"{sweep.run_on} 回头看抽选（种子 {sweep.seed}）：选中 {len(sweep.selected)} 项，"
               f"本次新分派 {assigned} 项任务。")


@lookback_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.option("--date", "day", type=DATE, help="按哪一天判断是否逾期，默认为今天。")
@click.pass_obj
def lookback_list_cmd(app: App, as_json: bool, day: dt.date | None) -> None:
    """列出回头看任务：待完成、已逾期、已完成。"""
    today = local_today(run_now(day))
    with db.transaction(app.engine) as session:
        data = [views.task_json(t, today) for t in lookback.tasks(session=session)]
    if as_json:
        _dump(data)
        return
    if not data:
        click.echo("没有回头看任务。")
    for t in data:
        click.echo(f"问题{t['no']:<4} {views.TASK_STATES[t['state']]:<4} 检查人 {t['reviewer'] or '未指定'}  "
                   f"截止 {t['due']}  {t['outcome'] or ''}  {t['title']}")


@lookback_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_obj
def lookback_stats_cmd(app: App, as_json: bool) -> None:
    """回头看统计：已检查、巩固、反弹及反弹率（总体、按轮次、按方面）。"""
    with db.transaction(app.engine) as session:
        data = lookback.stats(session=session)
    if as_json:
        _dump(data)
        return
    click.echo(views.lookback_stats_text(data))


@lookback_group.command("record")
@click.argument("no", type=int)
@click.option("--outcome", required=True, help="结论：巩固 或 反弹。")
@click.option("--note", required=True, help="检查情况说明。")
@click.option("--evidence", multiple=True, help="检查佐证：文件路径或文字说明；可重复。")
@click.option("--by", "by", required=True, help="检查人。")
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--date", "day", type=DATE, help="检查日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def lookback_record_cmd(app: App, no: int, outcome: str, note: str, evidence: tuple[str, ...], by: str,
                        round_id: int | None, day: dt.date | None) -> None:
    """记录回头看结论：巩固则任务完成；反弹则重新打开问题并关联原销号记录。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        lookback.record(item, outcome, note, list(evidence), by, now, local_today(now), app.settings.rules,
                        app.settings.calendar, session=session)
        if outcome == "反弹":
            click.echo(f"问题{no}反弹回潮：已重新打开（第{item.rebound_count}次反弹），新整改时限 {item.deadline}，"
                       "督办从上一级开始。")
        else:
            click.echo(f"问题{no}回头看结论：巩固。")


@cli.command("deployments")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def deployments_cmd(as_json: bool) -> None:
    """列出 rectify serve 将注册的 Prefect 部署：名称、cron、时区、参数。"""
    from flows.deploy import TZ, specs

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


@cli.command("serve")
@click.pass_obj
def serve_cmd(app: App) -> None:
    """启动 Prefect serve：注册并运行每日提醒和季度回头看的定时部署（需先运行 prefect server start）。"""
    import os

    from prefect import serve

    from flows.deploy import runner_deployments

    # flow runs started by serve inherit these; secrets stay out of deployment parameters
    os.environ["RECTIFY_DATABASE_URL"] = app.url
    if app.config:
        os.environ["RECTIFY_CONFIG_DIR"] = str(app.config)
    click.echo(f"数据库：{db.display_url(app.url)}；配置：{app.config or '内置默认'}")
    click.echo("定时只在运行中的 Prefect 服务器上触发（prefect server start）。按 Ctrl-C 停止。")
    serve(*runner_deployments())


DEMO_DATE = "2026-11-25"  # a Wednesday: inside the send window, with reminders owed


@cli.command("demo")
@click.pass_context
def demo_cmd(ctx: click.Context) -> None:
    """主任务演示：导入内置演示台账，经 Prefect 运行每日提醒流程，邮件发到本地邮件服务器并保存为 .eml。"""
    import os

    app: App = ctx.obj
    data_dir = db.default_database_path().parent
    explicit = (ctx.parent is not None and ctx.parent.params.get("db_url")) or os.environ.get("RECTIFY_DATABASE_URL")
    url = app.url if explicit else f"sqlite:///{data_dir / 'demo.db'}"
    mail_dir, config = data_dir / "demo-mail", data_dir / "demo-config"
    demo = App(url)
    result = _import(demo, DEMO_LEDGER)
    click.echo(f"数据库：{db.display_url(url)}")
    _report_import(DEMO_LEDGER, result)
    with MailSink(mail_dir) as sink:
        config.mkdir(parents=True, exist_ok=True)
        template = (Path(__file__).parent / "data" / "demo-contacts.toml").read_text(encoding="utf-8")
        (config / "contacts.toml").write_text(template.replace("{port}", str(sink.port)), encoding="utf-8")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from flows.daily import daily_flow

        click.echo(f"经 Prefect 运行每日提醒流程（演示日期 {DEMO_DATE}，本地邮件服务器 127.0.0.1:{sink.port}）……")
        summary = daily_flow(date=DEMO_DATE, config_dir=str(config), database_url=url)
        received = sink.messages
    click.echo(views.demo_text(summary, received, mail_dir))
    with db.transaction(demo.engine) as session:
        click.echo(views.outbox_by_person(outbox.list_notices(None, session=session)))


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
