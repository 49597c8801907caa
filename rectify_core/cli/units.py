"""Units and the accounts of the clerk's pages: rectify units, rectify accounts."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict

import click
from sqlalchemy import select

from rectify_core.cli.app import App, listing, listing_group
from rectify_core.config.calendar import local_today, run_now
from rectify_core.errors import RectifyError
from rectify_core.ledger import accounts, db, glance, units
from rectify_core.ledger.models import Round, Unit
from rectify_core.vocab import AccountRole


@listing_group("units")
def units_group(app: App, as_json: bool) -> None:
    """被巡察单位：简称、署名单位、轮次、问题数、未完成、逾期、账号数。"""
    today = local_today(run_now(None))
    settings = app.settings
    with db.session_factory(db.reader(app.engine))() as session:
        unit_of = dict(session.execute(select(Round.id, Unit.name).join(Unit, Round.unit_id == Unit.id)).all())
        counted: dict[str, Counter[str]] = defaultdict(Counter)
        for (round_id, status, overdue), n in glance.tally(today, settings.rules, settings.calendar,
                                                           session=session).items():
            counted[unit_of[round_id]].update({status: n, "red": n if overdue else 0})
        found = units.counted_figures(counted, settings.config_contacts.office, session=session)
    listing([f.as_json() for f in found], as_json, "还没有任何被巡察单位：请先用 rectify import 导入台账。",
            lambda f: (f"{f['unit']}（简称 {f['short_name']}）  署名：{f['office']}"
                       f"{'' if f['own_office'] else '（默认）'}  轮次 {f['rounds']}  问题 {f['items']}  "
                       f"未完成 {f['open'] + f['ongoing']}  逾期 {f['overdue']}  完成率 {f['rate']}%  "
                       f"账号 {f['accounts']}"))


@units_group.command("add")
@click.argument("name")
@click.option("--short-name", "short_name", help="简称（用于表格、工作表名等）。")
@click.option("--office", help="署名单位（默认为巡察整改工作办公室）。")
@click.pass_obj
def units_add_cmd(app: App, name: str, short_name: str | None, office: str | None) -> None:
    """在第一份台账到来之前添加被巡察单位（之后导入的台账按名称归入该单位）。"""
    with db.transaction(app.engine) as session:
        added = units.add(name, short=short_name, office=office, session=session).name
    click.echo(f"已添加单位：{added}")


@units_group.command("edit")
@click.argument("unit")
@click.option("--office", help="署名单位：该单位的督办通知和材料由谁署名（空字符串恢复默认）。")
@click.option("--short-name", "short_name", help="简称（用于表格、工作表名等）。")
@click.pass_obj
def units_edit_cmd(app: App, unit: str, office: str | None, short_name: str | None) -> None:
    """修改被巡察单位的署名单位和简称。"""
    if office is None and short_name is None:
        raise RectifyError("请指定要修改的内容：--office 或 --short-name")
    with db.transaction(app.engine) as session:
        found = units.find_unit(unit, session=session)
        changes = units.edit(found, office=office, short=short_name)
        name = found.name
    if not changes:
        click.echo(f"{name}：无变化")
    for field, (old, new) in changes.items():
        label = "署名单位" if field == "office" else "简称"
        click.echo(f"{name}：{label} {old or '（默认）'} → {new or '（默认）'}")


def _password(login: str) -> str:
    """The password, one line on standard input (never an argument: it would be in the shell's history)."""
    if sys.stdin.isatty():
        return str(click.prompt(f"{login} 的密码", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@listing_group("accounts")
def accounts_group(app: App, as_json: bool) -> None:
    """管理页面（/admin）的账号：单位管理员只管本单位，巡察办管全部单位，只读账号只能查看。"""
    with db.session_factory(db.reader(app.engine))() as session:
        rows = accounts.listing(session=session)
    listing(rows, as_json, "还没有任何账号：请用 rectify accounts add 创建。",
            lambda a: f"{a['login']}  {a['role_name']}  {a['unit'] or '全部单位'}")


@accounts_group.command("add")
@click.argument("login")
@click.option("--unit", help="所属单位（单位管理员、本单位只读）。")
@click.option("--all", "all_units", is_flag=True, help="全部单位（巡察办，或全部单位只读）。")
@click.option("--role", type=click.Choice(list(accounts.ROLES)), help="clerk 单位管理员（默认，配 --unit）；"
              "office 巡察办（默认，配 --all）；viewer 只读。")
@click.option("--password-stdin", "password_stdin", is_flag=True, required=True,
              help="从标准输入读取密码（至少 12 个字符），例如 echo \"$PASS\" | rectify accounts add ...")
@click.option("--name", default="", help="使用人姓名（网页上的操作记为“姓名（网页，账号 登录名）”）。")
@click.pass_obj
def accounts_add_cmd(app: App, login: str, unit: str | None, all_units: bool, role: str | None,
                     password_stdin: bool, name: str) -> None:
    """新建账号。"""
    if (unit is None) == (not all_units):
        raise RectifyError("请指定 --unit 单位 或 --all（二选一）")
    role = role or (AccountRole.OFFICE if all_units else AccountRole.CLERK)
    password = _password(login)
    with db.transaction(app.engine) as session:
        scope = units.find_unit(unit, session=session) if unit else None
        account = accounts.add(login, password, role, scope, run_now(None), session=session, name=name)
        label = accounts.scope_of(account, session=session).label
    click.echo(f"已创建账号：{label}")


@accounts_group.command("passwd")
@click.argument("login")
@click.option("--password-stdin", "password_stdin", is_flag=True, required=True, help="从标准输入读取新密码。")
@click.pass_obj
def accounts_passwd_cmd(app: App, login: str, password_stdin: bool) -> None:
    """修改账号密码（已登录的会话随即失效）。"""
    password = _password(login)
    with db.transaction(app.engine) as session:
        accounts.change_password(accounts.find(login, session=session), password, run_now(None))
    click.echo(f"已修改 {login} 的密码；此前登录的会话已失效。")


@accounts_group.command("remove")
@click.argument("login")
@click.pass_obj
def accounts_remove_cmd(app: App, login: str) -> None:
    """删除账号（已登录的会话随即失效）。"""
    with db.transaction(app.engine) as session:
        session.delete(accounts.find(login, session=session))
    click.echo(f"已删除账号 {login}。")


