"""The people directory from the command line: rectify people list|add|edit|remove|import|export.
The same rules as /admin/people: channels by the names the administrator configured."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rectify_core import whole
from rectify_core.cli.app import UNIT_HELP, App, listing
from rectify_core.config.calendar import run_now
from rectify_core.config.people import ANY_UNIT
from rectify_core.errors import RectifyError
from rectify_core.ledger import db, people, people_io
from rectify_core.vocab import CONTACT_ROLES, ROLE_NAMES

ACTOR = "命令行"
ROLES = [str(r) for r in CONTACT_ROLES]
ROLE_HELP = "；".join(f"{r} {ROLE_NAMES[r]}" for r in ROLES)


@click.group("people")
def people_group() -> None:
    """人员名录：姓名、单位、部门、职务、角色、电子邮箱、手机号、通知渠道（按名称选用管理员配置的渠道）。"""


@people_group.command("list")
@click.option("--unit", help=UNIT_HELP)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.pass_obj
def people_list_cmd(app: App, unit: str | None, as_json: bool) -> None:
    """列出人员（数据库中的人员，以及 contacts.toml 中尚未被替代的人员）。"""
    with db.session_factory(db.reader(app.engine))() as session:
        scope = people_io.unit_named(unit, session=session) if unit is not None else None
        wanted = None if unit is None else scope.name if scope else ANY_UNIT
        found = [c for c in app.directory(session).contacts if wanted is None or c.unit == wanted]
    rows = [people.as_json(c) for c in sorted(found, key=lambda c: (c.unit, c.name))]
    listing(rows, as_json, "人员名录为空：请用 rectify people add 添加，或 rectify people import contacts.toml。",
            lambda p: "  ".join(x for x in (
                p["name"], "全部单位" if p["unit"] == ANY_UNIT else p["unit"], p["department"] or "",
                p["title"] or "", "、".join(ROLE_NAMES.get(r, r) for r in p["roles"]), p["email"] or "",
                p["mobile"] or "", "渠道：" + ("、".join(p["channels"]) or "无"),
                "" if p["source"] == "database" else "（contacts.toml）") if x))


def _person_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
            click.option("--unit", required=True, help="所属单位（全称或简称；* 表示服务全部单位，如巡察办）。"),
            click.option("--department", help="部门。"), click.option("--title", help="职务（用于称呼）。"),
            click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
                         help=f"角色，可多次指定：{ROLE_HELP}。"),
            click.option("--email", help="电子邮箱。"), click.option("--mobile", help="手机号。"),
            click.option("--channel", "channels", multiple=True, help="通知渠道名称（contacts.toml [channels]），"
                         "按优先顺序可多次指定。"),
            click.option("--supervisor", help="上级（回头看核查人逾期时提醒谁）。"))):
        command = option(command)
    return command


@people_group.command("add")
@click.argument("name")
@_person_options
@click.pass_obj
def people_add_cmd(app: App, /, name: str, unit: str, **fields: Any) -> None:
    """添加人员。"""
    form = people.PersonForm(name, fields["department"], fields["title"], tuple(fields["roles"]), fields["email"],
                             fields["mobile"], tuple(fields["channels"]), fields["supervisor"])
    with db.transaction(app.engine) as session:
        scope = people_io.unit_named(unit, session=session)
        row = people.add(form, scope, app.directory(session), ACTOR, run_now(None), session=session)
        click.echo(f"已添加人员：{row.name}（{scope.name if scope else '全部单位'}）")


@people_group.command("edit")
@click.argument("name")
@click.option("--unit", required=True, help="所属单位（全称或简称；* 表示全部单位）。")
@click.option("--new-name", "new_name", help="改为此姓名。")
@click.option("--department", help="部门（空字符串清除）。")
@click.option("--title", help="职务（空字符串清除）。")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
              help=f"角色（给出即替换全部角色）：{ROLE_HELP}。")
@click.option("--no-roles", "no_roles", is_flag=True, help="取消全部角色。")
@click.option("--email", help="电子邮箱（空字符串清除）。")
@click.option("--mobile", help="手机号（空字符串清除）。")
@click.option("--channel", "channels", multiple=True, help="通知渠道名称（给出即替换全部渠道）。")
@click.option("--supervisor", help="上级。")
@click.pass_obj
def people_edit_cmd(app: App, /, name: str, unit: str, **given: Any) -> None:
    """修改人员：只改给出的项。contacts.toml 中的人员修改后改由数据库保管。"""
    with db.transaction(app.engine) as session:
        scope = people_io.unit_named(unit, session=session)
        directory = app.directory(session)
        unit_name = scope.name if scope else ANY_UNIT
        contact = directory.contact(name, unit_name)
        if contact is None or contact.unit != unit_name:
            raise RectifyError(f"{scope.name if scope else '全部单位'}的人员中没有“{name.strip()}”")
        base = contact if contact.kept else people_io.translated(contact, directory)
        if isinstance(base, str):
            if not given["channels"]:
                raise RectifyError(f"{contact.name}：{base}；请用 --channel 选择已配置的渠道")
            base = dataclasses.replace(contact, notify=())
        form = _edited(people.form_of(base), given)
        if contact.kept:
            row = people.find_named(contact.name, scope, session=session)
            changed = people.edit(row, form, directory, ACTOR, run_now(None), session=session)
        else:
            people.add(form, scope, directory, ACTOR, run_now(None), session=session)
            changed = {"source": ("contacts.toml", "数据库")}
    if not changed:
        click.echo(f"{contact.name}：无变化")
    for key, (old, new) in changed.items():
        click.echo(f"{contact.name}：{people.FIELDS.get(key, '保管于')} {old or '（无）'} → {new or '（无）'}")


def _edited(form: people.PersonForm, given: dict[str, Any]) -> people.PersonForm:
    """The form with what the command gave (an empty string clears a field)."""
    def pick(key: str, was: str | None) -> str | None:
        return was if given[key] is None else str(given[key])

    roles = () if given["no_roles"] else tuple(given["roles"]) or form.roles
    return people.PersonForm(given["new_name"] or form.name, pick("department", form.department),
                             pick("title", form.title), roles, pick("email", form.email), pick("mobile", form.mobile),
                             tuple(given["channels"]) or form.channels, pick("supervisor", form.supervisor),
                             form.user_ids)


@people_group.command("remove")
@click.argument("name")
@click.option("--unit", required=True, help="所属单位（全称或简称；* 表示全部单位）。")
@click.pass_obj
def people_remove_cmd(app: App, name: str, unit: str) -> None:
    """从数据库中删除人员（contacts.toml 中的人员须在文件中删除）。"""
    with db.transaction(app.engine) as session:
        scope = people_io.unit_named(unit, session=session)
        row = people.find_named(name, scope, session=session)
        session.delete(row)
        shown = row.name
    click.echo(f"已删除人员：{shown}（{scope.name if scope else '全部单位'}）")


@people_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.pass_obj
def people_import_cmd(app: App, path: Path) -> None:
    """把 contacts.toml 的 [[person]] 导入数据库（已有的人员保持不变；全部成功或全部不导入）。"""
    with db.transaction(app.engine) as session:
        done = people_io.bring_in(path, app.directory(session), ACTOR, run_now(None), session=session)
    click.echo(f"已导入 {len(done.added)} 人；已在数据库中、保持不变 {len(done.kept)} 人；"
               f"未导入 {len(done.left)} 人。")
    for line in done.left:
        click.echo(f"  未导入：{line}")


@people_group.command("export")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--unit", help=UNIT_HELP)
@click.pass_obj
def people_export_cmd(app: App, path: Path | None, unit: str | None) -> None:
    """把数据库中的人员导出为 contacts.toml 的 [[person]]（不给文件名则输出到屏幕）。"""
    with db.session_factory(db.reader(app.engine))() as session:
        scope = people_io.unit_named(unit, session=session) if unit else None
        rows = people.kept(session=session, unit_ids=[scope.id] if scope else None)
        text = people_io.export_text(rows)
    if path is None:
        click.echo(text, nl=False)
        return
    whole.write_text(path, text)
    click.echo(f"已导出 {len(rows)} 人：{path}")
