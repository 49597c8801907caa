"""The outbox: every planned notice once, claimed safely, never lost.

- enqueue (`delivery.enqueue`): INSERT ... ON CONFLICT DO NOTHING on the dedup key;
- claim: a compare-and-set UPDATE tagged with the caller's token; whoever's UPDATE
  matched a row owns it, so concurrent deliverers never send the same notice twice;
- each message that goes is journaled at once (notice_parts); its notices are marked
  sent in bulk when the deliverer's group of people is done;
- a claim left by a dead process (same host, pid gone, or a run of this process that
  ended) or older than the lease is taken back: its journal is marked sent first, the
  rest is resent. At-least-once only for the message that was on the wire.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
import uuid
import zlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from rectify_core import processes
from rectify_core.bulk import driver_errors, insert_all
from rectify_core.config.rules import Rules
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger.db import one_of
from rectify_core.ledger.models import Event, Item, Notice, NoticePart, Round, Unit
from rectify_core.vocab import NOTICE_STATES, NoticeKind, NoticeState

PENDING, SENDING, SENT = NoticeState.PENDING, NoticeState.SENDING, NoticeState.SENT
FAILED, DEAD, CAPPED = NoticeState.FAILED, NoticeState.DEAD, NoticeState.CAPPED
STATES = tuple(str(s) for s in NoticeState)

ESCALATION_ROLES = ("first_responsible", "inspection_office")
BATCH = 2000


def plain_utc(at: dt.datetime) -> dt.datetime:
    """A standard-library UTC datetime (a pendulum one costs a conversion per stored row)."""
    return dt.datetime.fromtimestamp(at.timestamp(), dt.UTC)


_LIVE: set[str] = set()  # tokens of this process's runs still delivering


def new_token() -> str:
    """Who is claiming: host and pid (to spot dead local processes) and a nonce. Live
    until `retire` (a long-lived process, `serve`, runs many deliveries)."""
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _LIVE.add(token)
    return token


def retire(token: str) -> None:
    """A run is over: any claim it still holds (a failure mid-way) is stale at once."""
    _LIVE.discard(token)



def claimable(now: dt.datetime, unit: str | None = None) -> Any:
    """Notices a deliverer may take now (of one unit's rounds, if given)."""
    ready = or_(Notice.state == PENDING, and_(Notice.state == FAILED, Notice.next_attempt_at <= now))
    if unit is None:
        return ready
    rounds = select(Round.id).join(Unit, Round.unit_id == Unit.id).where(Unit.name == unit)
    return and_(ready, Notice.round_id.in_(rounds.scalar_subquery()))


Person = tuple[str, str]  # (unit, name): homonyms in two units are two people


@dataclass(slots=True)
class Claimed:
    """A notice as a deliverer claimed it: a plain record of the columns delivery reads (a
    group's notices are read many times each and written only through statements)."""

    id: int
    item_id: int
    round_id: int
    lookback_id: int | None
    due: dt.date
    step_key: str
    step_name: str
    ladder: str
    recipient: str
    recipient_unit: str
    kind: NoticeKind
    role: str
    reason: str
    attempts: int
    last_error: str | None


_CLAIMED = [cast(Table, Notice.__table__).c[f] for f in Claimed.__slots__]


def recipients_due(now: dt.datetime, *, session: Session, unit: str | None = None) -> list[Person]:
    return [(u, n) for u, n in session.execute(
        select(Notice.recipient_unit, Notice.recipient).where(claimable(now, unit)).distinct()
        .order_by(Notice.recipient_unit, Notice.recipient))]


def shard_of(person: Person, shards: int) -> int:
    """Which of `shards` shards a person is in: the same in every process and run."""
    return zlib.crc32(f"{person[0]}\x00{person[1]}".encode()) % shards


@dataclass(frozen=True)
class Part:
    """Whom a delivery run is for: one unit's people (None: every unit's), and of them one
    shard (i, n): the people of the i-th of n shards (`shard_of`; None: all)."""

    unit: str | None = None
    shard: tuple[int, int] | None = None

    def of(self, people: list[Person]) -> list[Person]:
        if self.shard is None:
            return people
        i, n = self.shard
        return [p for p in people if shard_of(p, n) == i]


EVERYONE = Part()


def claim(people: list[Person], token: str, now: dt.datetime, claimed_at: dt.datetime, *, session: Session,
          unit: str | None = None) -> dict[Person, list[Claimed]]:
    """Compare-and-set: take every notice of these people claimable at the run's `now`,
    stamped with the real time of the claim (its lease counts from there); by person, in
    id order.

    One statement per BATCH names: whoever's statement takes a person's notices takes
    all of them, so no digest is split between deliverers. The statement matches units
    x names (an index search on both); a person of that product who was not asked for
    is taken too, whole, and is theirs to deliver like the rest."""
    taken: dict[Person, list[Claimed]] = defaultdict(list)
    connection = session.connection()
    for start in range(0, len(people), BATCH):
        batch = people[start:start + BATCH]
        who = and_(one_of(Notice.recipient_unit, sorted({u for u, _ in batch}), connection.dialect),
                   one_of(Notice.recipient, sorted({n for _, n in batch}), connection.dialect))
        for row in connection.execute(update(Notice).where(who, claimable(now, unit))
                                      .values(state=SENDING, claimed_by=token, claimed_at=claimed_at,
                                              attempts=Notice.attempts + 1)
                                      .returning(*_CLAIMED)):
            n = Claimed(*row)
            taken[(n.recipient_unit, n.recipient)].append(n)
    return {person: sorted(notices, key=lambda n: n.id) for person, notices in sorted(taken.items())}


def _stale(token: str, claimed_at: dt.datetime, now: dt.datetime, lease: dt.timedelta) -> bool:
    """A claim of a dead process on this host is stale at once; one of a live process on
    this host never is (it renews as it sends); one from another host when its lease ran out."""
    host, _, rest = token.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return token not in _LIVE
        return not processes.alive(int(pid))
    return claimed_at < now - lease


_NOTICES = cast(Table, Notice.__table__)
_PARTS = cast(Table, NoticePart.__table__)
# built once: a message's transaction runs them for every message
_RENEW = (update(_NOTICES).where(_NOTICES.c.claimed_by == bindparam("token"), _NOTICES.c.state == SENDING)
          .values(claimed_at=bindparam("at")))


def _sent(ids: list[int], dialect: Any) -> Any:
    return (update(_NOTICES).where(one_of(_NOTICES.c.id, ids, dialect), _NOTICES.c.claimed_by == bindparam("token"),
                                   _NOTICES.c.state == SENDING)
            .values(state=SENT, sent_at=bindparam("at"), channel=bindparam("channel"), last_error=None)
            .returning(_NOTICES.c.id, _NOTICES.c.round_id, _NOTICES.c.item_id, _NOTICES.c.recipient,
                       _NOTICES.c.role, _NOTICES.c.step_name, _NOTICES.c.due))


def renew(token: str, at: dt.datetime, *, connection: Connection) -> None:
    """Extend the lease of what `token` is still sending."""
    connection.execute(_RENEW, {"token": token, "at": at})


@functools.cache
def _driver_time(dialect: Any) -> Any:
    """An instant as the driver takes it for a journal row's `sent_at`."""
    return _PARTS.c.sent_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda at: at)


_JOURNALED = ("claimed_by", "channel", "sent_at", "notices", "ref")
_JOURNAL_SQL = {  # a message's row goes straight to the driver (PostgreSQL: a prepared statement)
    "postgresql": f"INSERT INTO {_PARTS.name} ({', '.join(_JOURNALED)}) VALUES (%s, %s, %s, %s, %s) RETURNING id",
    "sqlite": f"INSERT INTO {_PARTS.name} ({', '.join(_JOURNALED)}) VALUES (?, ?, ?, ?, ?)",
}


def journal(ids: list[int], token: str, channel: str, at: dt.datetime, *, connection: Connection,
            ref: str | None = None) -> int:
    """A message carrying these notices went: one row, committed at once by the caller
    (`ref`: the platform's id of it, when it gave one). Returns the row's id, for `settle`.
    Written by the driver itself: it is the one statement every message waits for."""
    dialect = connection.dialect
    values = (token, channel, _driver_time(dialect)(at), ",".join(map(str, ids)), ref)
    raw: Any = connection.connection.driver_connection
    with driver_errors(connection):
        if dialect.name == "postgresql":
            return int(raw.execute(_JOURNAL_SQL["postgresql"], values, prepare=True).fetchone()[0])
        return int(raw.execute(_JOURNAL_SQL["sqlite"], values).lastrowid)


def settle(token: str, parts: list[int] | None, *, session: Session) -> int:
    """Mark what journaled messages carried as sent, with their events, and drop the
    journal rows: those of `parts`, or every one of `token` (taking a dead claim back).
    A row is applied by whoever's DELETE removes it, so each is applied once even when
    two processes take the same claim back. Returns how many notices were marked."""
    connection = session.connection()
    which = ([_PARTS.c.claimed_by == token] if parts is None
             else [one_of(_PARTS.c.id, parts[i:i + BATCH], connection.dialect) for i in range(0, len(parts), BATCH)])
    rows: list[Any] = []
    for where in which:
        rows += connection.execute(
            delete(_PARTS).where(where).returning(_PARTS.c.channel, _PARTS.c.sent_at, _PARTS.c.notices, _PARTS.c.ref))
    carried: dict[tuple[str, dt.datetime, str | None], list[int]] = defaultdict(list)
    for channel, at, ids, ref in rows:
        carried[(channel, at, ref)] += [int(i) for i in ids.split(",")]
    return sum(mark_sent(ids, token, channel, at, session=session, ref=ref)
               for (channel, at, ref), ids in carried.items())


@dataclass(frozen=True)
class Recovery:
    """What taking back dead deliverers' claims did: the notices queued again, and how many
    people's digest may come twice (only a message that was on the wire when the
    deliverer died: at most one per worker of that run)."""

    notices: int = 0
    at_risk: int = 0
    settled: int = 0  # notices the dead deliverer had sent (journaled), recorded as sent now


def recover_stale(now: dt.datetime, rules: Rules, *, session: Session) -> Recovery:
    """Claims of dead deliverers go back to pending. `now` is the real time (leases are
    real time)."""
    lease = dt.timedelta(minutes=rules.lease_minutes)
    recovered = at_risk = settled = 0
    claims = session.execute(select(Notice.claimed_by, func.min(Notice.claimed_at))
                             .where(Notice.state == SENDING).group_by(Notice.claimed_by)).all()
    for token, claimed_at in claims:
        if token and claimed_at and _stale(token, claimed_at, now, lease):
            settled += settle(token, None, session=session)  # what went is marked sent, not resent
            people = session.scalar(select(func.count(func.distinct(Notice.recipient_unit + "/" + Notice.recipient)))
                                    .where(Notice.claimed_by == token, Notice.state == SENDING)) or 0
            at_risk += min(int(people), rules.workers)
            result = session.execute(
                update(Notice).where(Notice.claimed_by == token, Notice.state == SENDING)
                .values(state=PENDING, last_error="上次发送中途中断，已重新排队（可能已送达）")
                .execution_options(synchronize_session=False))
            recovered += int(getattr(result, "rowcount", 0) or 0)
    return Recovery(recovered, at_risk, settled)


def _notice_events(events: list[tuple[Any, str, dict[str, Any]]], now: dt.datetime, *,
                   session: Session) -> None:
    """rectify's own event on each notice's item, (notice, kind, data), at the driver's
    speed (COPY on PostgreSQL)."""
    insert_all(session, Event.__table__, [
        {"round_id": n.round_id, "item_id": n.item_id, "at": now, "kind": kind, "actor": "rectify",
         "batch_id": None, "data": data} for n, kind, data in events])


def mark_sent(ids: list[int], token: str, channel: str, now: dt.datetime, *, session: Session,
              ref: str | None = None) -> int:
    """Notices `token` is sending, marked sent on `channel` with their events (which keep
    the platform's message id `ref`); returns how many (a notice no longer held by `token`
    is left alone)."""
    connection = session.connection()
    marked: list[Any] = []
    for start in range(0, len(ids), BATCH):
        marked += connection.execute(_sent(ids[start:start + BATCH], connection.dialect),
                                     {"token": token, "at": now, "channel": channel})
    _notice_events([(n, "notified", {"recipient": n.recipient, "role": n.role, "step": n.step_name,
                                     "due": n.due.isoformat(), "channel": channel, "notice": n.id}
                     | ({"ref": ref} if ref else {}))
                    for n in sorted(marked, key=lambda n: n.id)], now, session=session)
    return len(marked)


def mark_failed(notices: list[Claimed], token: str, error: str, permanent: bool, now: dt.datetime,
                rules: Rules, *, session: Session) -> list[Claimed]:
    """Failed: retried later with backoff, or dead (permanent, or out of attempts).
    Returns the notices that died, their error set (the admin alert quotes it)."""
    dead = [n for n in notices if permanent or n.attempts >= rules.max_attempts]
    dead_ids = {n.id for n in dead}
    # one UPDATE per (state, next attempt), not one per notice: a person with no channel
    # can owe thousands of notices
    groups: dict[tuple[str, dt.datetime], list[int]] = defaultdict(list)
    for n in notices:
        n.last_error = error
        wait = dt.timedelta(minutes=rules.backoff_minutes * 2 ** max(n.attempts - 1, 0))
        groups[(DEAD if n.id in dead_ids else FAILED, now + min(wait, dt.timedelta(hours=6)))].append(n.id)
    dialect = session.get_bind().dialect
    for (state, next_at), ids in groups.items():
        for start in range(0, len(ids), BATCH):
            session.execute(update(Notice).where(one_of(Notice.id, ids[start:start + BATCH], dialect),
                                                 Notice.claimed_by == token)
                            .values(state=state, last_error=error, next_attempt_at=next_at)
                            .execution_options(synchronize_session=False))
    _notice_events([(n, "notify_dead" if n.id in dead_ids else "notify_failed",
                     {"recipient": n.recipient, "step": n.step_name, "attempts": n.attempts, "error": error})
                    for n in notices], now, session=session)
    return dead


def list_notices(state: str | None, *, session: Session, limit: int = 1000, item_id: int | None = None,
                 person: str | None = None, unit: str | None = None) -> list[Notice]:
    """The newest notices first; of one state, item, person or unit (its exact name) when asked."""
    query = (select(Notice).options(selectinload(Notice.item).selectinload(Item.round).selectinload(Round.unit))
             .order_by(Notice.id.desc()).limit(limit))
    if unit is not None:
        query = query.where(Notice.round_id.in_(select(Round.id).join(Unit, Round.unit_id == Unit.id)
                                                .where(Unit.name == unit)))
    if state:
        query = query.where(Notice.state == state)
    if item_id is not None:
        query = query.where(Notice.item_id == item_id)
    if person:
        query = query.where(Notice.recipient == person)
    return list(session.scalars(query))


def resend(ids: list[int], now: dt.datetime, *, session: Session) -> list[Notice]:
    """Put given-up (dead) or capped notices back in the queue, e.g. after a contact was
    fixed. Refused for unknown ids and for notices that are not given up."""
    rows = {n.id: n for n in session.scalars(select(Notice).where(Notice.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFoundError(f"发件箱中没有编号为 {'、'.join(map(str, missing))} 的通知")
    live = [n for n in rows.values() if n.state not in (DEAD, CAPPED)]
    if live:
        raise RefusedError("只能重发已放弃或超出上限的通知；"
                           + "；".join(f"通知{n.id}当前为“{NOTICE_STATES[n.state]}”" for n in live))
    return _requeue(list(rows.values()), now, session=session)


def _requeue(notices: list[Notice], now: dt.datetime, *, session: Session) -> list[Notice]:
    """Notices back in the queue, each with its event on the item."""
    for n in notices:
        n.state, n.attempts, n.next_attempt_at, n.claimed_by = PENDING, 0, None, None
        session.add(Event(round_id=n.round_id, item_id=n.item_id, at=now, kind="notice_requeued", actor="rectify",
                          data={"notice": n.id, "recipient": n.recipient}))
    session.flush()
    return notices


def release(ids: list[int] | None, now: dt.datetime, *, session: Session) -> list[Notice]:
    """Held notices (restored from a backup while waiting) back in the queue: these, or
    (None) every one."""
    query = select(Notice).where(Notice.state == NoticeState.HELD)
    held = list(session.scalars(query if ids is None else query.where(Notice.id.in_(ids))))
    if ids is not None and (missing := sorted(set(ids) - {n.id for n in held})):
        raise NotFoundError(f"没有编号为 {'、'.join(map(str, missing))} 的暂停通知")
    return _requeue(held, now, session=session)


def counts(*, session: Session) -> dict[str, int]:
    return {state: n for state, n in session.execute(select(Notice.state, func.count()).group_by(Notice.state))}
