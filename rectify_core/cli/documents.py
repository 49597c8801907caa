"""What the office hands up: the progress report, the Excel 台账 and the dashboard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from rectify_core.cli.app import DATE, App
from rectify_core.config.calendar import local_today, run_now
from rectify_core.deadlines import scan
from rectify_core.documents import dashboard
from rectify_core.documents import report as progress_report
from rectify_core.documents.docx import write_docx
from rectify_core.documents.xlsx import write_xlsx
from rectify_core.errors import RectifyError
from rectify_core.ledger import db
from rectify_core.ledger import view as ledger_view


def _round_view(app: App, session: Any, round_id: int | None, day: dt.date | None) -> ledger_view.RoundView:
    today = local_today(run_now(day))
    directory = scan.with_people(app.settings.contacts, session=session)
    rnd = ledger_view.pick_round(round_id, session=session)
    return ledger_view.round_view(rnd, today, app.settings.rules, app.settings.calendar, directory, session=session)


def _output(path: Path, suffixes: tuple[str, ...]) -> Path:
    if path.suffix.lower() not in suffixes:
        raise RectifyError(f"输出文件 {path} 的扩展名应为 {' 或 '.join(suffixes)}")
    if not path.parent.is_dir():
        raise RectifyError(f"输出目录不存在：{path.parent}")
    return path


REPORT_SUFFIX = {"docx": ".docx", "txt": ".txt", "md": ".md"}


@click.command("report")
@click.option("--round", "round_id", type=int, help="哪个轮次（只有一个轮次时可省略）。")
@click.option("--date", "day", type=DATE, help="报告截至日期（YYYY-MM-DD），默认为今天。")
@click.option("--format", "fmt", type=click.Choice(list(REPORT_SUFFIX)), help="格式，默认按输出文件扩展名。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出文件。")
@click.pass_obj
def report_cmd(app: App, round_id: int | None, day: dt.date | None, fmt: str | None, output: Path) -> None:
    """生成整改进展情况报告（Word 按公文格式，或纯文本、Markdown），可再导入 rectify 核对。"""
    fmt = fmt or next((k for k, v in REPORT_SUFFIX.items() if output.suffix.lower() == v), "docx")
    path = _output(output, (REPORT_SUFFIX[fmt],))
    with db.transaction(app.engine) as session:
        paras = progress_report.build(_round_view(app, session, round_id, day))
    if fmt == "docx":
        write_docx(paras, path)
    else:
        text = progress_report.as_text(paras) if fmt == "txt" else progress_report.as_markdown(paras)
        path.write_text(text, encoding="utf-8")
    click.echo(f"已生成整改进展情况报告：{path}（{len([p for p in paras if p.role == 'item'])} 个问题）")


@click.command("export")
@click.option("--round", "round_id", type=int, help="哪个轮次（只有一个轮次时可省略）。")
@click.option("--date", "day", type=DATE, help="台账填报日期（YYYY-MM-DD），默认为今天。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出的 .xlsx 文件。")
@click.pass_obj
def export_cmd(app: App, round_id: int | None, day: dt.date | None, output: Path) -> None:
    """导出 Excel 整改台账：按红黄绿灯着色，含统计表；可再导入 rectify。"""
    path = _output(output, (".xlsx",))
    with db.transaction(app.engine) as session:
        view = _round_view(app, session, round_id, day)
    write_xlsx(view, path)
    click.echo(f"已导出整改台账：{path}（{len(view.rows)} 个问题）")


@click.command("dashboard")
@click.option("--date", "day", type=DATE, help="截至日期（YYYY-MM-DD），默认为今天。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出的 .html 文件。")
@click.pass_obj
def dashboard_cmd(app: App, day: dt.date | None, output: Path) -> None:
    """生成整改进展看板：一个离线可用的 HTML 文件（各单位、各方面、逾期、升级督办、回头看）。"""
    path = _output(output, (".html", ".htm"))
    data = dashboard.write(app.engine, app.settings, local_today(run_now(day)), path)
    click.echo(f"已生成看板：{path}（问题 {data['total']} 个，逾期 {len(data['overdue'])} 个）")
