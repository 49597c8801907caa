"""Commands over the ledger itself: import and its batches, items, show, rounds, audit."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import click

from rectify_core import refs
from rectify_core.cli.app import (
    DATE,
    App,
    dump,
    item_target,
    listing,
    listing_group,
    table,
    unit_named,
)
from rectify_core.config.calendar import run_now
from rectify_core.importers import read_ledger
from rectify_core.importers.audit import audit_ledger
from rectify_core.ledger import batches as batches_mod
from rectify_core.ledger import db, items, recorded, rounds
from rectify_core.ledger.importing import Imported, ImportOptions, change_lines, import_file
from rectify_core.ledger.models import Item
from rectify_core.ledger.store import ImportResult
from rectify_core.vocab import ACTIVE, LABELS, DeadlineKind, ItemState


def report_import(path: Path, result: ImportResult, dry_run: bool = False) -> None:
    head = "试导入（未写入数据库）" if dry_run else "已导入"
    new = "（新轮次）" if result.round_created else ""
    counts = (f"  新增 {len(result.created)} 条，更新 {result.updated} 条，未变化 {result.unchanged} 条，"
              f"序号变化 {len(result.renumbered)} 条，本次台账未列出 {len(result.set_aside)} 条，"
              f"与 rectify 记录不一致 {len(result.disagreements)} 条")
    if result.nothing:
        click.echo(f"{path.name}：{result.unit} / {result.round_name}（轮次 {result.round_id}）无变化，未记录导入批次")
        click.echo(counts)
        _report_aside(result)
        _report_no_deadline(result)
        return
    batch = "" if dry_run else f"，导入批次 {result.batch_id}"
    click.echo(f"{head} {path.name}：{result.unit} / {result.round_name}（轮次 {result.round_id}{new}{batch}）")
    click.echo(counts)
    _report_matches(result)
    _report_aside(result)
    _report_no_deadline(result)
    for heading in result.appended:
        click.echo(f"  新增方面：{heading}（排在本轮已有方面之后，原有方面的顺序和编号不变）")
    for no, title in result.created[:50]:
        click.echo(f"  新增：问题{no} {title}")
    if len(result.created) > 50:
        click.echo(f"  ……另有 {len(result.created) - 50} 条新增")
    for no, words in change_lines(result):
        click.echo(f"  更新：问题{no} {words}")
    for d in result.disagreements:
        click.echo(f"  警告：{d['message']}")


def _report_matches(result: ImportResult) -> None:
    """The mapping, where it is not plain: renumbered rows and rows matched by a close title."""
    shown = [m for m in result.matches if m.moved or not m.basis.startswith("同题")]
    if not shown:
        return
    rows = [(m.old_ref or str(m.old_no), str(m.row_no), m.basis, m.title) for m in shown]
    for line in table(("旧序号", "新序号", "依据", "问题"), rows):
        click.echo(f"  {line}")


def _report_aside(result: ImportResult) -> None:
    for a in result.set_aside:
        state = "" if a.status in ACTIVE else f"，{ItemState.label_of(a.status)}"
        click.echo(f"  本次台账未列出：{a.title}（{a.ref}{state}）")
        if a.status in ACTIVE:
            where = f"--round {result.round_id}"
            click.echo(f"    仍在提醒，请确认：撤销 rectify withdraw {a.ref} {where} --reason \"理由\" --by 经办人；"
                       f"合并 rectify merge {a.ref} --into 序号 {where} --by 经办人")


def _report_no_deadline(result: ImportResult) -> None:
    if not result.no_deadline:
        return
    named = "、".join(refs.label(ref) for ref, _ in result.no_deadline[:20])
    more = f"等 {len(result.no_deadline)} 个问题" if len(result.no_deadline) > 20 else ""
    click.echo(f"  警告：{named}{more}没有整改时限：{recorded.NO_DEADLINE}。"
               f"请补上反馈日期：rectify rounds edit {result.round_id} --feedback-date YYYY-MM-DD"
               "（或导入时加 --feedback-date）")


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只显示将新增、更新哪些问题以及与记录不一致之处，不写数据库。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：新增、更新（字段旧值 → 新值）、不一致、未变化。")
@click.option("--unit", help="被巡察单位名称（默认从文件中识别）。")
@click.option("--round-name", "round_name", help="新轮次的名称（默认从文件标题识别）。")
@click.option("--round", "round_id", type=int, help="把文件导入到已有的这个轮次（编号见 rectify rounds）。")
@click.option("--round-key", "round_key", help="轮次标识：同一单位同一标识的文件属于同一轮次（默认由巡察组和反馈日期、"
                                               "或台账标题生成）。")
@click.option("--feedback-date", "feedback_date", type=DATE,
              help="巡察反馈日期（台账中没有时），用于按规则计算整改时限。")
@click.option("--new-round", is_flag=True, help="确认这是新的一轮巡察（文件与已有轮次的问题大多相同时需要）。")
@click.option("--match", "match", multiple=True, metavar="旧序号=新序号",
              help="指定对应关系：rectify 中的哪个问题是文件中的第几条（如 3=2；本次台账未列出的问题写 原3=2）。"
                   "标题相近、无法自动确定时使用；可重复。")
@click.option("--new", "new", multiple=True, type=int, metavar="新序号",
              help="文件中的这一条是新问题（标题与已有问题相近，但不是同一问题时使用）；可重复。")
@click.option("--date", "day", type=DATE, help="文件所代表的日期（YYYY-MM-DD）：导入批次和事件记在这一天，默认为今天。")
@click.pass_obj
def import_cmd(app: App, file: Path, dry_run: bool, as_json: bool, unit: str | None, round_name: str | None,
               round_id: int | None, round_key: str | None, feedback_date: dt.date | None, new_round: bool,
               match: tuple[str, ...], new: tuple[int, ...], day: dt.date | None) -> None:
    """导入整改进展报告（.txt/.docx/.pdf）或整改台账（.xlsx/.csv/.xls），格式按内容自动识别。

    每次导入是一个可撤销的批次。导入只会补充文件中的新进展：rectify 中已记录的销号、
    进展、延期、移交和回头看结论不会被文件覆盖，不一致之处会逐条提示并记入事件。"""
    opts = ImportOptions(unit, round_name, round_id, round_key, feedback_date, new_round, match, day, new)
    imported = import_file(app.engine, file, opts, dry_run)
    if as_json:  # one round: its result, as before; several: one per round
        one = imported.results[0].as_json() if len(imported.results) == 1 else imported.as_json()
        dump({**one, "dry_run": dry_run, "skipped_sheets": imported.skipped, "notes": imported.notes})
    else:
        report_imported(file, imported, dry_run)


def report_imported(path: Path, imported: Imported, dry_run: bool = False) -> None:
    if len(imported.results) > 1:
        head = "试导入（未写入数据库）" if dry_run else "已导入"
        click.echo(f"{head} {path.name}：{len(imported.results)} 个被巡察单位，各为一个轮次")
        for r in imported.results:
            click.echo(f"  {r.unit} / {r.round_name}（轮次 {r.round_id}{'，新轮次' if r.round_created else ''}）："
                       f"新增 {len(r.created)} 条，更新 {r.updated} 条，未变化 {r.unchanged} 条")
    for result in imported.results:
        report_import(path, result, dry_run)
    if imported.skipped:
        click.echo(f"  未导入的工作表（不是台账）：{'、'.join(imported.skipped)}")
    for note in imported.notes:
        click.echo(f"  说明：{note}")


@listing_group("imports")
def imports_group(app: App, as_json: bool) -> None:
    """列出导入批次（时间、轮次、文件、新增/更新/不一致数量、是否已撤销）。"""
    with db.transaction(app.engine) as session:
        data = [batches_mod.batch_json(b) for b in batches_mod.batches(session=session)]
    listing(data, as_json, "还没有导入过任何文件。", _batch_line)


def _batch_line(b: dict[str, Any]) -> str:
    undone = f"  已于 {b['undone_at']} 撤销" if b["undone_at"] else ""
    where = f"轮次 {b['round_id'] or '—'}（{b['unit']} / {b['round']}）"
    return (f"{b['id']:>4}  {b['at']}  {where}  {b['source']}  新增 {b.get('created', 0)}，"
            f"更新 {b.get('updated', 0)}，不一致 {b.get('disagreements', 0)}{undone}")


@imports_group.command("undo")
@click.argument("batch_id", type=int)
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.pass_obj
def imports_undo_cmd(app: App, batch_id: int, by: str) -> None:
    """撤销一次导入：删除它新增的问题，恢复它改动过的字段。该批次之后问题又有变动时拒绝并列出问题。"""
    with db.transaction(app.engine) as session:
        batch = batches_mod.undo_batch(batch_id, by, run_now(None), session=session)
        counts = dict(batch.counts)
    click.echo(f"已撤销导入批次 {batch_id}（{batch.source_name}）：删除新增的 {counts.get('created', 0)} 条，"
               f"恢复更新过的 {counts.get('updated', 0)} 条。")


def _due_text(item: Item) -> str:
    if item.deadline:
        return item.deadline.isoformat()
    return DeadlineKind.label_of(item.deadline_kind) if item.deadline_kind != DeadlineKind.DATED else "—"


def _print_items(rows: list[Item]) -> None:
    if not rows:
        click.echo("（台账为空：请先用 rectify import 导入）")
        return
    several_units = len({i.round.unit_id for i in rows}) > 1
    several_rounds = len({i.round_id for i in rows}) > len({i.round.unit_id for i in rows})
    for rnd, group in itertools.groupby(rows, key=lambda i: i.round):
        if several_units or several_rounds:  # two 问题3 of two units (or rounds) are told apart
            click.echo(f"【{rnd.unit.name}】" + (f" {rnd.name}（轮次 {rnd.id}）" if several_rounds else ""))
        lines = [(item.ref, ItemState.label_of(item.status), _due_text(item), item.leader or "—",
                  item.title + ("（本次台账未列出）" if not item.listed else "")) for item in group]
        for line in table(("序号", "状态", "时限", "责任领导", "问题"), lines):
            click.echo(line)
    counted = [i for i in rows if i.status in LABELS]
    counts = {label: sum(LABELS[i.status] == label for i in counted) for label in LABELS.values()}
    aside = len(rows) - len(counted)
    click.echo(f"共 {len(counted)} 条：" + "，".join(f"{k} {v}" for k, v in counts.items())
               + (f"（另有已撤销或合并 {aside} 条，不计入）" if aside else ""))


@click.command("items")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.option("--round", "round_id", type=int, help="只列出该轮次（编号）。")
@click.option("--unit", help="只列出该被巡察单位的问题。")
@click.pass_obj
def items_cmd(app: App, as_json: bool, round_id: int | None, unit: str | None) -> None:
    """列出台账中的问题（有多个被巡察单位时按单位分列）。"""
    with db.transaction(app.engine) as session:
        name = unit_named(app, unit, session=session)
        rows = items.list_items(session=session, round_id=round_id, unit=name)
        if as_json:
            dump([items.item_json(i) for i in rows])
        else:
            _print_items(rows)


@click.command("show")
@item_target
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：字段、延期、销号、进展、不一致、通知和全部事件。")
@click.pass_obj
def show_cmd(app: App, no: refs.ItemRef, round_id: int | None, unit: str | None, as_json: bool) -> None:
    """显示一个问题的完整记录：整改措施、延期、销号、进展、提醒和事件。
    序号是台账中的序号；本次台账未列出的问题写原序号（如 原13）。"""
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        if as_json:
            dump(items.trail(item, app.directory(session), session=session))
        else:
            click.echo(items.describe(item, items.events_of(item, session=session)))


@click.command("audit")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：claims 与 findings。")
def audit_cmd(file: Path, as_json: bool) -> None:
    """核对报告概述中的数字与正文是否一致（不写数据库）。"""
    result = audit_ledger(read_ledger(file))
    if as_json:
        dump(result.as_json())
        return
    click.echo(f"概述：{result.claims.get('text', '（未找到）')}")
    if not result.findings:
        click.echo("未发现不一致。")
    for n, finding in enumerate(result.findings, start=1):
        click.echo(f"{n}. {finding['message']}")


@listing_group("rounds")
def rounds_group(app: App, as_json: bool) -> None:
    """列出巡察轮次：编号、单位、名称、巡察组、反馈日期、填报日期、第一责任人、问题数。"""
    with db.transaction(app.engine) as session:
        people = app.directory(session)
        data = rounds.list_rounds(session=session, directory=people)
    listing(data, as_json, "还没有任何轮次：请先用 rectify import 导入。",
            lambda r: f"{r['id']:>4}  {r['unit']} / {r['name']}  巡察组：{r['inspector'] or '—'}  "
                      f"反馈：{r['feedback_date'] or '未知（无法按规则计算时限）'}  填报：{r['report_date'] or '—'}  "
                      f"第一责任人：{r['first_responsible'] or '—'}"
                      + ("（联系人）" if r["first_responsible_from"] == "contacts" else "")
                      + f"  问题 {r['items']} 个")


@rounds_group.command("edit")
@click.argument("round_id", type=int)
@click.option("--feedback-date", "feedback_date", type=DATE, help="巡察反馈日期（YYYY-MM-DD）。")
@click.option("--name", help="轮次名称。")
@click.option("--first-responsible", "first_responsible", help="第一责任人姓名。")
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.pass_obj
def rounds_edit_cmd(app: App, round_id: int, feedback_date: dt.date | None, name: str | None,
                    first_responsible: str | None, by: str) -> None:
    """修改轮次的反馈日期、名称或第一责任人。"""
    changes = {"feedback_date": feedback_date, "name": name, "first_responsible": first_responsible}
    with db.transaction(app.engine) as session:
        rnd = rounds.edit(round_id, changes, by, run_now(None), session=session)
        shown = rounds.round_json(rnd, rnd.unit.name, 0)
    click.echo(f"已修改轮次 {round_id}：{shown['name']}，反馈日期 {shown['feedback_date'] or '未知'}，"
               f"第一责任人 {shown['first_responsible'] or '—'}")
