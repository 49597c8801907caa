"""结果考评 on the command line: rectify scores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from rectify_core.cli.app import DATE, App, dump, table
from rectify_core.config.calendar import local_today, run_now
from rectify_core.errors import RectifyError
from rectify_core.ledger import db, scores

HEAD = ("排名", "单位", "得分", "等次", "问题", "按期完成率", "逾期", "逾期工作日", "延期", "反弹", "未回应提醒",
        "无佐证销号", "未报进展")


def _row(s: dict[str, Any]) -> list[str]:
    score = "—" if s["score"] is None else f"{s['score']:g}"
    return [str(s["rank"] or "—"), s["unit"], score, s["grade"], str(s["items"]), f"{s['on_time_rate']:g}%",
            str(s["overdue_items"]), str(s["overdue_working_days"]), str(s["extensions"]),
            f"{s['rebounds']}/{s['looked_back']}", f"{s['reminders'] - s['answered']}/{s['reminders']}",
            f"{s['closures'] - s['closures_with_evidence']}/{s['closures']}",
            f"{s['progress_missed']}/{s['progress_due']}"]


def _explain(s: dict[str, Any]) -> list[str]:
    lines = [f"【{s['unit']}】得分 {'—' if s['score'] is None else format(s['score'], 'g')}，{s['grade']}"
             + (f"，第{s['rank']}名" if s["rank"] else "")]
    lines += [f"  {d['text']}" for d in s["deductions"]] or ["  无扣分"]
    return lines


def _show(data: list[dict[str, Any]], as_json: bool, explain: bool, heading: str) -> None:
    if as_json:
        dump(data)
        return
    if not data:
        click.echo("还没有任何被巡察单位：请先用 rectify import 导入台账。")
        return
    click.echo(heading)
    if explain:
        for s in data:
            click.echo("\n".join(_explain(s)))
        return
    click.echo("\n".join(table(HEAD, [_row(s) for s in data])))


@click.command("scores")
@click.option("--unit", help="只显示该被巡察单位（全称或简称）；排名仍在全部单位中计算。")
@click.option("--date", "day", type=DATE, help="考评截至日期（默认今天；固定时默认考评期最后一天与今天中较早者）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出：每个单位一个对象。")
@click.option("--explain", is_flag=True, help="逐条列出扣分：问题、事实和依据的规则。")
@click.option("--period", help="考评期，如 2026Q4：不加 --freeze 时显示该期已固定的结果。")
@click.option("--freeze", is_flag=True, help="把 --period 的考评结果固定下来（连同所用规则），以后的改动不再影响。")
@click.option("--force", is_flag=True, help="重新固定已固定的考评期（原结果保留并标记为已替换）。")
@click.option("--by", help="固定考评结果的经办人。")
@click.pass_obj
def scores_cmd(app: App, unit: str | None, day: dt.date | None, as_json: bool, explain: bool, period: str | None,
               freeze: bool, force: bool, by: str | None) -> None:
    """结果考评：按各单位自己的整改记录打分（按期完成、逾期、延期、反弹、回应提醒、销号佐证、报送进展），说明每一项扣分，并可按季度固定结果。"""
    if (freeze or force) and not period:
        raise RectifyError("固定考评结果须指定考评期", hint="--period 2026Q4")
    now = run_now(day)
    if freeze and period:
        end = scores.period_end(period)
        as_of = day or min(end, local_today(now))
        with db.transaction(app.engine) as session:
            snap = scores.freeze(period, as_of, by, now, app.settings, session=session, force=force)
            data = scores.of_unit(snap.scores, unit, session=session)
            heading = f"{snap.period} 考评结果已固定（截至 {snap.as_of}）"
    elif period:
        with db.session_factory(db.reader(app.engine))() as session:
            snap = scores.frozen(period, session=session)
            data = scores.of_unit(snap.scores, unit, session=session)
            heading = f"{snap.period} 考评结果（截至 {snap.as_of}，固定于 {local_today(snap.frozen_at)}）"
    else:
        as_of = day or local_today(now)
        with db.session_factory(db.reader(app.engine))() as session:
            found = [s.as_json() for s in scores.compute(as_of, app.settings, session=session)]
            data = scores.of_unit(found, unit, session=session)
        heading = f"结果考评（截至 {as_of}）"
    _show(data, as_json, explain, heading)
