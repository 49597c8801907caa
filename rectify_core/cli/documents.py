"""What the office hands up: the progress report, the Excel 台账 and the dashboard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from rectify_core import whole
from rectify_core.cli.app import DATE, App, unit_named
from rectify_core.config.calendar import local_today, run_now
from rectify_core.documents import bulletin, county, dashboard
from rectify_core.documents import report as progress_report
from rectify_core.documents.docx import write_docx
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.ledger import board, db
from rectify_core.ledger import view as ledger_view

NO_ROUNDS = "还没有任何轮次：请先用 rectify import 导入台账或报告"


def _round_view(app: App, session: Any, round_id: int | None, day: dt.date | None) -> ledger_view.RoundView:
    today = local_today(run_now(day))
    directory = app.directory(session)
    rnd = ledger_view.pick_round(round_id, session=session)
    return ledger_view.round_view(rnd, today, app.settings.rules, app.settings.calendar, directory, session=session)


def _output(path: Path, suffixes: tuple[str, ...]) -> Path:
    if path.suffix.lower() not in suffixes:
        raise RectifyError(f"输出文件 {path} 的扩展名应为 {' 或 '.join(suffixes)}")
    if not path.parent.is_dir():
        raise RectifyError(f"输出目录不存在：{path.parent}")
    return path


REPORT_SUFFIX = {"docx": ".docx", "txt": ".txt", "md": ".md", "html": ".html"}


@click.command("report")
@click.option("--round", "round_id", type=int, help="哪个轮次（只有一个轮次时可省略）。")
@click.option("--date", "day", type=DATE, help="报告截至日期（YYYY-MM-DD），默认为今天。")
@click.option("--format", "fmt", type=click.Choice(list(REPORT_SUFFIX)), help="格式，默认按输出文件扩展名。")
@click.option("--public", is_flag=True, help="公开稿（巡察整改情况公开）：不含人名、时限、部门和内部说明，"
              "可直接公布，也可再导入 rectify 核对。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出文件。")
@click.pass_obj
def report_cmd(app: App, round_id: int | None, day: dt.date | None, fmt: str | None, public: bool,
               output: Path) -> None:
    """生成整改进展情况报告（Word 按公文格式，或纯文本、Markdown、网页），可再导入 rectify 核对。"""
    from rectify_core.documents import public as public_version

    fmt = fmt or next((k for k, v in REPORT_SUFFIX.items() if output.suffix.lower() == v), "docx")
    path = _output(output, (REPORT_SUFFIX[fmt],))
    with db.transaction(app.engine) as session:
        view = _round_view(app, session, round_id, day)
        author = county.office_of(view.unit, app.settings, session)
    paras = public_version.build(view) if public else progress_report.build(view)
    if fmt == "docx":
        write_docx(paras, path, author=author)
    else:
        text = {"txt": progress_report.as_text, "md": progress_report.as_markdown,
                "html": public_version.as_html}[fmt](paras)
        whole.write_text(path, text)
    what = "整改进展情况公开稿" if public else "整改进展情况报告"
    click.echo(f"已生成{what}：{path}（{len([p for p in paras if p.role == 'item'])} 个问题）")


@click.command("export")
@click.option("--round", "round_id", type=int,
              help="只导出这个轮次（默认：全部轮次，每个轮次一个工作表，另有汇总表）。")
@click.option("--unit", help="只导出这个被巡察单位的轮次。")
@click.option("--date", "day", type=DATE, help="台账填报日期（YYYY-MM-DD），默认为今天。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出的 .xlsx 文件。")
@click.pass_obj
def export_cmd(app: App, round_id: int | None, unit: str | None, day: dt.date | None, output: Path) -> None:
    """导出 Excel 整改台账：按红黄绿灯着色，含统计表（多个轮次时每个轮次一个工作表，另有汇总表），
    保留台账自有的列（备注等）；可再导入 rectify，回到各自的轮次。"""
    path = _output(output, (".xlsx",))
    today = local_today(run_now(day))
    with db.transaction(app.engine) as session:
        rounds = _rounds(app, session, round_id, unit)
        county.write("ledger.xlsx", rounds, app.settings, today, path, session=session)
        items = ledger_view.counted_items([r for r, _ in rounds], session=session)
    what = f"{len(rounds)} 个轮次，" if len(rounds) > 1 else ""
    click.echo(f"已导出整改台账：{path}（{what}{items} 个问题）")


def _rounds(app: App, session: Any, round_id: int | None, unit: str | None) -> list[tuple[int, str]]:
    """The round asked for, or one unit's rounds, or every round, as (id, unit) in the
    office's order."""
    if round_id is not None:
        rnd = ledger_view.pick_round(round_id, session=session)
        return [(rnd.id, rnd.unit.name)]
    name = unit_named(app, unit, session=session)
    found = [(r, u) for r, u, _ in ledger_view.rounds_in_order(session=session) if name is None or u == name]
    if not found:
        raise NotFoundError(NO_ROUNDS)
    return found


@click.command("dashboard")
@click.option("--unit", help="只看这个被巡察单位（默认：全部单位的汇总看板，单位排名在前）。")
@click.option("--date", "day", type=DATE, help="截至日期（YYYY-MM-DD），默认为今天。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出的 .html 文件。")
@click.pass_obj
def dashboard_cmd(app: App, unit: str | None, day: dt.date | None, output: Path) -> None:
    """生成整改进展看板：一个离线可用的 HTML 文件（单位排名、各单位的方面和部门、逾期、升级督办、回头看）。"""
    path = _output(output, (".html", ".htm"))
    data = dashboard.write(app.engine, app.settings, local_today(run_now(day)), path, unit_named(app, unit))
    click.echo(f"已生成看板：{path}（{data['title'] or '全部单位'}，问题 {data['total']} 个，"
               f"逾期 {data['overdue_count']} 个）")


@click.command("bulletin")
@click.option("--date", "day", type=DATE, help="截至日期（YYYY-MM-DD），默认为今天。")
@click.option("--stale", type=click.IntRange(1, 250), default=bulletin.STALE_WORKDAYS, show_default=True,
              help="连续多少个工作日未报送进展的单位在通报中点名。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path),
              help="输出的 .docx 文件（默认：巡察整改情况通报-日期.docx）。")
@click.pass_obj
def bulletin_cmd(app: App, day: dt.date | None, stale: int, output: Path | None) -> None:
    """生成巡察整改情况通报（Word，公文格式）：总体情况、各单位排名表、逾期问题（按单位）、未按时报送进展的单位。"""
    today = local_today(run_now(day))
    path = _output(output or Path(f"巡察整改情况通报-{today.isoformat()}.docx"), (".docx",))
    settings = app.settings
    with db.transaction(app.engine) as session:
        found = board.read(today, settings.rules, settings.calendar, session=session, words=False)
        if not found.round_ids:
            raise NotFoundError(NO_ROUNDS)
        summary = board.figures(found, settings.config_contacts.office, session=session)
        bulletin.write(bulletin.build(found, summary, settings, today, session=session, stale=stale), path,
                       author=settings.config_contacts.office)
    click.echo(f"已生成巡察整改情况通报：{path}（{len(summary)} 个被巡察单位）")
