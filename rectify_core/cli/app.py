"""What every command shares: the App (database and config), dates, output and errors."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import click
from sqlalchemy.orm import Session

from rectify_core import refs
from rectify_core.cli.running import run as run
from rectify_core.config.limits import limits
from rectify_core.errors import RectifyError
from rectify_core.ledger import db
from rectify_core.ledger.office import Office


class App(Office):
    """The command line's office (ledger.office.Office): the database and config a command
    was given, opened on first use. It is the Office itself, not a copy of its parts."""


UNIT_HELP = "只处理该被巡察单位（全称或简称）。"


def unit_named(app: App, unit: str | None, *, session: Session | None = None) -> str | None:
    """The exact name of the unit a --unit names (or a clear error naming the units there are)."""
    if unit is None:
        return None
    from rectify_core.ledger import units

    if session is not None:
        return units.find_unit(unit, session=session).name
    with db.session_factory(db.reader(app.engine))() as reading:
        return units.find_unit(unit, session=reading).name


def dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def listing_group(name: str) -> Callable[[Callable[[App, bool], None]], click.Group]:
    """A command group that, without a subcommand, lists its rows (`body(app, as_json)`,
    usually through `listing`); the body's docstring is the group's help."""

    def make(body: Callable[[App, bool], None]) -> click.Group:
        @click.group(name, invoke_without_command=True, help=inspect.getdoc(body))
        @click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
        @click.pass_context
        def group(ctx: click.Context, as_json: bool) -> None:
            if ctx.invoked_subcommand is None:
                body(ctx.obj, as_json)

        return group

    return make


def listing(data: list[dict[str, Any]], as_json: bool, empty: str, line: Callable[[dict[str, Any]], str]) -> None:
    """What a list command prints: the JSON array, or a line per row (`empty` when none)."""
    if as_json:
        dump(data)
        return
    if not data:
        click.echo(empty)
    for row in data:
        click.echo(line(row))


def width(text: str) -> int:
    """Columns a terminal gives `text`: wide and full-width characters (汉字, ，) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a text table aligned by display width (the last column left ragged)."""
    widths = [max(width(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    return ["  ".join([*(pad(cell, w) for cell, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
            for r in [head, *rows]]


class _Date(click.ParamType):  # type: ignore[type-arg]
    """YYYY-MM-DD -> datetime.date."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"“{value}”不是有效日期（格式 YYYY-MM-DD）", param, ctx)
        lim = limits()
        if not lim.first_year <= day.year <= lim.last_year:
            self.fail(f"{day} 超出支持的日期范围（{lim.first_year}–{lim.last_year} 年，"
                      "可用环境变量 RECTIFY_FIRST_YEAR / RECTIFY_LAST_YEAR 调整）", param, ctx)
        return day


DATE = _Date()


class _ItemRef(click.ParamType):  # type: ignore[type-arg]
    """13 (the sheet's row 13) or 原13 (an item the sheet no longer lists) -> ItemRef."""

    name = "序号"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> refs.ItemRef:
        if isinstance(value, refs.ItemRef):
            return value
        try:
            return refs.parse(str(value))
        except RectifyError as exc:
            self.fail(str(exc), param, ctx)


ITEM = _ItemRef()
ROUND_HELP = "有多个轮次时，指定轮次编号（rectify rounds 可列出）。"
ITEM_UNIT_HELP = "有多个单位时，指定被巡察单位（全称或简称）。"


def item_target(command: Callable[..., Any]) -> Callable[..., Any]:
    """The problem a command acts on: 序号 (13, or 原13 for an item the sheet no longer
    lists), and --round / --unit to say which round when there are several."""
    command = click.option("--unit", help=ITEM_UNIT_HELP)(command)
    command = click.option("--round", "round_id", type=int, help=ROUND_HELP)(command)
    return click.argument("no", type=ITEM, metavar="序号")(command)


EVIDENCE_HELP = ("佐证材料文件（记录文件名、大小与 SHA-256）；看起来像路径的（含 / 或扩展名）"
                 "必须是存在的普通文件，文字说明请用 --evidence-text；可重复。")
