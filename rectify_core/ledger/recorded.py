"""What a round's items already carry, read once before an import writes: what people
recorded in rectify (which the close-title guard protects), the disagreements an import
already told, and the open items no rule can date."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectify_core import refs
from rectify_core.ledger.models import Event, Item, Round
from rectify_core.vocab import ACTIVE, DeadlineKind, EventKind

# what a person records on an item in rectify, as the import names it when a close
# title would carry it onto another problem
PERSONAL = {EventKind.CLOSED: "销号", EventKind.PROGRESS: "进展", EventKind.EXTENDED: "延期",
            EventKind.ACKNOWLEDGED: "已阅", EventKind.EXTENSION_REQUESTED: "延期申请",
            EventKind.CLOSURE_REQUESTED: "销号申请", EventKind.REASSIGNED: "人员移交",
            EventKind.REOPENED: "回头看反弹"}


def by_people(round_id: int, *, session: Session) -> dict[int, tuple[str, ...]]:
    """Each item of the round that carries something a person recorded, with what."""
    found: dict[int, set[str]] = {}
    for item_id, kind in session.execute(select(Event.item_id, Event.kind).distinct().where(
            Event.round_id == round_id, Event.kind.in_(list(PERSONAL)), Event.item_id.is_not(None))):
        if item_id is not None:
            found.setdefault(item_id, set()).add(kind)
    return {i: tuple(PERSONAL[k] for k in PERSONAL if k in kinds) for i, kinds in found.items()}


NO_DEADLINE = "轮次缺少反馈日期，无法按规则计算整改时限，不会提醒"


def without_deadline(rnd: Round, *, session: Session) -> list[tuple[str, str]]:
    """The round's open items that no rule can date: no deadline of their own, no
    extension, not long-term, and the round has no feedback date to count from."""
    if rnd.feedback_date is not None:
        return []
    rows = session.execute(select(Item.ref, Item.title).where(
        Item.round_id == rnd.id, Item.status.in_(ACTIVE), Item.deadline.is_(None), Item.extended_to.is_(None),
        func.coalesce(Item.deadline_kind, "") != DeadlineKind.LONG_TERM))
    return sorted(((ref, title) for ref, title in rows), key=lambda r: refs.order(r[0]))


def disagreements(round_id: int, *, session: Session) -> set[tuple[int, str, str]]:
    rows = session.execute(select(Event.item_id, Event.data).where(Event.round_id == round_id,
                                                                  Event.kind == "import_disagrees"))
    return {(item_id, data.get("field", ""), str(data.get("file"))) for item_id, data in rows if item_id}
