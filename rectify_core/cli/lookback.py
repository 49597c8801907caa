"""回头看 by hand: plan, assign, list, stats and record look-back checks."""

from __future__ import annotations

import datetime as dt

import click

from rectify_core import refs
from rectify_core.cli.app import (
    DATE,
    EVIDENCE_HELP,
    App,
    dump,
    item_target,
    listing,
    pad,
    unit_named,
)
from rectify_core.config.calendar import local_today, run_now
from rectify_core.ledger import db, items, lookback, uploads
from rectify_core.ledger.act import Act
from rectify_core.ledger.evidence import records
from rectify_core.runs import views


@click.group("lookback")
def lookback_group() -> None:
    """回头看：抽查已销号问题，防止反弹回潮。"""


@lookback_group.command("plan")
@click.option("--date", "day", type=DATE, help="按哪一天抽选（YYYY-MM-DD），默认为今天。")
@click.option("--seed", help="随机抽查的种子（默认由日期生成，可复现）。")
@click.option("--unit", help="只显示这个单位（全称或简称；默认每个单位）。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_obj
def lookback_plan_cmd(app: App, day: dt.date | None, seed: str | None, unit: str | None, as_json: bool) -> None:
    """显示当天的回头看抽选结果及理由，按单位分列，与同一天、同一种子的 lookback assign
    选中的完全相同（不分派任务、不写数据库）。"""
    today = local_today(run_now(day))
    seed = seed or lookback.default_seed(today)
    with db.transaction(app.engine) as session:
        draws = lookback.draw(today, app.settings.rules, session=session, seed=seed,
                              unit=unit_named(app, unit, session=session))
        data = {"date": today.isoformat(), "seed": seed,
                "selected": [s for d in draws for s in d.selected],
                "units": [{"unit": d.unit, "assigned": d.recorded is not None, "selected": d.selected}
                          for d in draws]}
    if as_json:
        dump(data)
        return
    click.echo(views.lookback_plan_text(data))


@lookback_group.command("assign")
@click.option("--date", "day", type=DATE, help="抽选日期（YYYY-MM-DD），默认为今天。")
@click.option("--seed", help="随机抽查的种子（默认由日期生成）。")
@click.option("--unit", help="只抽选这个单位（全称或简称；默认每个单位各抽选一次）。")
@click.pass_obj
def lookback_assign_cmd(app: App, day: dt.date | None, seed: str | None, unit: str | None) -> None:
    """执行当天的回头看抽选并分派任务（同一天重复执行不会重复分派）。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        directory = app.directory(session)
        result = lookback.assign(local_today(now), now, app.settings.rules, app.settings.calendar,
                                 directory, session=session, seed=seed, unit=unit_named(app, unit, session=session))
    click.echo(f"{result.run_on} 回头看抽选（种子 {result.seed}，{len(result.sweeps)} 个单位）："
               f"选中 {len(result.selected)} 项，本次新分派 {result.assigned} 项任务。")


@lookback_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.option("--date", "day", type=DATE, help="按哪一天判断是否逾期，默认为今天。")
@click.pass_obj
def lookback_list_cmd(app: App, as_json: bool, day: dt.date | None) -> None:
    """列出回头看任务：待完成、已逾期、已完成。"""
    today = local_today(run_now(day))
    with db.transaction(app.engine) as session:
        data = [views.task_json(t, today) for t in lookback.tasks(session=session)]
    listing(data, as_json, "没有回头看任务。",
            lambda t: f"{pad(refs.label(t['ref']), 8)} {pad(views.TASK_STATES[t['state']], 6)} "
                      f"检查人 {t['reviewer'] or '未指定'}  截止 {t['due']}  {t['outcome'] or ''}  {t['title']}")


@lookback_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_obj
def lookback_stats_cmd(app: App, as_json: bool) -> None:
    """回头看统计：已检查、巩固、反弹及反弹率（总体、按轮次、按方面）。"""
    with db.transaction(app.engine) as session:
        data = lookback.stats(session=session)
    if as_json:
        dump(data)
        return
    click.echo(views.lookback_stats_text(data))


@lookback_group.command("record")
@item_target
@click.option("--outcome", required=True, help="结论：巩固 或 反弹。")
@click.option("--note", required=True, help="检查情况说明。")
@click.option("--evidence", multiple=True, help=EVIDENCE_HELP)
@click.option("--evidence-text", "evidence_text", multiple=True, help="文字形式的检查佐证；可重复。")
@click.option("--by", "by", required=True, help="检查人。")
@click.option("--date", "day", type=DATE, help="检查日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def lookback_record_cmd(app: App, no: refs.ItemRef, outcome: str, note: str, evidence: tuple[str, ...],
                        evidence_text: tuple[str, ...], by: str,
                        round_id: int | None, unit: str | None, day: dt.date | None) -> None:
    """记录回头看结论：巩固则任务完成；反弹则重新打开问题并关联原销号记录。"""
    now = run_now(day)
    given = records(list(evidence), list(evidence_text), app.files)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        act = Act.at(by, now)
        lookback.record(item, outcome, note, uploads.attach(given, item.id, act, session=session), act,
                        app.settings, session=session)
        if outcome == "反弹":
            click.echo(f"{item.label}反弹回潮：已重新打开（第{item.rebound_count}次反弹），新整改时限 {item.deadline}，"
                       "督办从上一级开始。")
        else:
            click.echo(f"{item.label}回头看结论：巩固。")
