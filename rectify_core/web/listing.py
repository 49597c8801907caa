"""The office's ledger list (/admin): filtered by unit, round, light, state, person and
off-sheet, counted and paged over every counted item's glance (ledger.glance), the words
read for the page shown only. A county's 100,000 items answer in a fraction of a second."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rectify_core.config.settings import Settings
from rectify_core.ledger import glance, holders
from rectify_core.ledger.accounts import Scope
from rectify_core.ledger.models import Item
from rectify_core.ledger.view import rounds_in_order

PAGE = 100  # rows on a page of the list


def round_of(value: str) -> int | None:
    """The round a filter names: "" (全部) or anything not a round's id is none."""
    return int(value) if value.isdigit() and len(value) < 19 else None


@dataclass(frozen=True)
class Filters:
    """What the ledger list is narrowed to: unit, round, light, state, a person (owner or
    leader), the items the latest sheet no longer lists, words; and which page."""

    unit: str = ""
    round: int | None = None
    light: str = ""
    state: str = ""
    person: str = ""
    offsheet: bool = False
    q: str = ""
    page_no: int = 1

    @classmethod
    def of(cls, given: Mapping[str, str]) -> Filters:
        """The filters a query string gives, each bounded (anything else is no filter)."""
        page = given.get("page_no", "")
        return cls(given.get("unit", "")[:200], round_of(given.get("round", "")), given.get("light", "")[:10],
                   given.get("state", "")[:10], given.get("person", "")[:100], given.get("offsheet") == "1",
                   given.get("q", "")[:100], max(1, int(page)) if page.isdigit() and len(page) < 7 else 1)

    def query(self, **changes: Any) -> str:
        """This filter as a query string, with `changes` (a count's link, the next page)."""
        given = {"unit": self.unit, "round": self.round or "", "light": self.light, "state": self.state,
                 "person": self.person, "offsheet": "1" if self.offsheet else "", "q": self.q, **changes}
        return urlencode({k: v for k, v in given.items() if v not in ("", None, 0, False)})


class RoundRef(NamedTuple):
    id: int
    unit: str
    name: str


@dataclass(frozen=True)
class Listing:
    rounds: list[RoundRef]  # the rounds the account sees (of the unit filtered to)
    units: list[str]  # every unit the account sees
    rows: list[glance.ListedRow]  # the page shown
    total: int  # rows the filters keep
    counts: dict[str, int]  # by light, by state ("state:open") and off the sheet, before those filters


def rounds_seen(scope: Scope, *, session: Session) -> list[RoundRef]:
    """Every round the account sees, by unit: what the lists filter and an import may update."""
    return [RoundRef(*r) for r in rounds_in_order(session=session) if scope.sees(r[1])]


def listing(f: Filters, scope: Scope, today: dt.date, settings: Settings, *, session: Session) -> Listing:
    mine = rounds_seen(scope, session=session)
    rounds = [r for r in mine if not f.unit or r.unit == f.unit]
    wanted = {r.id for r in rounds if f.round is None or r.id == f.round}
    # each round's glances and counts, kept: a page of a million items adds up the rounds'
    # counts and slices, and scans only when it filters by light, state or the sheet
    by_round = glance.kept(today, settings.rules, settings.calendar, session=session).rounds
    chosen = [by_round[r.id] for r in rounds if r.id in wanted and r.id in by_round]  # (in the office's order)
    counts: collections.Counter[str] = collections.Counter()
    for _, tally in chosen:
        counts.update(tally)
    counts["offsheet"] += 0  # (shown even when none is)
    if f.light or f.state or f.offsheet:
        kept = [g for rows, _ in chosen for g in rows if (not f.light or g.colour == f.light)
                and (not f.state or g.status == f.state) and (not f.offsheet or not g.listed)]
    else:
        kept = list(itertools.chain.from_iterable(rows for rows, _ in chosen))
    for ids in _matching(f, session=session):
        kept = [g for g in kept if g.item_id in ids]
    start = (f.page_no - 1) * PAGE
    return Listing(rounds, sorted({r.unit for r in mine}), glance.rows_of(kept[start:start + PAGE], session=session),
                   len(kept), dict(counts))


def _matching(f: Filters, *, session: Session) -> list[set[int]]:
    """The items a person filter and a words filter keep, each found by the database."""
    found = []
    if f.person.strip():
        found.append(set(session.scalars(holders.held_by(f.person))))
    if needle := f.q.strip():
        found.append(set(session.scalars(select(Item.id).where(or_(
            *(column.contains(needle, autoescape=True)
              for column in (Item.title, Item.owner, Item.leader, Item.department)))))))
    return found
