"""The daily chase by hand: check, notify, the outbox and the local mail sink."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from rectify_core import refs
from rectify_core.cli.app import DATE, ITEM, UNIT_HELP, App, listing, pad, unit_named
from rectify_core.config.calendar import local_today, run_now
from rectify_core.delivery import outbox
from rectify_core.errors import RectifyError
from rectify_core.ledger import db, items, reach
from rectify_core.runs import check, daily, views
from rectify_core.vocab import NOTICE_STATES


@click.command("check")
@click.option("--date", "day", type=DATE, help="检查哪一天（YYYY-MM-DD），默认为上海时间的今天。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组（按台账顺序，边计算边输出）。")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="输出 JSON Lines：每行一个问题（适合很大的台账）。")
@click.option("--unit", help=UNIT_HELP)
@click.pass_obj
def check_cmd(app: App, day: dt.date | None, as_json: bool, as_jsonl: bool, unit: str | None) -> None:
    """计算某一天每个未完成问题的时限、剩余工作日、红黄绿灯和应提醒的人（只计算，不发送）。"""
    today = local_today(run_now(day))
    unit = unit_named(app, unit)
    if as_json or as_jsonl:
        estimated = check.write_json(app.engine, app.settings, today, sys.stdout, unit=unit, lines=as_jsonl)
        if estimated:
            click.echo(views.estimated_years_warning(estimated), err=True)
        return
    listed = list(daily.iter_item_plans(app.engine, app.settings, today, unit))
    warning = views.estimated_warning(listed)
    if warning:
        click.echo(warning, err=True)
    click.echo(views.check_text(listed, today, app.settings.calendar))


@click.command("notify")
@click.option("--date", "day", type=DATE, help="按哪一天计划和发送（YYYY-MM-DD），默认为上海时间的今天。")
@click.option("--dry-run", is_flag=True, help="只显示将要发给谁，不写数据库、不发送。")
@click.option("--unit", help=UNIT_HELP)
@click.pass_obj
def notify_cmd(app: App, day: dt.date | None, dry_run: bool, unit: str | None) -> None:
    """计划当天的提醒，写入发件箱，按人合并成一条摘要发送，并报告结果。"""
    now = run_now(day)
    unit = unit_named(app, unit)
    if dry_run:
        plan = daily.plan_stage(app.engine, app.settings, local_today(now), unit)
        warning = views.estimated_warning(plan.plans)
        if warning:
            click.echo(warning, err=True)
        click.echo(views.dry_run_text(plan))
        return
    with db.present(app.url):  # a restore is refused while this sends
        tally = daily.plan_and_enqueue(app.engine, app.settings, local_today(now), now, unit)
        if warning := views.estimated_years_warning(tally.estimated):
            click.echo(warning, err=True)
        report = daily.deliver_stage(app.engine, app.settings, daily.directory_of(app.engine, app.settings), now,
                                     unit=unit)
    click.echo(views.notify_text(report, tally.enqueued))
    with db.session_factory(db.reader(app.engine))() as session:
        for line in reach.shared_text(reach.shared_user_ids(session=session)):
            click.echo(f"注意：{line}。", err=True)
    if note := app.settings.calendar.next_year_note(local_today(now)):
        click.echo(f"注意：{note}。", err=True)
    if report.failed:
        sys.exit(4)


@click.group("outbox", invoke_without_command=True)
@click.option("--state", type=click.Choice(outbox.STATES), help="只列出该状态的通知。")
@click.option("--item", "item_no", type=ITEM, help="只列出该问题的通知（序号，或本次台账未列出问题的 原序号）。")
@click.option("--round", "round_id", type=int, help="与 --item 一起使用：有多个轮次时指定轮次。")
@click.option("--person", help="只列出发给此人的通知。")
@click.option("--unit", help=UNIT_HELP)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.pass_context
def outbox_cmd(ctx: click.Context, state: str | None, item_no: refs.ItemRef | None, round_id: int | None,
               person: str | None, unit: str | None, as_json: bool) -> None:
    """列出发件箱中的通知（最新的在前）；outbox resend 重发已放弃的通知。"""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with db.transaction(app.engine) as session:
        item_id = (items.get_item(item_no, session=session, round_id=round_id, unit=unit).id
                   if item_no is not None else None)
        rows = outbox.list_notices(state, session=session, item_id=item_id, person=person,
                                   unit=unit_named(app, unit, session=session))
        data = [views.notice_json(n) for n in rows]
    several = len({n["unit"] for n in data}) > 1
    listing(data, as_json, "发件箱中没有符合条件的通知。",
            lambda n: f"{n['id']:>6}  {NOTICE_STATES[n['state']]:<6} {n['unit'] + ' ' if several else ''}"
                      f"{pad(refs.label(n['item_ref']), 8)} {n['recipient']}"
                      f"（{n['recipient_unit']}，{n['step']}，时限 {n['due']}，尝试 {n['attempts']} 次）"
                      + (f"  错误：{n['last_error']}" if n["last_error"] else ""))


@outbox_cmd.command("resend")
@click.argument("ids", type=int, nargs=-1, required=True)
@click.pass_obj
def outbox_resend_cmd(app: App, ids: tuple[int, ...]) -> None:
    """把已放弃（或超出上限）的通知重新排队，例如在 contacts.toml 中补全联系方式之后；下次 notify 时发送。"""
    with db.transaction(app.engine) as session:
        done = outbox.resend(list(ids), run_now(None), session=session)
    click.echo(f"已重新排队 {len(done)} 条通知：{'、'.join(str(n.id) for n in done)}。运行 rectify notify 发送。")


@outbox_cmd.command("release")
@click.argument("ids", type=int, nargs=-1)
@click.option("--all", "every", is_flag=True, help="放行全部暂停的通知。")
@click.pass_obj
def outbox_release_cmd(app: App, ids: tuple[int, ...], every: bool) -> None:
    """放行从备份恢复后暂停的通知（备份时正等待或正在发送，恢复后不会自动发送）；下次 notify 时发送。
    先用 rectify outbox --state held 查看。"""
    if bool(ids) == every:
        raise RectifyError("请给出要放行的通知编号，或用 --all 放行全部暂停的通知（二选一）")
    with db.transaction(app.engine) as session:
        done = len(outbox.release(None if every else list(ids), run_now(None), session=session))
    click.echo(f"已放行 {done} 条暂停的通知；下次 notify 时发送。")


@click.command("mailsink")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="邮件保存目录，默认为数据目录下的 mail/。")
@click.option("--port", type=int, default=8025, show_default=True, help="监听端口（仅 127.0.0.1）。")
def mailsink_cmd(directory: Path | None, port: int) -> None:
    """在本机启动一个测试用邮件服务器，把收到的每封邮件存为 .eml 文件（Ctrl-C 停止）。"""
    from rectify_core.delivery.mailsink import MailSink

    target = directory or db.default_database_path().parent / "mail"
    with MailSink(target, port):
        click.echo(f"本地邮件服务器：127.0.0.1:{port}，邮件保存在 {target}（Ctrl-C 停止）")
        import time

        while True:
            time.sleep(3600)
