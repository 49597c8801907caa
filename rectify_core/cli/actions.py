"""What people record between imports: progress, extensions, closures, hand-overs."""

from __future__ import annotations

import datetime as dt

import click

from rectify_core.cli.app import DATE, EVIDENCE_HELP, ITEM, App, item_target
from rectify_core.config.calendar import local_today, run_now
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.ledger import db, decisions, items, lifecycle, uploads
from rectify_core.ledger.act import Act
from rectify_core.ledger.evidence import records
from rectify_core.refs import ItemRef
from rectify_core.vocab import ItemState, Role, UnknownStatus
from rectify_core.vocab import normalise as normalise_status


@click.command("extend")
@item_target
@click.option("--to", "to", type=DATE, required=True, help="批准后的新整改时限（YYYY-MM-DD）。")
@click.option("--reason", required=True, help="延期理由。")
@click.option("--approved-by", "approved_by", required=True, help="批准人。")
@click.option("--date", "day", type=DATE, help="批准日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def extend_cmd(app: App, no: ItemRef, to: dt.date, reason: str, approved_by: str,
               round_id: int | None, unit: str | None, day: dt.date | None) -> None:
    """记录一次经批准的延期：写入事件记录，计入延期次数（受上限约束）。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        event = lifecycle.extend(item, to, reason, Act.at(approved_by, now), app.settings, session=session)
        named = item.label
    click.echo(f"已记录：{named}的整改时限由 {event.data['from'] or '未定'} 延至 {event.data['to']}"
               f"（第{event.data['count']}次延期，批准人：{approved_by}）")


def _status(word: str | None) -> ItemState | None:
    if word is None:
        return None
    try:
        return ItemState(normalise_status(word))
    except UnknownStatus as exc:
        raise RectifyError(str(exc)) from None


@click.command("progress")
@item_target
@click.option("--text", required=True, help="进展情况。")
@click.option("--by", "by", required=True, help="报送人。")
@click.option("--status", help=f"同时把状态改为“{ItemState.ONGOING.label}”或“{ItemState.OPEN.label}”"
                                "（完成整改请用 close 销号）。")
@click.option("--evidence", multiple=True, help=EVIDENCE_HELP)
@click.option("--evidence-text", "evidence_text", multiple=True, help="文字形式的佐证说明；可重复。")
@click.option("--date", "day", type=DATE, help="进展日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def progress_cmd(app: App, no: ItemRef, text: str, by: str, status: str | None, evidence: tuple[str, ...],
                 evidence_text: tuple[str, ...], round_id: int | None, unit: str | None, day: dt.date | None) -> None:
    """报送一个未完成问题的整改进展（之后导入的台账不会覆盖它）。完成整改请用 close 销号。"""
    now = run_now(day)
    given = records(list(evidence), list(evidence_text), app.files)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        act = Act.at(by, now)
        lifecycle.record_progress(item, text, act, session=session, status=_status(status),
                                  evidence=uploads.attach(given, item.id, act, session=session))
        state, named = ItemState.label_of(item.status), item.label
    click.echo(f"已记录：{named}的整改进展（{local_today(now)}，报送人 {by}），当前状态：{state}")


@click.command("reassign")
@click.option("--from", "old", required=True, help="原责任人（或责任领导）姓名。")
@click.option("--to", "new", required=True, help="接任者姓名。")
@click.option("--unit", help="只移交这个单位的问题（同名的人在不同单位时需要）。")
@click.option("--role", type=click.Choice(["owner", "leader"]), default="owner", show_default=True,
              help="移交的角色：owner 责任人，leader 责任领导。")
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.option("--date", "day", type=DATE, help="移交日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def reassign_cmd(app: App, old: str, new: str, unit: str | None, role: str, by: str, day: dt.date | None) -> None:
    """人员变动：把某人负责的全部未完成问题移交给接任者，待发的提醒一并转给接任者。"""
    if not new.strip():
        raise RectifyError("请写明接任者姓名（--to）")
    if new.strip() == old.strip():
        raise RectifyError("接任者与原责任人相同，无需移交")
    now = run_now(day)
    with db.transaction(app.engine) as session:
        found = lifecycle.active_items_of(old, Role(role), unit, session=session)
        if not found:
            where = f"{unit}中" if unit else ""
            raise NotFoundError(f"{where}没有由 {old} 担任{'责任人' if role == 'owner' else '责任领导'}的未完成问题")
        units = {i.round.unit.name for i in found}
        if len(units) > 1 and unit is None:
            raise RectifyError(f"{old} 在多个单位都有问题（{'、'.join(sorted(units))}），请用 --unit 指定单位")
        moved = lifecycle.reassign(found, Role(role), old, new.strip(), Act.at(by, now), session=session)
        nos = "、".join(i.label for i in found)
    click.echo(f"已移交：{nos} 由 {old} 移交给 {new.strip()}；待发提醒 {moved} 条已转给 {new.strip()}。")


@click.command("close")
@item_target
@click.option("--evidence", "evidence", multiple=True, help=EVIDENCE_HELP)
@click.option("--evidence-text", "evidence_text", multiple=True, help="文字形式的佐证说明；可重复。至少要有一份佐证。")
@click.option("--by", "by", required=True, help="经办人。")
@click.option("--verified-by", "verified_by", required=True, help="核验人（须为责任人和经办人以外的第二人）。")
@click.option("--date", "day", type=DATE, help="销号日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def close_cmd(app: App, no: ItemRef, evidence: tuple[str, ...], evidence_text: tuple[str, ...], by: str,
              verified_by: str, round_id: int | None, unit: str | None, day: dt.date | None) -> None:
    """销号：凭佐证材料并经第二人核验，把问题标为已完成并记录。"""
    now = run_now(day)
    given = records(list(evidence), list(evidence_text), app.files)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        act = Act.at(by, now)
        proof = uploads.attach(given, item.id, act, session=session)
        closure = lifecycle.close(item, proof, verified_by, act, app.settings, session=session)
        named = item.label
    late = "（逾期完成）" if closure.late else ""
    click.echo(f"已销号：{named}，{closure.closed_on}，经办人 {by}，核验人 {verified_by}，"
               f"佐证材料 {len(closure.evidence)} 份{late}")


@click.command("withdraw")
@item_target
@click.option("--reason", required=True, help="撤销理由（如：经巡察办同意不再列入台账）。")
@click.option("--by", "by", required=True, help="经办人。")
@click.option("--date", "day", type=DATE, help="撤销日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def withdraw_cmd(app: App, no: ItemRef, reason: str, by: str, round_id: int | None, unit: str | None,
                 day: dt.date | None) -> None:
    """撤销一个问题（如台账已删去、经巡察办同意）：不再提醒，不计入统计和报告，保留理由和记录。
    序号是台账中的序号；本次台账未列出的问题写原序号（如 原13）。rectify reinstate 可恢复。"""
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        decisions.withdraw(item, reason, Act.at(by, run_now(day)), session=session)
        shown, title = item.label, item.title
    click.echo(f"已撤销：{shown} {title}（理由：{reason.strip()}）。不再提醒，不计入统计和报告。"
               f"如需恢复：rectify reinstate {no} --round {item.round_id} --by 经办人")


@click.command("merge")
@item_target
@click.option("--into", "into", type=ITEM, required=True, help="并入哪个问题（同一轮次的序号，或 原序号）。")
@click.option("--by", "by", required=True, help="经办人。")
@click.option("--date", "day", type=DATE, help="合并日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def merge_cmd(app: App, no: ItemRef, into: ItemRef, by: str, round_id: int | None, unit: str | None,
              day: dt.date | None) -> None:
    """把一个问题合并到另一个问题（如新台账把两条并成一条）：它的记录并入另一个问题的事件记录，
    自身不再提醒、不计入统计。rectify reinstate 可恢复。"""
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        target = items.get_item(into, session=session, round_id=item.round_id)
        decisions.merge(item, target, Act.at(by, run_now(day)), session=session)
        shown, target_label, where = item.label, target.label, f"{target.ref} --round {item.round_id}"
    click.echo(f"已合并：{shown} 并入{target_label}，其记录可在 rectify show {where} 中查看。")


@click.command("reinstate")
@item_target
@click.option("--by", "by", required=True, help="经办人。")
@click.option("--date", "day", type=DATE, help="恢复日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def reinstate_cmd(app: App, no: ItemRef, by: str, round_id: int | None, unit: str | None, day: dt.date | None) -> None:
    """恢复一个被撤销或合并的问题：回到撤销或合并之前的状态，重新提醒和计入统计。"""
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id, unit=unit)
        decisions.reinstate(item, Act.at(by, run_now(day)), session=session)
        shown, state = item.label, ItemState(item.status).label
    click.echo(f"已恢复：{shown}，当前状态：{state}")
