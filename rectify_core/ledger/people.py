"""The people directory the units keep: one home, edited from the command line (rectify
people) and from the browser (/admin/people).

A person has a name, a unit (or none: serving every unit), a department, a title, roles,
an email, a mobile, and the channels to reach them on, chosen by the names the
administrator configured in contacts.toml's [channels] (a channel URL may say {email} or
{mobile}: it is addressed to each person with theirs). Nobody types an Apprise URL here and
no secret is stored. contacts.toml's own [[person]] entries still count; a person kept here
takes the place of the file's entry of the same name and unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core.config.people import ANY_UNIT, Contact, Directory, needs, normal_email, normal_mobile
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.identity import person_name
from rectify_core.ledger.models import DirectoryPerson, Unit
from rectify_core.vocab import CONTACT_ROLES, ROLE_NAMES, Role

ONE_HOLDER = (Role.FIRST_RESPONSIBLE, Role.INSPECTION_OFFICE)  # one person per unit holds these
USER_IDS = ("wecom_userid", "dingtalk_userid")


@dataclass(frozen=True)
class PersonForm:
    """What a person is, as a clerk's form or the command line gives it."""

    name: str
    department: str | None = None
    title: str | None = None
    roles: tuple[str, ...] = ()
    email: str | None = None
    mobile: str | None = None
    channels: tuple[str, ...] = ()
    supervisor: str | None = None
    user_ids: dict[str, str] = field(default_factory=dict)


def key_of(unit_id: int | None, name: str) -> str:
    """One person per normalised name per unit (0: every unit)."""
    return f"{unit_id or 0}:{person_name(name)}"[:120]


def _text(value: str | None, limit: int) -> str | None:
    text = " ".join((value or "").split())
    return text[:limit] or None


def checked(form: PersonForm, directory: Directory) -> PersonForm:
    """The form made tidy (spaces, an 11-digit mobile), or every problem in one message."""
    problems: list[str] = []
    name = " ".join(form.name.split())
    if not name:
        problems.append("请填写姓名")
    elif len(name) > 100:
        problems.append("姓名过长（不超过 100 字）")
    email = normal_email(form.email) if form.email and form.email.strip() else None
    if form.email and form.email.strip() and email is None:
        problems.append(f"电子邮箱“{form.email.strip()}”格式不对，应如 wangfang@example.gov.cn")
    mobile = normal_mobile(form.mobile) if form.mobile and form.mobile.strip() else None
    if form.mobile and form.mobile.strip() and mobile is None:
        problems.append(f"手机号“{form.mobile.strip()}”格式不对，应为 11 位手机号，如 13800000000")
    unknown = [r for r in form.roles if r not in CONTACT_ROLES]
    if unknown:
        problems.append(f"没有“{'、'.join(unknown)}”这个角色")
    department = _text(form.department, 200)
    if Role.DEPARTMENT_HEAD in form.roles and not department:
        problems.append("部门负责人须写明所负责的部门")
    channels = tuple(dict.fromkeys(c.strip() for c in form.channels if c.strip()))
    problems += _channel_problems(channels, email, mobile, form.user_ids, directory)
    if problems:
        raise RectifyError("；".join(problems))
    return PersonForm(name, department, _text(form.title, 200), tuple(dict.fromkeys(form.roles)), email, mobile,
                      channels, _text(form.supervisor, 100), {k: v for k, v in form.user_ids.items() if v})


def _channel_problems(channels: Iterable[str], email: str | None, mobile: str | None, user_ids: dict[str, str],
                      directory: Directory) -> list[str]:
    problems = []
    for name in channels:
        url = directory.channels.get(name)
        if url is None:
            known = "、".join(directory.channels) or "（管理员尚未配置任何渠道）"
            problems.append(f"没有名为“{name}”的通知渠道（可选：{known}）")
        elif needs(url) == "email" and not email:
            problems.append(f"渠道“{name}”按电子邮箱发送，请填写电子邮箱")
        elif needs(url) == "mobile" and not mobile and not user_ids:
            problems.append(f"渠道“{name}”按手机号发送，请填写手机号")
    return problems


def _clashes(form: PersonForm, unit: Unit | None, directory: Directory, own: DirectoryPerson | None,
             session: Session) -> list[str]:
    """A name another person of the unit has; a role only one person of the unit holds."""
    problems = []
    key = key_of(unit.id if unit else None, form.name)
    other = session.scalar(select(DirectoryPerson).where(DirectoryPerson.key == key))
    where = unit.name if unit else "全部单位"
    if other is not None and other is not own:
        problems.append(f"{where}已有同名人员“{other.name}”，请编辑该人员，或写明区分的姓名")
    unit_name = unit.name if unit else ANY_UNIT
    for role in (r for r in form.roles if r in ONE_HOLDER):
        holders = [c for c in directory.contacts if c.unit == unit_name and role in c.roles
                   and person_name(c.name) not in (person_name(form.name), person_name(own.name) if own else "")]
        if holders:
            problems.append(f"{ROLE_NAMES[role]}只能有一位：{where}已由“{holders[0].name}”担任，请先修改该人员")
    return problems


def _apply(row: DirectoryPerson, form: PersonForm, actor: str, now: dt.datetime) -> None:
    row.name, row.department, row.title, row.roles = form.name, form.department, form.title, list(form.roles)
    row.email, row.mobile, row.channels, row.supervisor = form.email, form.mobile, list(form.channels), form.supervisor
    row.extra = dict(form.user_ids)
    row.key = key_of(row.unit_id, form.name)
    row.updated_at, row.updated_by = now, actor


def add(form: PersonForm, unit: Unit | None, directory: Directory, actor: str, now: dt.datetime, *,
        session: Session) -> DirectoryPerson:
    """A person added to a unit (None: serving every unit); refused in words when the
    form is wrong or clashes with the unit's people."""
    form = checked(form, directory)
    problems = _clashes(form, unit, directory, None, session)
    if problems:
        raise RectifyError("；".join(problems))
    row = DirectoryPerson(unit_id=unit.id if unit else None)
    _apply(row, form, actor, now)
    session.add(row)
    session.flush()
    return row


FIELDS = {"name": "姓名", "department": "部门", "title": "职务", "roles": "角色", "email": "电子邮箱",
          "mobile": "手机号", "channels": "通知渠道", "supervisor": "上级"}


def edit(row: DirectoryPerson, form: PersonForm, directory: Directory, actor: str, now: dt.datetime, *,
         session: Session) -> dict[str, tuple[Any, Any]]:
    """The person changed to the form; what changed, field by field (nothing: nothing written)."""
    form = checked(form, directory)
    unit = session.get(Unit, row.unit_id) if row.unit_id else None
    problems = _clashes(form, unit, directory, row, session)
    if problems:
        raise RectifyError("；".join(problems))
    before = {k: _shown(getattr(row, k)) for k in FIELDS}
    after = {k: _shown(getattr(form, k)) for k in FIELDS}
    changed = {k: (before[k], after[k]) for k in FIELDS if before[k] != after[k]}
    if changed or dict(row.extra or {}) != form.user_ids:
        _apply(row, form, actor, now)
        session.flush()
    return changed


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(ROLE_NAMES.get(v, v) for v in value)
    return value or ""


def find(person_id: int, unit_ids: list[int] | None, *, session: Session) -> DirectoryPerson:
    """A kept person, within the units an account holds (None: every unit)."""
    row = session.get(DirectoryPerson, person_id)
    if row is None or (unit_ids is not None and row.unit_id not in unit_ids):
        raise NotFoundError("没有找到这位人员。")
    return row


def find_named(name: str, unit: Unit | None, *, session: Session) -> DirectoryPerson:
    row = session.scalar(select(DirectoryPerson).where(DirectoryPerson.key == key_of(unit.id if unit else None,
                                                                                         name)))
    if row is None:
        raise NotFoundError(f"{unit.name if unit else '全部单位'}的人员中没有“{name.strip()}”")
    return row


def kept(*, session: Session, unit_ids: list[int] | None = None) -> list[tuple[DirectoryPerson, str]]:
    """The people kept here with their unit's name (ANY_UNIT: every unit), by unit then name."""
    query = (select(DirectoryPerson, Unit.name).outerjoin(Unit, DirectoryPerson.unit_id == Unit.id)
             .order_by(Unit.name.nulls_first(), DirectoryPerson.name))
    if unit_ids is not None:
        query = query.where(DirectoryPerson.unit_id.in_(unit_ids))
    return [(row, unit or ANY_UNIT) for row, unit in session.execute(query)]


def contact_of(row: DirectoryPerson, unit: str) -> Contact:
    """A kept person as the directory's rules read them."""
    extra = row.extra or {}
    return Contact(row.name, unit, tuple(row.roles or ()), tuple(row.channels or ()), row.supervisor, row.title,
                   row.mobile, extra.get("wecom_userid"), extra.get("dingtalk_userid"), row.department, row.email,
                   kept_id=row.id)


def merged(config: list[Contact], *, session: Session) -> list[Contact]:
    """The kept people, then contacts.toml's people that no kept person replaces."""
    own = [contact_of(row, unit) for row, unit in kept(session=session)]
    taken = {(c.unit, person_name(c.name)) for c in own}
    return [*own, *(c for c in config if (c.unit, person_name(c.name)) not in taken)]


def form_of(contact: Contact) -> PersonForm:
    return PersonForm(contact.name, contact.department, contact.title, contact.roles, contact.email,
                      contact.mobile, contact.notify, contact.supervisor,
                      {k: v for k in USER_IDS if (v := getattr(contact, k))})


def as_json(contact: Contact) -> dict[str, Any]:
    """One person as `rectify people list --json` gives them."""
    return {"name": contact.name, "unit": contact.unit, "department": contact.department, "title": contact.title,
            "roles": list(contact.roles), "email": contact.email, "mobile": contact.mobile,
            "channels": [shown_channel(c) for c in contact.notify], "supervisor": contact.supervisor,
            "source": "database" if contact.kept else "contacts.toml"}


def shown_channel(entry: str) -> str:
    """A channel as it may be shown: its name; a URL written in contacts.toml as its scheme
    and, for mail and webhooks, its host (never a key or a password)."""
    if "://" not in entry:
        return entry
    parts = urlsplit(entry)
    host = parts.hostname if parts.scheme in ("mailto", "mailtos", "json", "jsons") else None
    return f"{parts.scheme}://{host or '…'}"
