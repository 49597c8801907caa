"""Delivery by several processes on one machine (rules `[delivery] processes = N`).

Sending a digest is mostly Python's own work (rendering, Apprise, HTTP), and the threads
of one process (`workers`) share one processor. With N processes the people due are
split into shards by a stable hash of who they are (`outbox.shard_of`); this process and
N - 1 helper processes (`rectify_core.fanout`) each deliver whole shards, whichever is free
taking the next. Each shard is an ordinary `deliver` over its people, with its own claim
token, so the guarantees are those of several deliverers running at once: a person is
claimed by one, and a crash repeats at most the message on the wire.

When the shards are done, this process makes one more pass over everyone: it delivers
the admin alerts the shards raised (their admin is in whichever shard), and takes back
and delivers what a helper that died left claimed (its process is gone, so its claims are
stale at once). A helper that cannot start leaves its shards to this process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from rectify_core import fanout
from rectify_core.config.calendar import local_today
from rectify_core.config.people import Directory
from rectify_core.config.settings import Settings
from rectify_core.delivery.links import LinkMaker
from rectify_core.delivery.notify import DeliveryReport, deliver, in_window
from rectify_core.delivery.outbox import Part
from rectify_core.ledger import db

SHARDS_PER_PROCESS = 4  # a process that finishes early takes another's next shard


@dataclass(frozen=True)
class Job:
    """One run's delivery, as every process of it is given it."""

    url: str  # the database, with its password: it goes over a pipe, never on a command line
    directory: Directory
    settings: Settings
    now: dt.datetime
    unit: str | None
    links: LinkMaker | None
    shards: int


_ENGINES: dict[str, Engine] = {}  # a process's engine for a job's database, made once


def deliver_shard(index: int, job: Job) -> DeliveryReport:
    """One shard of a run's people, delivered by this process (module-level: a helper runs it)."""
    engine = _ENGINES.get(job.url)
    if engine is None:
        engine = _ENGINES[job.url] = db.make_engine(job.url)
    return deliver(engine, job.directory, job.settings, job.now, part=Part(job.unit, (index, job.shards)),
                   links=job.links)


def deliver_spread(engine: Engine, directory: Directory, settings: Settings, now: dt.datetime,
                   unit: str | None = None, *, links: LinkMaker | None = None) -> DeliveryReport:
    """`deliver` by `settings.rules.processes` processes: this one and its helpers."""
    processes = settings.rules.processes
    if processes <= 1 or not in_window(now, settings.rules, settings.calendar):
        return deliver(engine, directory, settings, now, part=Part(unit), links=links)
    job = Job(engine.url.render_as_string(hide_password=False), directory, settings, now, unit, links,
              processes * SHARDS_PER_PROCESS)
    _ENGINES[job.url] = engine  # this process delivers its shards on the caller's engine
    try:
        reports = fanout.share(deliver_shard, list(range(job.shards)), processes - 1, job, name="rectify-deliver")
    finally:
        del _ENGINES[job.url]
    reports.append(deliver(engine, directory, settings, now, part=Part(unit), links=links))
    return merged(reports, local_today(now))


def merged(reports: list[DeliveryReport], today: dt.date) -> DeliveryReport:
    """The reports of one run's parts as one: the last (the closing pass) names the run."""
    out = DeliveryReport(today, token=reports[-1].token)
    for r in reports:
        out.recovered += r.recovered
        out.at_risk += r.at_risk
        out.people += r.people
        out.admin_alerts += r.admin_alerts
    return out
