"""The working-day calendar from the command line: which years are official and which
estimated (rectify calendar), and next year's schedule read from the State Council's
notice (rectify calendar import 通知.txt|.docx|.html)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import click

from rectify_core import whole
from rectify_core.cli.app import App
from rectify_core.config.calendar import local_today, run_now
from rectify_core.config.holiday_notice import Notice, parse_notice
from rectify_core.errors import RectifyError
from rectify_core.importers.source import decode, open_source

ESTIMATED = "估算（周末和法定节日；调休以国务院办公厅通知为准，发布后请用 rectify calendar import 读入）"


@click.group("calendar", invoke_without_command=True)
@click.pass_context
def calendar_group(ctx: click.Context) -> None:
    """工作日历：哪些年份按国务院办公厅公布的节假日安排计算，哪些年份为估算；calendar import 读入新一年的通知。"""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    cal, this = app.settings.calendar, local_today(run_now(None)).year
    for year in range(this - 1, this + 3):
        official = not cal.is_estimated(dt.date(year, 1, 1))
        click.echo(f"{year} 年：" + ("按官方节假日安排计算" if official else ESTIMATED))


def _text(path: Path) -> str:
    """The notice's words, from a text file, a Word document or a saved web page."""
    source = open_source(path)
    if source.kind == "docx":
        from docx import Document

        return "\n".join(p.text for p in Document(io.BytesIO(source.data)).paragraphs)
    if source.kind == "html":
        from lxml import html

        return "\n".join(line.strip() for line in html.fromstring(source.data).text_content().splitlines())
    if source.kind != "text":
        raise RectifyError(f"{path}：请提供通知的文本（.txt）、Word（.docx）或网页（.html）")
    return decode(source.data, str(path))


def _shown(notice: Notice) -> list[str]:
    lines = []
    for name, days in notice.off.items():
        off = f"{days[0].month}月{days[0].day}日" + (f"至{days[-1].month}月{days[-1].day}日" if len(days) > 1 else "")
        work = "、".join(f"{d.month}月{d.day}日" for d in notice.work.get(name, []))
        lines.append(f"  {name}：{off}放假，共{len(days)}天" + (f"；{work}上班" if work else ""))
    return lines


@calendar_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="确认写入配置目录的 calendar.toml（不加时只显示读到的安排）。")
@click.pass_obj
def calendar_import_cmd(app: App, path: Path, yes: bool) -> None:
    """读入国务院办公厅的节假日安排通知，先显示读到的放假和调休上班日期，确认后写入 calendar.toml。"""
    notice = parse_notice(_text(path))
    click.echo(f"{notice.year} 年节假日安排（读自 {path.name}）：")
    for line in _shown(notice):
        click.echo(line)
    if not app.settings.calendar.is_estimated(dt.date(notice.year, 1, 1)):
        click.echo(f"{notice.year} 年已按官方安排计算，无需写入。")
        return
    if not yes:
        click.echo("以上为预览，未写入。核对无误后加 --yes 写入配置目录的 calendar.toml。")
        return
    if app.config is None:
        raise RectifyError("没有配置目录：请用 --config 指定（或设置 RECTIFY_CONFIG_DIR）后再写入", hint="--config")
    target = app.config / "calendar.toml"
    before = target.read_text(encoding="utf-8") if target.exists() else ""
    whole.write_text(target, before + notice.as_toml())
    click.echo(f"已写入 {target}：{notice.year} 年起按官方节假日安排计算。")
