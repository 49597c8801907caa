"""What a personal page shows: the person's items (as owner, leader or first
responsible of the round) with light, due date, the step they were last asked at,
requests and history; and the requests waiting for their decision. A handful of
queries per page, whatever the size of the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, bindparam, exists, func, select, type_coerce
from sqlalchemy.orm import Session, joinedload

from rectify_core import refs, vocab
from rectify_core.config.settings import Settings
from rectify_core.deadlines.due import due_of, light, open_ended
from rectify_core.deadlines.types import Obligation
from rectify_core.errors import NotFoundError
from rectify_core.identity import person_name
from rectify_core.ledger import approvals, obligations
from rectify_core.ledger.db import row_type
from rectify_core.ledger.items import event_text, when
from rectify_core.ledger.models import Event, Item, ItemHolder, ItemRequest, Notice, Person, Round, Unit, Upload
from rectify_core.ledger.obligations import plan_item_of
from rectify_core.vocab import ACTIVE, ASKED, ROLE_NAMES, ItemState, NoticeKind, Role, light_label

DONE_SHOWN = 20
MEASURES_SHOWN = 120
SYSTEM_ACTORS = {"import": "", "rectify": "", "": ""}  # rectify's own events carry no person


def acts_on(roles: list[str]) -> bool:
    """Owners and leaders act on an item; a first responsible only follows it."""
    return any(r in ("owner", "leader") for r in roles)


@dataclass(slots=True)
class Card:
    """One item on a personal page: `item` is the ORM item on an item's own page, a row of
    only the columns a card shows on the list (see _CARD)."""

    item: Any
    roles: list[str]
    light: str | None
    due: dt.date | None
    left: int | None
    step: str = ""
    history: list[tuple[str, str, str]] = field(default_factory=list)  # (when, what, who)
    requests: list[ItemRequest] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)

    @property
    def light_name(self) -> str:
        return light_label(self.light, "—")

    @property
    def round_name(self) -> str:
        return str(self.item.round.name if isinstance(self.item, Item) else self.item.round_name)

    @property
    def status(self) -> str:
        return ItemState.label_of(self.item.status)

    @property
    def role_names(self) -> str:
        return "、".join(ROLE_NAMES[r] for r in self.roles)

    @property
    def asked(self) -> str:
        return ASKED.get(self.roles[0], "请关注") if self.roles else ""

    @property
    def active(self) -> bool:
        return self.item.status in ACTIVE

    @property
    def actor(self) -> bool:
        return self.active and acts_on(self.roles)

    @property
    def pending(self) -> dict[str, ItemRequest]:
        return {r.kind: r for r in self.requests if r.state == approvals.PENDING}

    @property
    def due_text(self) -> str:
        return f"{self.due.isoformat() if self.due else '未定'}（{self.left_text()}）"

    @property
    def measures_short(self) -> str:
        """The measures as a card shows them: their first 120 characters."""
        text = self.item.measures_text or ""
        return text if len(text) <= MEASURES_SHOWN else text[:MEASURES_SHOWN - 1] + "…"

    def left_text(self) -> str:
        if self.left is None:
            return "时限未定"
        if self.left > 0:
            return f"还剩{self.left}个工作日"
        return "今天到期" if self.left == 0 else f"已逾期{-self.left}个工作日"


@dataclass
class Decision:
    request: ItemRequest
    item: Item
    uploads: list[Upload]


@dataclass
class PersonView:
    unit: str
    name: str
    today: dt.date
    cards: list[Card]
    done: list[Card]
    decisions: list[Decision]


# a list page reads only what its cards show and what the planner needs, as plain rows, with
# statements built once (building and compiling a statement cost more than running it); the
# step last asked for and whether the item has requests come with each row (an index lookup
# each), so a page whose items have no requests runs no query for them
def _last_step(item_id: Any) -> Any:
    """The step the newest notice of an item asked for."""
    return (select(Notice.step_name).where(Notice.item_id == item_id, Notice.kind == NoticeKind.ITEM)
            .order_by(Notice.id.desc()).limit(1))


_STEP = _last_step(Item.id).correlate(Item).scalar_subquery()
_STEP_OF = _last_step(bindparam("item"))  # an item's own page
_ASKED = exists().where(ItemRequest.item_id == Item.id).correlate(Item)
_CARD = (Item.id, Item.round_id, Round.name.label("round_name"), Unit.name.label("unit"),
         Item.ref.label("ref"), Item.title, type_coerce(Item.status, String).label("status"),
         type_coerce(Item.deadline_kind, String).label("deadline_kind"), Item.deadline, Item.extended_to,
         Round.feedback_date, Item.owner, Item.leader, Item.overdue_since, Item.rebound_count,
         Round.first_responsible, Item.department, Item.listed, Item.measures_text, Item.progress,
         Item.progress_on, Item.acknowledged_on, Item.acknowledged_by, Item.done_on, _STEP.label("step"),
         _ASKED.label("has_requests"))
_OF_UNIT = (select(*_CARD).join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
            .where(Unit.name == bindparam("unit")))
_HELD = (_OF_UNIT.add_columns(ItemHolder.role).join(ItemHolder, ItemHolder.item_id == Item.id)
         .where(ItemHolder.name == bindparam("key")))
_FIRST = _OF_UNIT.where(Round.first_responsible == bindparam("name"), Item.status.in_(ACTIVE),
                        func.coalesce(Item.extended_to, Item.deadline) < bindparam("today"))
_HELD_ONE = _HELD.where(Item.id == bindparam("item"))
_FIRST_ONE = _FIRST.where(Item.id == bindparam("item"))
_LEADS = (select(Round.id).join(Unit, Round.unit_id == Unit.id)
          .where(Unit.name == bindparam("unit"), Round.first_responsible == bindparam("name")).limit(1))
# a verifier the ledger recorded (imports keep role holders as Person rows)
_VERIFIES = (select(Person.id).join(Unit, Person.unit_id == Unit.id)
             .where(Unit.name == bindparam("unit"), Person.name == bindparam("name"), Person.role == Role.VERIFIER)
             .limit(1))
_PLANNED = 17  # _CARD's first columns are Obligation's first fields, in order


def obligation_of(row: Any) -> Obligation:
    """A card's row as the planner sees an item."""
    return Obligation(*row[:_PLANNED])


# both of a person's standing roles at once, for their list page: one query, not two
_STANDING = select(_LEADS.exists().label("leads"), _VERIFIES.exists().label("verifies"))


def _leads_round(unit: str, name: str, *, session: Session) -> bool:
    """Is `name` the first responsible of a round of `unit`?"""
    return session.connection().execute(_LEADS, {"unit": unit, "name": name}).first() is not None


# card rows as plain named tuples: a card's fields are read some fifteen times a card
_HeldRow = row_type(_HELD, "HeldRow")
_FirstRow = row_type(_FIRST, "FirstRow")


def _rows_of(unit: str, name: str, today: dt.date, *, session: Session, leads: bool,
             item_id: int | None = None) -> list[tuple[Any, list[str]]]:
    """Items of `unit` where `name` is an owner or leader (through the holders index), and,
    for a round's first responsible, the round's items past their date; each with the
    person's roles on it, as card rows. With `item_id`, that item only, if theirs."""
    connection = session.connection()
    one = {} if item_id is None else {"item": item_id}
    found: dict[int, tuple[Any, list[str]]] = {}
    for row in map(_HeldRow._make, connection.execute(_HELD if item_id is None else _HELD_ONE,
                                                      {"unit": unit, "key": person_name(name), **one})):
        found.setdefault(row.id, (row, []))[1].append(row.role)
    if leads:
        for row in map(_FirstRow._make, connection.execute(_FIRST if item_id is None else _FIRST_ONE,
                                                           {"unit": unit, "name": name, "today": today, **one})):
            found.setdefault(row.id, (row, []))[1].append("first_responsible")
    order = {"owner": 0, "leader": 1, "first_responsible": 2}
    return [(row, sorted(roles, key=order.__getitem__))
            for row, roles in sorted(found.values(), key=lambda f: (f[0].round_id, refs.order(f[0].ref)))]


def item_of(unit: str, name: str, item_id: int, today: dt.date, *, session: Session) -> tuple[Item, list[str]]:
    """One item the person holds a role on, whole; NotFoundError for any other (another
    person's item looks exactly like one that does not exist)."""
    found = _rows_of(unit, name, today, session=session, leads=_leads_round(unit, name, session=session),
                     item_id=item_id)
    item = session.get(Item, item_id, options=[joinedload(Item.round).joinedload(Round.unit)]) if found else None
    if item is None:
        raise NotFoundError("没有找到这个问题，或它不在您的名下")
    return item, found[0][1]


class _Dates:
    """What cards share: due dates from the same deadline and working days to the same
    date, computed once a day per process (`dates_on`), not once a card: a ledger has far
    fewer deadlines than items, and its pages are opened all day."""

    LIMIT = 50_000  # remembered deadlines at most (then forgotten and computed again)

    def __init__(self, today: dt.date, settings: Settings) -> None:
        self.today, self.rules, self.cal = today, settings.rules, settings.calendar
        self._due: dict[tuple[object, ...], dt.date | None] = {}
        self._left: dict[dt.date, int] = {}

    def card(self, item: Any, roles: list[str]) -> Card:
        if item.status not in ACTIVE:
            return Card(item, roles, None, item.done_on, None)
        if isinstance(item, Item):  # an item's own page: one card
            due = due_of(plan_item_of(item), self.today, self.rules, self.cal).date
        else:
            key = (item.deadline_kind, item.deadline, item.extended_to, item.feedback_date)
            if key in self._due:
                due = self._due[key]
            else:
                if len(self._due) >= self.LIMIT:
                    self._due.clear()
                due = self._due[key] = due_of(obligation_of(item), self.today, self.rules, self.cal).date
        left = None
        if due is not None:
            left = self._left.get(due)
            if left is None:
                left = self._left[due] = self.cal.workdays_between(self.today, due)
        ended = open_ended(item.deadline_kind, item.deadline, item.extended_to)
        return Card(item, roles, light(ended, left, item.overdue_since is not None, self.rules), due, left)


_DATES: dict[tuple[dt.date, int], tuple[Settings, _Dates]] = {}


def dates_on(today: dt.date, settings: Settings) -> _Dates:
    """The day's shared dates for these settings (kept while they are the day's: a new
    day, or new settings, starts afresh)."""
    key = (today, id(settings))
    found = _DATES.get(key)
    if found is None or found[0] is not settings:
        _DATES.clear()
        found = _DATES[key] = (settings, _Dates(today, settings))
    return found[1]


def _urgency(card: Card) -> tuple[int, int, tuple[int, int, int]]:
    return vocab.urgency(card.light, card.left, card.item.ref)


def _attach(cards: list[Card], *, session: Session, detail: bool = False) -> None:
    """Requests and the step last asked for every card: a list's rows carry their step and
    say which items have requests (one query for those that have any, whatever the number
    of cards); with `detail` (an item's own page: its one ORM item) its step is read, and
    its history and uploads too."""
    by_id = {c.item.id: c for c in cards}
    ids = list(by_id)
    if not ids:
        return
    if detail:
        for e in session.scalars(select(Event).where(Event.item_id.in_(ids))
                                 .order_by(Event.at.desc(), Event.id.desc())):
            actor = e.actor or ""
            by_id[e.item_id or 0].history.append((when(e), event_text(e, files=False), SYSTEM_ACTORS.get(actor, actor)))
        for u in session.scalars(select(Upload).where(Upload.item_id.in_(ids)).order_by(Upload.id)):
            by_id[u.item_id].uploads.append(u)
    asked = [c.item.id for c in cards if detail or c.item.has_requests]
    if asked:
        for r in session.scalars(select(ItemRequest).where(ItemRequest.item_id.in_(asked)).order_by(ItemRequest.id)):
            by_id[r.item_id].requests.append(r)
    for c in cards:
        step = session.connection().execute(_STEP_OF, {"item": c.item.id}).scalar() if detail else c.item.step
        c.step = step or ""


def person_view(unit: str, name: str, today: dt.date, settings: Settings, *, session: Session) -> PersonView:
    leads, verifies = session.connection().execute(_STANDING, {"unit": unit, "name": name}).one()
    dates = dates_on(today, settings)
    cards = [dates.card(row, roles) for row, roles in _rows_of(unit, name, today, session=session, leads=leads)]
    active = sorted((c for c in cards if c.active), key=_urgency)
    done = sorted((c for c in cards if not c.active), key=lambda c: c.due or dt.date.min, reverse=True)[:DONE_SHOWN]
    _attach(active + done, session=session)
    # only leaders, first responsibles and verifiers decide requests: the directory of role
    # holders (a query of its own) is read only for them
    decides = leads or verifies or any(r != "owner" for c in cards for r in c.roles) or any(
        person_name(v) == person_name(name) for v in settings.config_contacts.holders(unit, Role.VERIFIER))
    directory = obligations.directory(settings, session=session) if decides else None
    waiting = approvals.waiting_for(name, unit, directory, session=session) if directory is not None else []
    uploads: dict[int, list[Upload]] = defaultdict(list)
    wanted = [i for r, item in waiting for i in _upload_ids(r)]
    if wanted:
        for u in session.scalars(select(Upload).where(Upload.id.in_(wanted))):
            uploads[u.item_id].append(u)
    decisions = [Decision(r, item, [u for u in uploads[item.id] if u.id in _upload_ids(r)]) for r, item in waiting]
    return PersonView(unit, name, today, active, done, decisions)


def item_view(unit: str, name: str, item_id: int, today: dt.date, settings: Settings, *, session: Session) -> Card:
    """One item of the person's, whole: what the list shows plus its history and files."""
    item, roles = item_of(unit, name, item_id, today, session=session)
    card = dates_on(today, settings).card(item, roles)
    _attach([card], session=session, detail=True)
    return card


def _upload_ids(request: ItemRequest) -> list[int]:
    return [int(e["upload"]) for e in request.data.get("evidence", []) if isinstance(e, dict) and "upload" in e]


def upload_of(unit: str, name: str, upload_id: int, today: dt.date, settings: Settings, *,
              session: Session) -> Upload:
    """A file the person may open: sent on one of their items, or attached to a request
    they decide."""
    upload = session.get(Upload, upload_id)
    if upload is not None:
        leads = _leads_round(unit, name, session=session)
        if _rows_of(unit, name, today, session=session, leads=leads, item_id=upload.item_id):
            return upload
        directory = obligations.directory(settings, session=session)
        for request, _ in approvals.waiting_for(name, unit, directory, session=session):
            if upload.id in _upload_ids(request):
                return upload
    raise NotFoundError("没有找到这个文件，或您无权查看")
