"""Who cannot be reached: the people holding open items (owners, leaders, first
responsibles, the inspection office) whom no channel reaches, and those whose notices the
outbox gave up on, so a clerk fixes the person and sends again. One query per kind."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from rectify_core.config.people import Contact, Directory, needs
from rectify_core.identity import person_name
from rectify_core.ledger.models import ImUser, Item, ItemHolder, Notice, Round, Unit
from rectify_core.vocab import ACTIVE, ROLE_NAMES, NoticeKind, NoticeState, Role

_RANK = {str(r): n for n, r in enumerate(Role)}  # a person's roles are shown in the order Role lists them


@dataclass(frozen=True)
class Reach:
    """One person of one unit the page has something to say about."""

    name: str
    unit: str
    roles: tuple[str, ...]  # what they hold, in words
    items: int  # open items they hold by name
    why: str | None  # why nothing reaches them; None: they can be reached now
    given_up: tuple[int, ...]  # the outbox's notices given up on for them

    @property
    def reachable(self) -> bool:
        return self.why is None


def why_unreachable(contact: Contact | None, directory: Directory) -> str | None:
    """Why no channel reaches this person, in words; None when one does."""
    if contact is None:
        return "人员名录中没有此人"
    if not contact.notify:
        return "尚未选择通知渠道"
    for url in directory.urls(contact):  # ({email}/{mobile} channels lacking theirs are left out already)
        if needs(url) != "mobile" or contact.mobile or contact.userid(url.split("://", 1)[0].lower()):
            return None
    return "所选通知渠道缺少电子邮箱或手机号"


def _held(unit_ids: list[int] | None, *, session: Session) -> dict[tuple[str, str], tuple[set[str], int]]:
    """(unit, name) -> (their roles, how many open items) for everyone named on an open item."""
    out: dict[tuple[str, str], tuple[set[str], int]] = {}
    query = (select(Unit.name, ItemHolder.name, ItemHolder.role, func.count(distinct(Item.id)))
             .join(Item, ItemHolder.item_id == Item.id).join(Round, Item.round_id == Round.id)
             .join(Unit, Round.unit_id == Unit.id).where(Item.status.in_(ACTIVE))
             .group_by(Unit.name, ItemHolder.name, ItemHolder.role))
    rounds = (select(Unit.name, Round.first_responsible, func.count(Item.id)).join(Unit, Round.unit_id == Unit.id)
              .join(Item, Item.round_id == Round.id)
              .where(Item.status.in_(ACTIVE), Round.first_responsible.is_not(None))
              .group_by(Unit.name, Round.first_responsible))
    if unit_ids is not None:
        query, rounds = query.where(Unit.id.in_(unit_ids)), rounds.where(Unit.id.in_(unit_ids))
    rows = [*session.execute(query),
            *((unit, name, Role.FIRST_RESPONSIBLE, n) for unit, name, n in session.execute(rounds))]
    for unit, name, role, n in rows:
        roles, count = out.get((unit, person_name(name)), (set(), 0))
        out[(unit, person_name(name))] = (roles | {role}, count + n)
    return out


def _given_up(unit_ids: list[int] | None, *, session: Session) -> dict[tuple[str, str], list[int]]:
    query = (select(Unit.name, Notice.recipient, Notice.id).join(Round, Notice.round_id == Round.id)
             .join(Unit, Round.unit_id == Unit.id)
             .where(Notice.state == NoticeState.DEAD, Notice.kind != NoticeKind.ADMIN).order_by(Notice.id))
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for unit, name, notice_id in session.execute(query):
        out[(unit, person_name(name))].append(notice_id)
    return out


def people_to_fix(directory: Directory, unit_ids: list[int] | None, *, session: Session) -> list[Reach]:
    """Everyone holding open items whom nothing reaches, and everyone with notices given
    up on (reachable again or not): the unreachable first, then by unit and name."""
    held = _held(unit_ids, session=session)
    given_up = _given_up(unit_ids, session=session)
    units = {unit for unit, _ in held}
    for unit in units:  # the office and the first responsible the directory names for the unit
        for role in (Role.FIRST_RESPONSIBLE, Role.INSPECTION_OFFICE):
            for name in directory.holders(unit, role):
                roles, count = held.get((unit, person_name(name)), (set(), 0))
                held[(unit, person_name(name))] = (roles | {role}, count)
    out = []
    for unit, name in sorted(set(held) | set(given_up)):
        contact = directory.contact(name, unit)
        why = why_unreachable(contact, directory)
        ids = given_up.get((unit, name), [])
        if why is None and not ids:
            continue
        roles, count = held.get((unit, name), (set(), 0))
        shown = tuple(ROLE_NAMES[r] for r in sorted(roles, key=lambda r: _RANK.get(r, 99)))
        out.append(Reach(contact.name if contact else name, unit, shown, count, why, tuple(ids)))
    return sorted(out, key=lambda r: (r.reachable, r.unit, r.name))


PLATFORMS = {"wecomapp": "企业微信", "dingwork": "钉钉"}


def shared_user_ids(*, session: Session) -> list[tuple[str, str, list[str]]]:
    """(platform, user id, mobiles) where a work platform answered one user id for several
    mobiles: one of those people's notices reach the other. Read from what sends learned."""
    found: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for platform, account, userid, mobile in session.execute(
            select(ImUser.platform, ImUser.account, ImUser.userid, ImUser.mobile).order_by(ImUser.mobile)):
        found[(platform, account, userid)].append(mobile)
    return [(PLATFORMS.get(p, p), u, mobiles) for (p, _, u), mobiles in sorted(found.items()) if len(mobiles) > 1]


def shared_text(shared: list[tuple[str, str, list[str]]]) -> list[str]:
    return [f"{platform}账号 {userid} 对应多个手机号（{'、'.join(mobiles)}）：发给其中一人的通知会送到同一账号，"
            "请核对人员名录中的手机号" for platform, userid, mobiles in shared]
