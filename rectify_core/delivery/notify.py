"""Delivery: pending notices -> one digest per person, through their channels in order.

People are claimed in groups (one statement, committed), their digests read in two
queries, then each person's digest is sent part by part, every part journaled in its
own small transaction the moment it goes; the group's journal is marked sent in one
transaction when the group is done. A crash leaves claimed notices in flight: the next
run marks the journaled ones sent and resends the rest; of those, only the part that
was on the wire when the process died can have arrived (at most one message is sent
twice, never one lost).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from rectify_core.bulk import insert_ignore
from rectify_core.config.calendar import Clock, WorkCalendar, local_today, to_local, wall_clock
from rectify_core.config.people import ANY_UNIT, Contact, Directory
from rectify_core.config.rules import Rules
from rectify_core.deadlines.due import light, light_on, open_ended
from rectify_core.delivery import outbox
from rectify_core.delivery.addressing import APPS, UserIds, scheme_of
from rectify_core.delivery.channels import SendResult, display, kind_of, send
from rectify_core.delivery.links import LinkMaker
from rectify_core.delivery.outbox import EVERYONE, Claimed, Part, Person, new_token
from rectify_core.delivery.render import Addressee, Line, primary_role, render_card, render_digest
from rectify_core.ledger.act import Terms
from rectify_core.ledger.db import one_of, one_statement, reader, row_type, session_factory, statements
from rectify_core.ledger.models import Item, Notice, Round, Unit
from rectify_core.ledger.obligations import active_items, overdue_history
from rectify_core.vocab import ROLE_NAMES, Light, NoticeKind, NoticeState, Role

HANDOVER = "【工作移交】"  # reasons of notices moved to a successor start with this note
Sender = Callable[[str, str, str], SendResult]


@dataclass
class PersonResult:
    name: str
    items: int
    channel: str | None = None
    messages: int = 0
    error: str | None = None
    dead: bool = False
    unit: str = ""  # the person's unit: two namesakes of two units are two people


@dataclass
class DeliveryReport:
    today: dt.date
    in_window: bool = True
    waiting: int = 0
    recovered: int = 0  # notices a dead deliverer had claimed, queued again
    at_risk: int = 0  # people whose digest may come twice: the message on the wire
    settled: int = 0  # notices a dead deliverer had sent, recorded as sent by this run
    people: list[PersonResult] = field(default_factory=list)
    admin_alerts: int = 0
    token: str = ""  # the claim token of this run: its notices carry it

    @property
    def sent(self) -> list[PersonResult]:
        return [p for p in self.people if p.error is None]

    @property
    def failed(self) -> list[PersonResult]:
        return [p for p in self.people if p.error is not None]


def in_window(now: dt.datetime, rules: Rules, cal: WorkCalendar) -> bool:
    local = to_local(now)
    if rules.workdays_only and not cal.is_workday(local.date()):
        return False
    return rules.window_start <= local.strftime("%H:%M") < rules.window_end


# what a digest line shows of its item, as a plain named tuple (read a dozen times a line)
_FACTS = (Item.id, Item.ref.label("no"), Item.title, Item.deadline_kind, Item.deadline, Item.extended_to,
          Item.overdue_since, Item.department, Item.progress, Item.progress_on, Item.acknowledged_on,
          Item.acknowledged_by, Round.name.label("round"), Unit.name.label("unit"))
_Fact = row_type(select(*_FACTS), "Fact")


def digest_lines(claimed: dict[Person, list[Claimed]], today: dt.date, cal: WorkCalendar, rules: Rules, *,
                 session: Session) -> dict[Person, list[Line]]:
    """Each person's lines: one per item (the highest step if several), with who else was
    told. Two queries for everyone, however many people."""
    tops: dict[Person, dict[tuple[int, int | None], Claimed]] = {}
    for person, notices in claimed.items():
        top = tops[person] = {}
        for n in notices:
            key = line_key(n)
            if key not in top or int(n.step_key) > int(top[key].step_key):
                top[key] = n
    ids = sorted({n.item_id for top in tops.values() for n in top.values()})
    facts: dict[int, Any] = {}
    # who else was told: the same notice (item or look-back task, due date, step) to others,
    # not counting notices that were given up on, nor admin alerts
    others: dict[tuple[int, int | None, dt.date, str], list[str]] = defaultdict(list)
    dialect = session.get_bind().dialect
    for start in range(0, len(ids), outbox.BATCH):
        chunk = ids[start:start + outbox.BATCH]
        facts.update((row.id, row) for row in map(_Fact._make, session.execute(
            select(*_FACTS).join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
            .where(one_of(Item.id, chunk, dialect)))))
        for item_id, lookback_id, due, step, name in session.execute(
                select(Notice.item_id, Notice.lookback_id, Notice.due, Notice.step_key, Notice.recipient)
                .where(one_of(Notice.item_id, chunk, dialect), Notice.kind != NoticeKind.ADMIN,
                       Notice.state.not_in((NoticeState.DEAD, NoticeState.CAPPED)))
                .order_by(Notice.id)):
            others[(item_id, lookback_id, due, step)].append(name)
    return {person: [_line(n, facts[n.item_id], others, today, cal, rules) for n in top.values()]
            for person, top in tops.items()}


def line_key(n: Claimed) -> tuple[int, int | None]:
    """What one digest line stands for: an item's (or look-back task's) notices, of which
    the highest step is shown; an admin alert stands alone (one line per failed recipient)."""
    return (-n.id, None) if n.kind == NoticeKind.ADMIN else (n.item_id, n.lookback_id)


def _line(n: Claimed, f: Any, others: dict[tuple[int, int | None, dt.date, str], list[str]], today: dt.date,
          cal: WorkCalendar, rules: Rules) -> Line:
    left = cal.workdays_between(today, n.due)
    item_notice = n.kind == NoticeKind.ITEM
    ended = item_notice and open_ended(f.deadline_kind, f.deadline, f.extended_to)
    colour = light(ended, left, f.overdue_since is not None and item_notice, rules)
    if n.kind == NoticeKind.ADMIN:
        return Line(f.no, f.title, f.round, n.due, left, colour, n.step_name, n.role, (), n.reason, line_key(n),
                    kind=n.kind, unit=f.unit)
    told = tuple(x for x in others[(n.item_id, n.lookback_id, n.due, n.step_key)] if x != n.recipient)
    title = f"【回头看】{f.title}" if n.kind == NoticeKind.LOOKBACK else f.title
    note = n.reason.split("。", 1)[0] + "。" if n.reason.startswith(HANDOVER) else ""
    progress = f"{f.progress}（{f.progress_on.isoformat()}）" if f.progress and f.progress_on else f.progress or ""
    seen = (f"{f.acknowledged_by}已于{f.acknowledged_on.isoformat()}确认已阅"
            if f.acknowledged_on and item_notice else "")
    return Line(f.no, title, f.round, n.due, left, colour, n.step_name, n.role, told, note, line_key(n),
                kind=n.kind, open_ended=ended, department=f.department or "", progress=progress,
                acknowledged=seen, unit=f.unit)


def addressee(person: Person, roles: list[str], today: dt.date, cal: WorkCalendar, rules: Rules,
              directory: Directory, *, session: Session) -> Addressee:
    """Salutation (with the title from contacts or the items), the role a digest speaks
    to, and for leaders and first responsibles a line on everything they answer for."""
    unit, name = person
    role = primary_role(roles)
    contact = directory.admin if role == Role.ADMIN else directory.contact(name, unit)
    title = contact.title if contact else None
    summary = ""
    if role in (Role.LEADER, Role.FIRST_RESPONSIBLE) and unit not in ("", ANY_UNIT):
        items = active_items(session=session, unit=unit, leader=name if role == Role.LEADER else None)
        if role == Role.LEADER and title is None and items:
            title = session.scalar(select(Item.leader_title).where(Item.id.in_([i.id for i in items]),
                                                                  Item.leader_title.is_not(None)).limit(1))
        history = overdue_history([i.id for i in items], session=session)
        lights = Counter(light_on(i, history.get(i.id, ()), today, rules, cal) for i in items)
        what = "分管" if role == Role.LEADER else "本单位"
        summary = (f"您{what}的未完成整改事项共{len(items)}项，其中逾期（{Light.RED.label}）{lights[Light.RED]}项、"
                   f"临期（{Light.YELLOW.label}）{lights[Light.YELLOW]}项。")
    return Addressee(name, title, role, summary, directory.office)


PartSent = Callable[[str, tuple[tuple[int, int | None], ...], str | None], None]


def _send_person(to: Addressee, urls: list[str], lines: list[Line], today: dt.date, sender: Sender,
                 part_sent: PartSent) -> tuple[SendResult, list[str], int]:
    """Send the digest part by part through the channels in order. Each part that goes
    is recorded at once (`part_sent`), so a retry, or the next channel, carries only what
    was not yet carried. Returns the result, the URLs (as configured) that carried
    parts, and how many messages went."""
    if not urls:
        return SendResult(False, True, f"{to.name} 未配置任何通知渠道（见人员名录）"), [], 0
    errors: list[SendResult] = []
    remaining, count = lines, 0
    used: list[str] = []
    for url in urls:
        kind = kind_of(url)
        messages = ([render_card(to, remaining, today, kind.fmt, kind.max_bytes)] if kind.card
                    else render_digest(to, remaining, today, kind.fmt, kind.max_bytes))
        for message in messages:
            result = sender(url, message.title, message.body)
            if not result.ok:
                errors.append(SendResult(False, result.permanent, f"{kind.name} {display(url)}：{result.error}"))
                break
            part_sent(url, message.keys, result.ref)
            remaining = [line for line in remaining if line.key not in message.keys]
            used, count = [*dict.fromkeys([*used, url])], count + 1
        if not remaining:
            return SendResult(True), used, count
    return SendResult(False, all(e.permanent for e in errors), "；".join(e.error for e in errors)), used, count


def _urls(person: Person, role: str, directory: Directory, ids: UserIds | None) -> list[str]:
    """The person's channels in order, work-platform ones addressed to them."""
    unit, name = person
    contact: Contact | None = directory.admin if role == Role.ADMIN else directory.contact(name, unit)
    urls = directory.urls(contact) if contact else []
    return [ids.address(u, contact) for u in urls] if ids is not None else urls


def _alert_admin(dead: list[Claimed], directory: Directory, today: dt.date, now: dt.datetime,
                 *, session: Session) -> int:
    """One alert line per notice given up on: who it was for, why, and how to fix it.
    The alert never claims the person was told."""
    admin = directory.admin
    failed = [n for n in dead if n.kind != NoticeKind.ADMIN]
    if admin is None or not failed:
        return 0
    insert_ignore(session, Notice.__table__, [{
        "dedup_key": f"dead:{n.id}:{admin.name}", "kind": NoticeKind.ADMIN, "recipient_unit": admin.unit,
        "item_id": n.item_id, "lookback_id": n.lookback_id, "round_id": n.round_id, "due": n.due,
        "step_key": n.step_key, "step_name": "提醒无法投递", "ladder": n.ladder,
        "recipient": admin.name, "role": Role.ADMIN, "reason": _alert_text(n), "planned_on": today,
        "state": outbox.PENDING, "attempts": 0, "created_at": now} for n in failed], "dedup_key")
    return len(failed)


def _alert_text(n: Claimed) -> str:
    who = f"{n.recipient}（{n.recipient_unit}，{ROLE_NAMES.get(n.role, n.role)}）"
    if "未配置任何通知渠道" in (n.last_error or ""):
        fix = (f"请在管理页面的“人员”中为其填写通知渠道（或 rectify people add \"{n.recipient}\" "
               f"--unit \"{n.recipient_unit}\" --channel 渠道名称）")
    else:
        fix = "请在管理页面的“人员”中核对其通知渠道"
    return (f"发给{who}的“{n.step_name}”未能送达，该人员尚未收到本提醒。原因：{n.last_error or '未知'}。"
            f"{fix}，然后在该页面点“重发”（或运行 rectify outbox resend {n.id}）。")


GROUP = 64  # people claimed in one statement, at most


def unit_offices(*, session: Session) -> dict[str, str]:
    """Each unit's own signing office, where one is set (rectify units edit --office)."""
    return {name: office or "" for name, office in session.execute(select(Unit.name, Unit.office)
                                                                   .where(Unit.office.is_not(None)))}


def signer(lines: list[Line], offices: dict[str, str], default: str) -> str:
    """Who signs a digest: the office of the unit its items belong to, when they all
    belong to one that has its own; else the sender's office ([sender] in contacts.toml)."""
    units = {line.unit for line in lines if line.unit}
    return offices.get(next(iter(units)), default) if len(units) == 1 else default


def _uses_apps(directory: Directory) -> bool:
    contacts = [*directory.contacts, *([directory.admin] if directory.admin else [])]
    return any(scheme_of(u) in APPS for c in contacts for u in directory.urls(c))


def groups(people: list[Person], workers: int) -> list[list[Person]]:
    """People in claim groups: large enough that claiming and reading cost a statement per
    group, not per person; small enough that every worker has several, and that a crash
    leaves few claims to take back (claimed, not yet sent: nothing is sent twice)."""
    size = max(1, min(GROUP, len(people) // (workers * 8)))
    return [people[i:i + size] for i in range(0, len(people), size)]


def deliver(engine: Engine, directory: Directory, terms: Terms, now: dt.datetime, clock: Clock = wall_clock,
            sender: Sender = send, part: Part = EVERYONE, *, links: LinkMaker | None = None) -> DeliveryReport:
    """Deliver every claimable notice of `part`, one digest per person, `rules.workers`
    groups of people at a time. Safe to run in several processes at once: each person is
    claimed by one. `now` is the run's instant (what is due); `clock` stamps and renews
    claims, which live by the real time."""
    unit = part.unit
    today, rules, cal = local_today(now), terms.rules, terms.calendar
    factory = session_factory(engine)
    with factory.begin() as session:
        recovery = outbox.recover_stale(clock(), rules, session=session)
        report = DeliveryReport(today, recovered=recovery.notices, at_risk=recovery.at_risk,
                                settled=recovery.settled)
    if not in_window(now, rules, cal):
        with factory.begin() as session:
            report.waiting = session.scalar(select(func.count()).select_from(Notice)
                                             .where(outbox.claimable(now, unit))) or 0
        report.in_window = False
        return report
    token = report.token = new_token()
    ids = UserIds.load(engine) if _uses_apps(directory) else None
    run = _Run(engine, factory, session_factory(reader(engine)), token, directory, rules, cal, now, clock, sender,
               unit, links, ids)
    try:
        for _ in range(2):  # the second pass delivers admin alerts about notices that died
            with factory.begin() as session:
                people = outbox.recipients_due(now, session=session, unit=unit)
            people = part.of(people)
            with ThreadPoolExecutor(max_workers=rules.workers) as pool:
                results = [r for done in pool.map(run.deliver_group, groups(people, rules.workers)) for r in done]
            report.people += [r for r, _ in results]
            dead = [n for _, died in results for n in died]
            with factory.begin() as session:
                report.admin_alerts += _alert_admin(dead, directory, today, now, session=session)
            if not dead:
                break
    finally:
        outbox.retire(token)  # a claim this run failed to finish is taken back by the next run
    return report


@dataclass(frozen=True)
class _Run:
    """What every person's delivery in one run shares."""

    engine: Engine
    factory: sessionmaker[Session]
    read: sessionmaker[Session]  # reads take no write lock (SQLite), so they never hold up a part's marking
    token: str
    directory: Directory
    rules: Rules
    cal: WorkCalendar
    now: dt.datetime
    clock: Clock
    sender: Sender
    unit: str | None
    links: LinkMaker | None = None
    ids: UserIds | None = None  # work-platform user ids, when a channel needs them

    def send(self, url: str, title: str, body: str) -> SendResult:
        """Send through the run's sender; what a work platform learned is kept at once."""
        result = self.sender(url, title, body)
        if self.ids is not None and result.outcomes:
            self.ids.learn(result.outcomes, self.clock())
        return result

    @property
    def renew_after(self) -> dt.timedelta:
        """A claim is renewed as parts go once it is a quarter of its lease old."""
        return dt.timedelta(minutes=self.rules.lease_minutes) / 4

    def deliver_group(self, people: list[Person]) -> list[tuple[PersonResult, list[Claimed]]]:
        """Claim a group of people in one statement, read their digests in two, then send
        and record each person's digest; returns each person's result and the notices that
        died. People another deliverer took first are not in the result."""
        today = local_today(self.now)
        lease = _Lease(self, self.clock())
        with self.factory.begin() as session:
            claimed = outbox.claim(people, self.token, self.now, lease.at, session=session, unit=self.unit)
        if not claimed:
            return []
        with self.read.begin() as session:
            lines = digest_lines(claimed, today, self.cal, self.rules, session=session)
            to = {person: addressee(person, [n.role for n in notices], today, self.cal, self.rules, self.directory,
                                    session=session) for person, notices in claimed.items()}
            offices = unit_offices(session=session)
        to = {person: replace(a, office=signer(lines[person], offices, a.office)) for person, a in to.items()}
        results = []
        parts: list[int] = []  # the journal rows of what went
        try:
            with statements(self.engine) as write:
                for person, notices in claimed.items():
                    lease.keep()  # the group's later people were claimed when it was: their lease too
                    results.append(self.deliver_one(person, notices, lines[person], to[person],
                                                    _Group(lease, parts, write)))
        finally:
            with self.factory.begin() as session:
                outbox.settle(self.token, parts, session=session)
        return results

    def deliver_one(self, person: Person, notices: list[Claimed], lines: list[Line], to: Addressee,
                    group: _Group) -> tuple[PersonResult, list[Claimed]]:
        """Send and record one person's claimed digest; returns their result and the notices
        that died."""
        today = local_today(self.now)
        if self.links is not None and to.role != Role.ADMIN and person[0] not in ("", ANY_UNIT):
            to = replace(to, link=self.links.url(person[0], person[1], self.clock()))
        by_key: dict[tuple[int, int | None], list[Claimed]] = defaultdict(list)
        for n in notices:
            by_key[line_key(n)].append(n)
        carried: set[int] = set()

        def part_sent(url: str, keys: tuple[tuple[int, int | None], ...], ref: str | None) -> None:
            done = [n.id for k in keys for n in by_key[k]]
            carried.update(done)
            with group.write() as connection:
                group.parts.append(outbox.journal(done, self.token, kind_of(url).name, self.now,
                                                  connection=connection, ref=ref))
            group.lease.keep()  # a long send keeps its claim alive

        urls = _urls(person, notices[0].role, self.directory, self.ids)
        result, used, count = _send_person(to, urls, lines, today, self.send, part_sent)
        channel = "、".join(f"{kind_of(u).name} {display(u)}" for u in used) or None
        outcome = PersonResult(person[1], len(lines), channel, count, unit=person[0])
        if result.ok:
            return outcome, []
        outcome.error = result.error
        rest = [n for n in notices if n.id not in carried]
        with self.factory.begin() as session:
            dead = outbox.mark_failed(rest, self.token, result.error, result.permanent, self.now, self.rules,
                                      session=session)
        outcome.dead = bool(dead)
        return outcome, dead


@dataclass(frozen=True)
class _Group:
    """What the people of one claimed group share as their digests go: the claims' lease,
    the journal rows written, and where a row is written (each commits by itself)."""

    lease: _Lease
    parts: list[int]
    write: Callable[[], AbstractContextManager[Connection]]


class _Lease:
    """A run's claims, renewed as work goes once they are a quarter of their lease old
    (a renewal is a statement: not one per message)."""

    def __init__(self, run: _Run, at: dt.datetime) -> None:
        self.run, self.at = run, at

    def keep(self) -> None:
        now = self.run.clock()
        if now - self.at <= self.run.renew_after:
            return
        with one_statement(self.run.engine) as connection:
            outbox.renew(self.run.token, now, connection=connection)
        self.at = now
