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

from rectify_core import db, items
from rectify_core.audit import audit_ledger
from rectify_core.errors import RectifyError
from rectify_core.importers import read_ledger
from rectify_core.models import Item
from rectify_core.status import LABELS
from rectify_core.store import ImportResult, save_ledger

DEMO_LEDGER = Path(__file__).parent / "data" / "demo-ledger.csv"


@dataclass
class App:
    url: str
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.url)
            db.migrate(self._engine)
        return self._engine


def utcnow() -> dt.datetime:
    """The one place the CLI reads the clock."""
    return dt.datetime.now(dt.UTC)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", metavar="URL",
              help="数据库地址（SQLAlchemy URL）；默认读取 RECTIFY_DATABASE_URL，"
                   "再默认为用户目录下的 SQLite 文件。")
@click.version_option(package_name="rectify")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """rectify：巡察整改台账的时限与提醒引擎。"""
    ctx.obj = App(db.database_url(db_url))


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
