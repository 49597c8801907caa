"""The daily run as stages, each one call: plan -> enqueue -> deliver.

The CLI and the Prefect flow are both thin over these; each stage owns its own
transactions (delivery commits per person so a crash loses nothing).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, repeat
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rectify_core.bulk import gc_paused
from rectify_core.config.calendar import wall_clock
from rectify_core.config.people import Directory
from rectify_core.config.rules import Ladder
from rectify_core.config.settings import Settings
from rectify_core.deadlines.due import urgency
from rectify_core.deadlines.plan import Planner
from rectify_core.deadlines.types import ItemPlan, Obligation, Sent
from rectify_core.delivery.channels import send
from rectify_core.delivery.enqueue import Enqueued, enqueue
from rectify_core.delivery.links import link_maker
from rectify_core.delivery.notify import DeliveryReport, Sender, deliver
from rectify_core.delivery.outbox import Part
from rectify_core.delivery.spread import deliver_spread
from rectify_core.errors import RectifyError
from rectify_core.ledger import backup, db, obligations, uploads
from rectify_core.vocab import NoticeKind


@dataclass(frozen=True)
class DayPlan:
    today: dt.date
    plans: list[ItemPlan]
    ladders: dict[str, Ladder]
    directory: Directory


@dataclass(frozen=True)
class Planning:
    """What planning a day reads before the items: people, ladders, the outbox history."""

    directory: Directory
    ladders: dict[str, Ladder]
    history: dict[str, list[Sent]]
    planner: Planner

    def plan(self, item: Obligation) -> ItemPlan:
        history = self.history  # empty on a first day: no key to make per item
        return self.planner.plan(item, history.get(item.key, []) if history else [])

    def plans(self, items: Iterable[Obligation]) -> Iterator[ItemPlan]:
        """`plan` of each item, in order; on a first day straight from the planner (a
        million items, a call each fewer)."""
        if self.history:
            return map(self.plan, items)
        return map(self.planner.plan, items, repeat(_NO_HISTORY))


_NO_HISTORY: list[Sent] = []  # the planner only reads an item's history


def planning(settings: Settings, today: dt.date, *, session: Session) -> Planning:
    directory = obligations.directory(settings, session=session)
    ladders = obligations.ladders(settings.rules.ladder, session=session)
    return Planning(directory, ladders, obligations.history(session=session),
                     Planner(today, settings.rules, ladders, settings.calendar, directory))


def plan_stage(engine: Engine, settings: Settings, today: dt.date, unit: str | None = None) -> DayPlan:
    """Read the ledger and history (one query each) and plan the day, for every unit or
    one. Writes nothing."""
    with gc_paused(), db.transaction(engine) as session:
        day = planning(settings, today, session=session)
        work = (obligations.active_items(session=session, unit=unit)
                + obligations.lookback_items(day.directory, session=session, unit=unit))
        plans = [day.plan(item) for item in work]
    return DayPlan(today, plans, day.ladders, day.directory)


KEEP = 50  # plans kept per light for the summary: the most urgent
CHUNK = 20_000  # items planned and enqueued at a time


@dataclass
class DayTally:
    """What a day planned and enqueued, small whatever the ledger's size: counts, and
    the most urgent few plans of each light (what the summary shows)."""

    today: dt.date
    items: int = 0
    lights: Counter[str | None] = field(default_factory=Counter)
    top: dict[str | None, list[ItemPlan]] = field(default_factory=dict)
    planned: int = 0
    inserted: int = 0
    capped: int = 0
    estimated: set[int] = field(default_factory=set)

    @property
    def enqueued(self) -> Enqueued:
        return Enqueued(self.planned, self.inserted, self.capped)

    def add(self, plans: list[ItemPlan], enqueued: Enqueued) -> None:
        own = [p for p in plans if p.item.subject == NoticeKind.ITEM]
        self.items += len(own)
        self.lights.update(p.light for p in own)
        for light in {p.light for p in own}:
            fresh = [p for p in own if p.light == light]
            self.top[light] = heapq.nsmallest(KEEP, self.top.get(light, []) + fresh, key=urgency)
        self.estimated |= {p.due.date.year if p.due.date else 0 for p in own if p.estimated}
        self.planned, self.inserted = self.planned + enqueued.planned, self.inserted + enqueued.inserted
        self.capped += enqueued.capped


def _chunks(items: Iterable[Obligation], size: int) -> Iterator[list[Obligation]]:
    chunk: list[Obligation] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def plan_and_enqueue(engine: Engine, settings: Settings, today: dt.date, now: dt.datetime,
                     unit: str | None = None, chunk: int = CHUNK) -> DayTally:
    """Plan the day and enqueue what it owes a chunk at a time, in one transaction (all
    or nothing): memory holds one chunk of plans and the tally, not the ledger."""
    with gc_paused(), db.transaction(engine) as session:
        day = planning(settings, today, session=session)
        tasks = obligations.lookback_items(day.directory, session=session, unit=unit)
        tally = DayTally(today)
        for items in _chunks(chain(obligations.stream_active_items(session=session, unit=unit), tasks), chunk):
            plans = [day.plan(i) for i in items]
            tally.add(plans, enqueue(plans, today, now, settings.rules, day.ladders, settings.calendar,
                                     session=session))
    return tally


def directory_of(engine: Engine, settings: Settings) -> Directory:
    """Contacts from the config plus the role holders imports recorded."""
    with db.transaction(engine) as session:
        return obligations.directory(settings, session=session)


def iter_item_plans(engine: Engine, settings: Settings, today: dt.date,
                    unit: str | None = None) -> Generator[ItemPlan, None, None]:
    """Each open or ongoing item's plan, in ledger order, as it is planned: items are read a
    chunk at a time, so a caller that writes as it goes holds one chunk, not the ledger."""
    with gc_paused(), db.transaction(engine) as session:
        day = planning(settings, today, session=session)
        # read only, from here
        yield from day.plans(obligations.stream_active_items(session=session, unit=unit, alone=True))


def enqueue_stage(engine: Engine, settings: Settings, day: DayPlan, now: dt.datetime) -> Enqueued:
    with gc_paused(), db.transaction(engine) as session:
        return enqueue(day.plans, day.today, now, settings.rules, day.ladders, settings.calendar,
                       session=session)


def deliver_stage(engine: Engine, settings: Settings, directory: Directory, now: dt.datetime,
                  sender: Sender = send, unit: str | None = None) -> DeliveryReport:
    db.refresh_statistics(engine, "notices")  # a day's enqueue may have grown the outbox many times over
    with db.session_factory(db.reader(engine))() as session:  # a read: no write lock, none without a secret
        links = link_maker(settings.web, session=session)
    if sender is send:  # several processes, when the rules ask: each sends with `send` itself
        return deliver_spread(engine, directory, settings, now, unit, links=links)
    return deliver(engine, directory, settings, now, wall_clock, sender, Part(unit), links=links)


def backup_stage(url: str, settings: Settings, now: dt.datetime) -> dict[str, Any] | None:
    """The optional rotating backup (rules [backup] dir): one backup, then only the newest
    `keep` kept. None when not configured; a failure is reported, never raised (the day's
    notices are out already, and a backup is tried again tomorrow)."""
    folder = settings.rules.backup_dir
    if folder is None:
        return None
    try:
        taken = backup.take(url, uploads.files_root(url), Path(folder) / backup.file_name(now), now)
    except (RectifyError, OSError) as exc:
        return {"error": str(exc)}
    removed = backup.rotate(Path(folder), settings.rules.backup_keep)
    return {**taken.as_dict(), "removed": [p.name for p in removed], "keep": settings.rules.backup_keep}


