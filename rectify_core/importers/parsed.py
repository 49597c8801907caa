"""What every importer produces: a ledger as plain data, before it meets the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any


@dataclass(slots=True)  # a large ledger holds a hundred thousand of these
class ParsedMeasure:
    date: str | None
    date_end: str | None
    text: str

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return ParsedMeasure, _MEASURE_FIELDS(self)


@dataclass(slots=True)
class ParsedItem:
    no: int
    title: str
    where: str  # "第N行" / "第N行（表格）": for messages
    line: int
    aspect_no: int | None = None
    topic_no: int | None = None
    status: str = "open"
    status_text: str = ""
    immediate: bool = False
    deadline: dt.date | None = None
    deadline_kind: str | None = None
    deadline_text: str | None = None
    leader: str | None = None
    leader_title: str | None = None
    department: str | None = None
    owner: str | None = None
    measures_text: str | None = None
    measures: list[ParsedMeasure] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # columns rectify has no field for
    notes: list[str] = field(default_factory=list)  # how a reading was completed, said on import

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return ParsedItem, _ITEM_FIELDS(self)


class _Empty(list[Any]):
    """An empty list that stays empty: one is shared by every item that has nothing there."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("an item's empty list is shared by many items: assign a new list instead")

    append = extend = insert = __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


class _EmptyDict(dict[str, str]):
    """An empty dict that stays empty, shared likewise."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("an item's empty columns are shared by many items: assign a new dict instead")

    __setitem__ = __delitem__ = update = setdefault = __ior__ = _refuse


_NONE: list[Any] = _Empty()
_NO_EXTRA: dict[str, str] = _EmptyDict()


def share_empties(item: ParsedItem) -> None:
    """Once an item is read: its empty evidence, figures, notes and extra columns become
    one shared empty value each (most items of a large ledger have none of them; four new
    empty containers an item are some 23 MB at 100,000 rows)."""
    if not item.evidence:
        item.evidence = _NONE
    if not item.figures:
        item.figures = _NONE
    if not item.notes:
        item.notes = _NONE
    if not item.extra:
        item.extra = _NO_EXTRA


# Items cross between processes when a large table is read by several (importers.parallel):
# pickled as the tuple of their fields, about half the cost (there and back) of the state a
# slotted dataclass pickles by default.
_MEASURE_FIELDS = attrgetter(*(f.name for f in fields(ParsedMeasure)))
_ITEM_FIELDS = attrgetter(*(f.name for f in fields(ParsedItem)))


@dataclass(slots=True)
class ParsedHeading:
    no: int
    title: str
    label: str  # as written: "(一)", "1."
    line: int
    aspect_no: int | None = None


@dataclass
class ParsedLedger:
    source_name: str
    sha256: str
    unit: str
    round_name: str
    unit_found: bool = True  # False: the unit is only the file's name (nothing in the file said)
    round_key: str | None = None  # explicit (import --round-key); else derived, see identity.round_key
    inspector: str | None = None
    inspection_start: dt.date | None = None
    inspection_end: dt.date | None = None
    feedback_date: dt.date | None = None
    report_date: dt.date | None = None
    as_of: dt.date | None = None
    aspects: list[ParsedHeading] = field(default_factory=list)
    topics: list[ParsedHeading] = field(default_factory=list)
    items: list[ParsedItem] = field(default_factory=list)
    summary: list[tuple[int, str]] = field(default_factory=list)
    people: list[tuple[str, str]] = field(default_factory=list)  # (name, role)
    refused_names: list[tuple[int, str]] = field(default_factory=list)  # (line, text that named no one)
    notes: list[str] = field(default_factory=list)  # how the round's facts were completed, said on import
