"""Delivery under faults: two processes at once, processes killed mid-send, a database
restarted mid-send, claims and leases, imports during a run; nothing lost, nothing doubled."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select, update

from rectify_core.config.settings import load_settings
from rectify_core.delivery.mailsink import MailSink, free_port
from rectify_core.ledger import db
from rectify_core.ledger.models import Event, Item, Notice
from rectify_core.runs import daily
from rectify_core.vocab import NoticeState
from tests.deliveries import (
    EMAIL,
    LEDGER,
    NOW,
    PEOPLE,
    BlockingHandler,
    _local,
    _many_items_ledger,
    _notify_cmd,
    _one_item_each,
    _wecom_items,
    mail,
    notices,
    recipients,
    run_day,
    setup_db,
)
from tests.fixtures.channels import Receiver, write_contacts


def test_smtp_down_then_back_loses_nothing(db_url: str, tmp_path: Path) -> None:
    engine = setup_db(db_url, tmp_path)
    port = free_port()
    config = write_contacts(tmp_path / "cfg", {n: [mail(port, n)] for n in EMAIL})
    _, down = run_day(engine, config)
    assert len(down.failed) == 3 and not any(p.dead for p in down.failed)
    assert {n.state for n in notices(engine)} == {"failed"}
    with MailSink(tmp_path / "mail", port) as sink:
        _, up = run_day(engine, config, NOW + dt.timedelta(hours=1))   # past the backoff
        assert sorted(p.name for p in up.sent) == sorted(PEOPLE)
        _, later = run_day(engine, config, NOW + dt.timedelta(hours=2))
        assert later.people == []
        assert recipients(sink) == Counter({f"{EMAIL[n]}@example.gov.cn": 1 for n in PEOPLE})
    assert {(n.state, n.attempts) for n in notices(engine)} == {("sent", 2)}


def test_two_processes_at_once_send_each_notice_once(db_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    engine = setup_db(db_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    procs = [subprocess.Popen(_notify_cmd(db_url, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert recipients(mail_sink) == Counter({f"{EMAIL[n]}@example.gov.cn": 1 for n in PEOPLE})
    rows = notices(engine)
    assert len(rows) == 5 and {(n.state, n.attempts) for n in rows} == {("sent", 1)}


def test_processes_claiming_groups_at_once_send_each_digest_once(db_url: str, tmp_path: Path,
                                                                   receiver: Receiver) -> None:
    """Three processes deliver 120 people at once, each claiming groups of them (units x
    names, so a statement may take people of another's group): every person gets one
    digest, whoever sends it, and no notice is left behind."""
    owners, ledger = _one_item_each(120)
    engine = setup_db(db_url, tmp_path, ledger)
    config = write_contacts(tmp_path / "cfg", {o: [f"json://127.0.0.1:{receiver.port}/hook/{i:03d}"]
                                               for i, o in enumerate(owners)})
    receiver.delay = 0.01                                 # slow enough that the runs overlap
    procs = [subprocess.Popen(_notify_cmd(db_url, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    got = Counter(r["path"] for r in receiver.requests)
    assert got == Counter({f"/hook/{i:03d}": 1 for i in range(120)})
    assert {(n.state, n.attempts) for n in notices(engine)} == {("sent", 1)}
    assert sum("✓" in out for out, _ in outs) >= 2       # the work was shared, not done by one


def test_killed_mid_delivery_next_run_completes(sqlite_url: str, tmp_path: Path) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    handler = BlockingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = write_contacts(tmp_path / "cfg", {n: [mail(port, n)] for n in EMAIL})
        proc = subprocess.Popen(_notify_cmd(sqlite_url, config), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert handler.second_arrived.wait(60)
        os.kill(proc.pid, signal.SIGKILL)                  # dies while the 2nd digest is in flight
        proc.wait(30)
        handler.release.set()
        time.sleep(0.2)
        states = Counter(n.state for n in notices(engine))
        assert states[NoticeState.SENT] >= 1 and states[NoticeState.SENDING] >= 1
        _, report = run_day(engine, config)
        assert report.recovered == states[NoticeState.SENDING]        # queued again
        assert report.at_risk == 1                          # but only the digest on the wire may repeat
        assert {n.state for n in notices(engine)} == {"sent"}
        got = Counter(handler.received)
        assert set(got) == {f"{EMAIL[n]}@example.gov.cn" for n in PEOPLE}   # nothing lost
        assert sum(c - 1 for c in got.values()) <= 1        # at most the one in flight twice
    finally:
        controller.stop()


def test_killed_mid_group_marks_what_went_and_resends_only_the_rest(db_url: str, tmp_path: Path,
                                                                    receiver: Receiver) -> None:
    """People are claimed in groups and what went is journaled, then marked sent when the
    group is done. Killed mid-group, the next run marks the journaled notices sent and
    resends only the rest: the message on the wire is the only one that can come twice."""
    from rectify_core.delivery.notify import groups
    from rectify_core.ledger.models import NoticePart

    owners, ledger = _one_item_each(40)
    engine = setup_db(db_url, tmp_path, ledger)
    config = write_contacts(tmp_path / "cfg", {o: [f"json://127.0.0.1:{receiver.port}/hook/{i:02d}"]
                                               for i, o in enumerate(owners)})
    size = len(groups([("", o) for o in owners], 1)[0])
    assert 1 < size < 10                                  # several groups, several people each
    receiver.hold_at = 2 * size + 3                       # two groups done; the third has sent two
    proc = subprocess.Popen(_notify_cmd(db_url, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert receiver.held.wait(60)
        os.kill(proc.pid, signal.SIGKILL)                 # dies with the third message of the group on the wire
        proc.wait(30)
    finally:
        receiver.release.set()
    with db.transaction(engine) as s:
        journaled = len(s.scalars(select(NoticePart)).all())
    states = Counter(n.state for n in notices(engine))
    assert journaled == 2 and states[NoticeState.SENT] == 2 * size and states[NoticeState.SENDING] == size
    _, report = run_day(engine, config)
    assert report.recovered == size - 2                   # journaled ones are marked sent, not resent
    assert report.settled == journaled                    # and told: the killed run had sent them
    assert report.at_risk == 1                            # one worker: one message was on the wire
    assert {n.state for n in notices(engine)} == {"sent"}
    got = Counter(r["path"] for r in receiver.requests)
    assert set(got) == {f"/hook/{i:02d}" for i in range(40)}          # nothing lost
    assert sum(c - 1 for c in got.values()) == 1                      # only the one on the wire twice
    with db.transaction(engine) as s:
        assert s.scalars(select(NoticePart)).all() == []
        notified = Counter(e.data["notice"] for e in s.scalars(select(Event).where(Event.kind == "notified")))
    assert sorted(notified.values()) == [1] * 40                      # each notice marked sent once


def test_a_run_that_fails_midway_leaves_nothing_stuck_in_a_long_lived_process(sqlite_url: str,
                                                                              tmp_path: Path) -> None:
    """`serve` delivers many times in one process: a run that dies of an error mid-way
    (a database gone, a bug) has its claims taken back by the next run of the same
    process, and what it sent before the error is marked sent, not sent again."""
    from rectify_core.delivery.channels import SendResult

    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [f"json://127.0.0.1:9/{EMAIL[n]}"] for n in EMAIL})
    sent: list[str] = []

    def failing(url: str, title: str, body: str) -> SendResult:
        if len(sent) == 1:
            raise RuntimeError("磁盘已满")
        sent.append(url)
        return SendResult(True)

    settings = load_settings(config)
    day = daily.plan_stage(engine, settings, NOW.date())
    daily.enqueue_stage(engine, settings, day, NOW)
    with pytest.raises(RuntimeError):
        daily.deliver_stage(engine, settings, day.directory, NOW, sender=failing)
    first = sent[0]
    states = Counter(n.state for n in notices(engine))
    assert states[NoticeState.SENT] >= 1 and states[NoticeState.SENDING] >= 1

    def working(url: str, title: str, body: str) -> SendResult:
        sent.append(url)
        return SendResult(True)

    report = daily.deliver_stage(engine, settings, day.directory, NOW, sender=working)
    assert report.recovered == states[NoticeState.SENDING] and {n.state for n in notices(engine)} == {"sent"}
    assert sent.count(first) == 1 and len(set(sent)) == len(PEOPLE) == len(sent)


@pytest.mark.parametrize("answer", ["ok", "timeout"])
def test_a_long_delivery_renews_its_claims_as_it_goes(sqlite_url: str, tmp_path: Path, answer: str) -> None:
    """A group's people are claimed together, then sent one after another: while the
    first ones go, the claims of the later ones must stay younger than the lease, or a
    deliverer on another host would take them over and send them too; so too when
    every send fails slowly (nothing is marked, the claims are still renewed)."""
    from dataclasses import replace

    from rectify_core.delivery import notify
    from rectify_core.delivery.channels import SendResult

    owners, ledger = _one_item_each(40)
    engine = setup_db(sqlite_url, tmp_path, ledger)
    config = write_contacts(tmp_path / "cfg", {o: [f"json://127.0.0.1:9/{i}"] for i, o in enumerate(owners)})
    settings = load_settings(config)
    day = daily.plan_stage(engine, settings, NOW.date())
    daily.enqueue_stage(engine, settings, day, NOW)
    rules = replace(settings.rules, lease_minutes=4)
    lease = dt.timedelta(minutes=rules.lease_minutes)
    clock = [dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC)]
    oldest_claims: list[dt.timedelta] = []

    def slow(url: str, title: str, body: str) -> SendResult:
        clock[0] += dt.timedelta(minutes=3)             # each message takes three minutes of real time
        with db.transaction(engine) as s:
            claimed = [n.claimed_at for n in s.scalars(select(Notice).where(Notice.state == "sending"))]
        oldest_claims.append(clock[0] - min(c for c in claimed if c is not None))
        return SendResult(True) if answer == "ok" else SendResult(False, False, "连接超时")

    report = notify.deliver(engine, day.directory, replace(settings, rules=rules), NOW, lambda: clock[0], slow)
    assert len(report.sent if answer == "ok" else report.failed) == 40
    assert {n.state for n in notices(engine)} == {"sent" if answer == "ok" else "failed"}
    assert len(oldest_claims) == 40 and max(oldest_claims) < lease   # no claim ever looked abandoned


def test_delivery_after_a_bulk_enqueue_plans_by_index(db_url: str, tmp_path: Path) -> None:
    """On PostgreSQL a delivery that finds the outbox grown many times since its last
    ANALYZE refreshes its statistics first, so it claims by index, not by scanning the
    table for every group; a table that has not grown since is left alone. SQLite plans by its
    indexes and keeps no statistics: none are made there."""
    from sqlalchemy import text

    engine = setup_db(db_url, tmp_path, _many_items_ledger(1200))
    config = write_contacts(tmp_path / "cfg", {})
    settings = load_settings(config)
    day = daily.plan_stage(engine, settings, NOW.date())
    enqueued = daily.enqueue_stage(engine, settings, day, NOW)
    postgres = engine.dialect.name == "postgresql"
    known = "SELECT reltuples FROM pg_class WHERE relname = 'notices'"
    claim = ("EXPLAIN SELECT id FROM notices WHERE recipient_unit = '' AND recipient IN ('周敏', '胡志云') "
             "AND state = 'pending'")
    if postgres:
        with engine.connect() as conn:
            assert conn.execute(text(known)).scalar_one() <= 0                # nothing known of the rows yet
    daily.deliver_stage(engine, settings, day.directory, NOW)
    with engine.connect() as conn:
        if postgres:
            assert conn.execute(text(known)).scalar_one() == enqueued.inserted
            assert "ix_notices_recipient" in "".join(conn.execute(text(claim)).scalars())
        else:
            assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar() == 0
    db.refresh_statistics(engine, "notices")               # sending rewrote every row: it may have grown again
    assert db.refresh_statistics(engine, "notices") == []  # not grown since: left alone


def test_a_split_digest_resumes_from_the_first_unsent_part(sqlite_url: str, tmp_path: Path,
                                                           receiver: Receiver) -> None:
    engine = setup_db(sqlite_url, tmp_path, _many_items_ledger(12))
    config = write_contacts(tmp_path / "cfg", {"周敏": ["wecombot://KEY-0001"], "胡志云": ["wecombot://KEY-0002"]})
    receiver.script["/wecom/send"] = [200, 200, 500]     # the third part fails, transiently
    _, first = run_day(engine, config)
    zhou = next(p for p in first.failed if p.name == "周敏")
    assert not zhou.dead and zhou.messages == 2
    carried = _wecom_items(receiver)
    states = Counter(n.state for n in notices(engine) if n.recipient == "周敏")
    assert states[NoticeState.SENT] == len(set(carried)) and states[NoticeState.FAILED] == 12 - len(set(carried))
    # the retry (after the backoff) carries only what was not carried: nothing twice, nothing lost
    _, second = run_day(engine, config, NOW + dt.timedelta(hours=1))
    assert not second.failed
    assert sorted(_wecom_items(receiver)) == list(range(1, 13))


def test_a_live_claim_is_never_taken_back(sqlite_url: str, tmp_path: Path, receiver: Receiver) -> None:
    """A second run alongside a slow first run neither resends nor reports an interruption."""
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [f"json://127.0.0.1:{receiver.port}/hook/{n}"] for n in EMAIL})
    receiver.hold_at = 1                              # the first run's first message waits on the wire
    first: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: first.update(report=run_day(engine, config)[1]))
    thread.start()
    assert receiver.held.wait(60)                     # the first run holds its claims, mid-send
    _, second = run_day(engine, config)
    receiver.release.set()
    thread.join(60)
    assert second.recovered == 0 and first["report"].recovered == 0
    paths = Counter(r["path"] for r in receiver.requests)
    assert set(paths.values()) == {1} and len(paths) == len(PEOPLE)


def test_claims_of_other_hosts_expire_by_their_lease(sqlite_url: str, tmp_path: Path) -> None:
    from sqlalchemy import update

    from rectify_core.config.rules import Rules
    from rectify_core.delivery import outbox

    engine = setup_db(sqlite_url, tmp_path)
    settings = load_settings(None)
    day = daily.plan_stage(engine, settings, _local(NOW))
    daily.enqueue_stage(engine, settings, day, NOW)
    real = dt.datetime.now(dt.UTC)
    with db.transaction(engine) as s:
        ids = [n.id for n in s.scalars(select(Notice).order_by(Notice.id))]
        s.execute(update(Notice).where(Notice.id == ids[0]).values(
            state="sending", claimed_by="other-host:1:a", claimed_at=real - dt.timedelta(minutes=30)))
        s.execute(update(Notice).where(Notice.id == ids[1]).values(
            state="sending", claimed_by="other-host:1:b", claimed_at=real - dt.timedelta(minutes=1)))
        s.execute(update(Notice).where(Notice.id == ids[2]).values(
            state="sending", claimed_by=outbox.new_token(), claimed_at=real - dt.timedelta(days=1)))
    with db.transaction(engine) as s:
        assert outbox.recover_stale(real, Rules(), session=s).notices == 1   # only the expired one from elsewhere
        states = {n.id: n.state for n in s.scalars(select(Notice))}
    assert (states[ids[0]], states[ids[1]], states[ids[2]]) == ("pending", "sending", "sending")


def test_a_day_planned_in_chunks_enqueues_what_the_whole_day_does(db_url: str, tmp_path: Path) -> None:
    rows = _many_items_ledger(9).splitlines()
    # spread the deadlines so the items sit at different ladder steps and lights
    spread = [rows[0]] + [r.replace("2026年11月20日", f"2026年{11 + i % 2}月{3 + 3 * i}日") for i, r in
                          enumerate(rows[1:])]
    whole = setup_db(db_url, tmp_path, "\n".join(spread) + "\n")
    settings = load_settings(None)
    day = daily.plan_stage(whole, settings, _local(NOW))
    expected = daily.enqueue_stage(whole, settings, day, NOW)
    keys = sorted(n.dedup_key for n in notices(whole))
    with db.transaction(whole) as s:
        s.execute(delete(Notice))
        s.execute(delete(Event).where(Event.kind == "notified"))
        s.execute(update(Item).values(overdue_since=None))
    tally = daily.plan_and_enqueue(whole, settings, _local(NOW), NOW, chunk=2)
    assert (tally.planned, tally.inserted, tally.items) == (expected.planned, expected.inserted, 9)
    assert sorted(n.dedup_key for n in notices(whole)) == keys
    from rectify_core.deadlines.due import urgency

    reds = sorted((p for p in day.plans if p.light == "red"), key=urgency)
    assert sum(tally.lights.values()) == 9 and reds
    assert [p.item.ref for p in tally.top["red"]] == [p.item.ref for p in reds]


def test_marking_no_notices_writes_nothing(sqlite_url: str) -> None:
    """Marking is set-based (one executemany of events); an empty set must not insert a
    row of defaults, as an empty executemany would, nor does settling an empty journal."""
    from sqlalchemy import func

    from rectify_core.config.rules import Rules
    from rectify_core.delivery import outbox
    from rectify_core.ledger.models import Event

    engine = db.make_engine(sqlite_url)
    with db.transaction(engine) as s:
        assert outbox.mark_sent([], "token", "邮件", NOW, session=s) == 0
        assert outbox.settle("token", [], session=s) == 0
        assert outbox.mark_failed([], "token", "x", True, NOW, Rules(), session=s) == []
    with db.transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_an_import_during_notify_leaves_both_consistent(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    """The clerk imports next week's sheet while the daily run is sending: the import goes
    in (renumbered, one row added), the run sends each digest once."""
    engine = setup_db(db_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [f"json://127.0.0.1:{receiver.port}/hook/{EMAIL[n]}"]
                                               for n in EMAIL})
    receiver.hold_at = 1
    notify = subprocess.Popen(_notify_cmd(db_url, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert receiver.held.wait(60)                                  # the run is mid-send
    week2 = tmp_path / "w2" / "ledger.csv"
    week2.parent.mkdir()
    rows = LEDGER.splitlines()
    week2.write_text("\n".join([rows[0], rows[2].replace("2,", "1,", 1), rows[1].replace("1,", "2,", 1),
                                *rows[3:], "5,公务接待清单不完整,刘立强,王芳,2027年1月31日,未完成"]) + "\n",
                     encoding="utf-8")
    imported = subprocess.run([sys.executable, "-m", "rectify_core", "--db", db_url, "import", str(week2),
                               "--round", "1"], capture_output=True, text=True, timeout=120, check=False)
    receiver.release.set()
    _, err = notify.communicate(timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert notify.returncode == 0, err
    assert Counter(r["path"] for r in receiver.requests) == {f"/hook/{EMAIL[n]}": 1 for n in PEOPLE}
    with db.transaction(engine) as s:
        items = {i.title: i.no for i in s.scalars(select(Item))}
        states = {n.state for n in s.scalars(select(Notice))}
    assert items["行政执法案卷质量不高"] == 1 and items["政府采购制度执行不到位"] == 2 and len(items) == 5
    assert states == {"sent"}


def test_delivery_resumes_after_postgresql_restarts_mid_send(tmp_path: Path, receiver: Receiver) -> None:
    """PostgreSQL restarts while a digest is on the wire: that run ends with a clear
    message; the next one sends the rest. Nothing is lost; at most that digest repeats."""
    from tests.fixtures.databases import need_pg, pg_database

    server = need_pg()
    databases = pg_database()
    url = next(databases)
    try:
        engine = setup_db(url, tmp_path)
        config = write_contacts(tmp_path / "cfg", {n: [f"json://127.0.0.1:{receiver.port}/hook/{EMAIL[n]}"]
                                                   for n in EMAIL})
        receiver.hold_at = 1
        first = subprocess.Popen(_notify_cmd(url, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert receiver.held.wait(60)
        engine.dispose()
        server.restart()
        receiver.release.set()
        _, err = first.communicate(timeout=60)
        assert first.returncode == 3 and "数据库服务器重启" in err and "Traceback" not in err, err
        assert "未作任何改动" not in err                                        # what went is recorded
        second = subprocess.run(_notify_cmd(url, config), capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 0, second.stderr
        got = Counter(r["path"] for r in receiver.requests)
        assert set(got) == {f"/hook/{EMAIL[n]}" for n in PEOPLE}              # nothing lost
        assert sum(c - 1 for c in got.values()) <= 1                          # at most the one on the wire
        assert {n.state for n in notices(engine)} == {"sent"}
        engine.dispose()
    finally:
        databases.close()


def test_a_restore_is_refused_while_notify_sends(db_url: str, tmp_path: Path, receiver: Receiver,
                                                 cli: Any) -> None:
    """Restoring mid-`notify` would have sent people their digest twice: refused instead,
    on both databases, while a digest is on the wire; once notify is done, it goes."""
    engine = setup_db(url := db_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [f"json://127.0.0.1:{receiver.port}/hook/{EMAIL[n]}"]
                                               for n in EMAIL})
    out = tmp_path / "备份.zip"
    assert cli(["--db", url, "backup", "-o", str(out)]).code == 0
    receiver.hold_at = 1
    sending = subprocess.Popen(_notify_cmd(url, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert receiver.held.wait(60)
        refused = cli(["--db", url, "restore", str(out), "--force"])
        assert refused.code != 0 and "正被其他程序使用" in refused.err, refused.err
    finally:
        receiver.release.set()
        sending.communicate(timeout=60)
    assert sending.returncode == 0
    sent = {n.id for n in notices(engine) if n.state == NoticeState.SENT}
    engine.dispose()                                                     # (this test's own connections too)
    assert sent and cli(["--db", url, "restore", str(out), "--force"]).code == 0
