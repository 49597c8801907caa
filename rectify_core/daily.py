"""The daily run as stages, each one call: plan -> enqueue -> deliver.

The CLI and the Prefect flow are both thin over these; each stage owns its own
transactions (delivery commits per person so a crash loses nothing).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from rectify_core import db, scan
from rectify_core.channels import send
from rectify_core.dates import WorkCalendar, load_calendar, local_datetime
from rectify_core.errors import RectifyError
from rectify_core.notify import DeliveryReport, Sender, deliver
from rectify_core.outbox import Enqueued, enqueue
from rectify_core.people import Directory, load_directory
from rectify_core.plan import ItemPlan, Planner, plan
from rectify_core.rules import Ladder, Rules, load_rules

PROJECT_CONFIG = Path(__file__).resolve().parent.parent / "config"


def run_now(day: dt.date | None) -> dt.datetime:
    """The instant a run acts at: 09:00 Asia/Shanghai on `day` when a day is replayed,
    else the clock. Only the edges (CLI, flows) call this; everything below takes `now`."""
    return local_datetime(day, 9, 0) if day else dt.datetime.now(dt.UTC)


def resolve_config_dir(explicit: Path | None) -> Path | None:
    """--config, else RECTIFY_CONFIG_DIR, else the project's config/ when present."""
    env = os.environ.get("RECTIFY_CONFIG_DIR")
    chosen = explicit or (Path(env) if env else None)
    if chosen is not None:
        if not chosen.is_dir():
            raise RectifyError(f"配置目录不存在：{chosen}")
        return chosen
    return PROJECT_CONFIG if PROJECT_CONFIG.is_dir() else None


@dataclass(frozen=True)
class Settings:
    """Everything read from the config directory, validated once per run."""

    rules: Rules
    calendar: WorkCalendar
    directory: Directory


def load_settings(config_dir: Path | None) -> Settings:
    return Settings(load_rules(config_dir), load_calendar(config_dir), load_directory(config_dir))


@dataclass(frozen=True)
class DayPlan:
    today: dt.date
    plans: list[ItemPlan]
    ladders: dict[str, Ladder]
    directory: Directory


def plan_stage(engine: Engine, settings: Settings, today: dt.date, unit: str | None = None) -> DayPlan:
    """Read the ledger and history (one query each) and plan the day, for every unit or
    one. Writes nothing."""
    with db.transaction(engine) as session:
        directory = scan.with_people(settings.directory, session=session)
        ladders = scan.ladders(settings.rules.ladder, session=session)
        work = scan.active_items(session=session, unit=unit) + scan.lookback_items(directory, session=session,
                                                                                   unit=unit)
        plans = plan(work, scan.history(session=session), today,
                     settings.rules, ladders, settings.calendar, directory)
    return DayPlan(today, plans, ladders, directory)


def iter_item_plans(engine: Engine, settings: Settings, today: dt.date, unit: str | None = None) -> Iterator[ItemPlan]:
    """Each open or ongoing item's plan, in ledger order, as it is planned: items are read a
    chunk at a time, so a caller that writes as it goes holds one chunk, not the ledger."""
    with db.transaction(engine) as session:
        directory = scan.with_people(settings.directory, session=session)
        ladders = scan.ladders(settings.rules.ladder, session=session)
        history = scan.history(session=session)
        planner = Planner(today, settings.rules, ladders, settings.calendar, directory)
        for item in scan.stream_active_items(session=session, unit=unit):
            yield planner.plan(item, history.get(item.key, []))


def enqueue_stage(engine: Engine, settings: Settings, day: DayPlan, now: dt.datetime) -> Enqueued:
    with db.transaction(engine) as session:
        return enqueue(day.plans, day.today, now, settings.rules, day.ladders, settings.calendar,
                       session=session)


def deliver_stage(engine: Engine, settings: Settings, directory: Directory, now: dt.datetime,
                  sender: Sender = send, unit: str | None = None) -> DeliveryReport:
    return deliver(db.session_factory(engine), directory, settings.rules, settings.calendar, now, wall_clock,
                   sender, unit)


def wall_clock() -> dt.datetime:
    """The real time, for claim leases (a replayed day's `now` is not the time it runs at)."""
    return dt.datetime.now(dt.UTC)
