"""Delivery with real parts: SMTP (aiosmtpd) and an HTTP receiver on loopback,
SQLite and PostgreSQL, concurrent and killed processes."""

from __future__ import annotations

import datetime as dt
import logging
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
from sqlalchemy import Engine, MetaData, delete, select, update

from rectify_core.config.calendar import local_datetime
from rectify_core.config.settings import load_settings
from rectify_core.delivery.mailsink import MailSink, free_port
from rectify_core.delivery.render import Line, render_digest
from rectify_core.importers import read_ledger
from rectify_core.ledger import db
from rectify_core.ledger.models import Event, Item, Notice
from rectify_core.ledger.store import save_ledger
from rectify_core.runs import daily
from rectify_core.vocab import NoticeState
from tests.fixtures.channels import Receiver, plain, write_contacts

LEDGER = """序号,问题,责任领导,责任人,整改时限,完成情况
1,政府采购制度执行不到位,胡志云,周敏,2026年11月20日,未完成
2,行政执法案卷质量不高,胡志云,周敏,2026年11月30日,整改中
3,要素制约破解不到位,刘立强,王芳,2026年12月15日,正在整改
4,三会一课质量不高,刘立强,赵磊,2026年12月31日,持续推进
"""
NOW = local_datetime(dt.date(2026, 11, 25), 9, 0)      # a Wednesday morning
PEOPLE = ("周敏", "胡志云", "王芳")                        # who is owed something that day
EMAIL = {"周敏": "zhoumin", "胡志云": "huzhiyun", "王芳": "wangfang", "刘立强": "liuliqiang",
         "赵磊": "zhaolei"}


def mail(sink_or_port: MailSink | int, name: str) -> str:
    port = sink_or_port if isinstance(sink_or_port, int) else sink_or_port.port
    return f"mailto://127.0.0.1:{port}?from=rectify@localhost&to={EMAIL[name]}@example.gov.cn"


def setup_db(url: str, tmp_path: Path, ledger: str = LEDGER) -> Engine:
    path = tmp_path / "ledger.csv"
    path.write_text(ledger, encoding="utf-8")
    engine = db.make_engine(url)
    with db.transaction(engine) as s:
        save_ledger(read_ledger(path), NOW, session=s)
    return engine


def run_day(engine: Engine, config: Path, now: dt.datetime = NOW) -> Any:
    settings = load_settings(config)
    day = daily.plan_stage(engine, settings, _local(now))
    enqueued = daily.enqueue_stage(engine, settings, day, now)
    return enqueued, daily.deliver_stage(engine, settings, day.directory, now)


def _local(now: dt.datetime) -> dt.date:
    from rectify_core.config.calendar import local_today

    return local_today(now)


def notices(engine: Engine) -> list[Notice]:
    with db.transaction(engine) as s:
        return list(s.scalars(select(Notice).order_by(Notice.id)))


def recipients(sink: MailSink) -> Counter[str]:
    return Counter(str(m["to"]) for m in sink.messages)


def test_one_digest_per_person_once(db_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    engine = setup_db(db_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    enqueued, report = run_day(engine, config)
    assert enqueued.inserted == 5                      # 周敏×2, 胡志云×2, 王芳×1
    assert sorted(p.name for p in report.sent) == sorted(PEOPLE) and not report.failed
    assert recipients(mail_sink) == Counter({f"{EMAIL[n]}@example.gov.cn": 1 for n in PEOPLE})
    zhou = next(m for m in mail_sink.messages if "zhoumin" in str(m["to"]))
    assert str(zhou["subject"]) == "【巡察整改督办通知】周敏同志：2项待办，其中逾期1项"
    body = plain(zhou)
    assert "问题1：政府采购制度执行不到位" in body and "问题2：行政执法案卷质量不高" in body
    assert body.index("问题1") < body.index("问题2")   # overdue first
    assert "同时告知：胡志云" in body and "已逾期3个工作日" in body
    # the same day again: nothing new planned, nothing sent
    again, report2 = run_day(engine, config, NOW + dt.timedelta(hours=2))
    assert again.inserted == 0 and report2.people == []
    assert len(mail_sink.messages) == 3
    rows = notices(engine)
    assert {(n.state, n.attempts) for n in rows} == {("sent", 1)}
    with db.transaction(engine) as s:
        assert len(list(s.scalars(select(Event).where(Event.kind == "notified")))) == 5


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


def test_im_channels_get_their_formats(sqlite_url: str, tmp_path: Path, receiver: Receiver) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {
        "周敏": ["wecombot://WECOMKEY123"],
        "胡志云": ["dingtalk://SEC0123456789abcdef@DINGTOKEN456/"],
        "王芳": ["feishu://FEISHUTOKEN789"],
    })
    _, report = run_day(engine, config)
    assert not report.failed
    wecom = receiver.at("/wecom")
    assert len(wecom) == 1 and wecom[0]["query"]["key"] == ["WECOMKEY123"]
    assert wecom[0]["body"]["msgtype"] == "text"
    assert "问题1：政府采购制度执行不到位" in wecom[0]["body"]["text"]["content"]
    ding = receiver.at("/dingtalk")
    assert len(ding) == 1 and ding[0]["body"]["msgtype"] == "markdown"
    assert "sign" in ding[0]["query"] and "timestamp" in ding[0]["query"]      # signed
    assert "**【红灯】问题1" in ding[0]["body"]["markdown"]["text"]
    feishu = receiver.at("/feishu/hook/FEISHUTOKEN789")
    assert len(feishu) == 1 and feishu[0]["body"]["msg_type"] == "text"
    assert "问题3：要素制约破解不到位" in feishu[0]["body"]["content"]["text"]


def test_generic_json_webhook(sqlite_url: str, tmp_path: Path, receiver: Receiver) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    hook = f"json://127.0.0.1:{receiver.port}/hook"
    config = write_contacts(tmp_path / "cfg", {n: [hook] for n in PEOPLE})
    run_day(engine, config)
    posts = receiver.at("/hook")
    assert len(posts) == 3
    assert all("巡察整改督办通知" in p["body"]["title"] for p in posts)
    assert any("问题3" in p["body"]["message"] for p in posts)


def test_next_channel_when_the_first_fails(sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    dead_port = free_port()
    config = write_contacts(tmp_path / "cfg", {n: [mail(dead_port, n), mail(mail_sink, n)] for n in PEOPLE})
    _, report = run_day(engine, config)
    assert not report.failed and len(mail_sink.messages) == 3


def test_permanent_failure_dies_fast_and_alerts_admin(sqlite_url: str, tmp_path: Path, receiver: Receiver,
                                                      mail_sink: MailSink) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    receiver.status["/wecom"] = 400
    people = {n: [mail(mail_sink, n)] for n in PEOPLE}
    people["王芳"] = ["wecombot://BADKEY-0000000"]
    config = write_contacts(tmp_path / "cfg", people,
                            admin=[f"mailto://127.0.0.1:{mail_sink.port}?from=rectify@localhost&to=admin@example.gov.cn"])
    _, report = run_day(engine, config)
    wang = next(p for p in report.failed if p.name == "王芳")
    assert wang.dead and "企业微信" in (wang.error or "")
    assert len(receiver.at("/wecom")) == 1                     # no retry storm: dead at once
    assert report.admin_alerts == 1
    alert = next(m for m in mail_sink.messages if "admin" in str(m["to"]))
    body = plain(alert)
    # who it was for, why, that they were not told, and how to fix it
    assert "发给王芳（ledger，责任人）" in body and "企业微信" in body and "尚未收到" in body
    assert "rectify outbox resend" in body and "同时告知" not in body  # nobody else: no empty line
    assert [n.state for n in notices(engine) if n.recipient == "王芳"] == ["dead"]


def test_outside_the_send_window_notices_wait(sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    evening = local_datetime(dt.date(2026, 11, 25), 20, 0)
    _, report = run_day(engine, config, evening)
    assert not report.in_window and report.waiting == 5 and mail_sink.messages == []
    saturday = local_datetime(dt.date(2026, 11, 28), 10, 0)
    _, weekend = run_day(engine, config, saturday)
    assert not weekend.in_window and mail_sink.messages == []
    monday = local_datetime(dt.date(2026, 11, 30), 8, 30)
    _, report = run_day(engine, config, monday)
    assert report.in_window and {p.name for p in report.sent} >= set(PEOPLE)


def test_per_item_cap_spares_escalations(sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    (config / "rules.toml").write_text("[delivery]\nmax_per_item = 1\n", encoding="utf-8")
    run_day(engine, config)
    later = local_datetime(dt.date(2026, 12, 1), 9, 0)   # item 2 now overdue: a new step
    enqueued, _ = run_day(engine, config, later)
    assert enqueued.capped > 0
    capped = [n for n in notices(engine) if n.state == "capped"]
    assert capped and all(n.role not in ("first_responsible", "inspection_office") for n in capped)


def test_wecom_digest_splits_between_items() -> None:
    lines = [Line(str(n), f"第{n}个问题" + "整改内容说明" * 12, "第三轮", dt.date(2026, 11, 20), -3, "red",
                  "逾期催办", "owner", ("胡志云",)) for n in range(1, 31)]
    messages = render_digest("周敏", lines, dt.date(2026, 11, 25), "text", 2048)
    assert len(messages) > 1
    seen: list[int] = []
    for m in messages:
        assert len(m.body.encode()) <= 2048
        assert "…" not in m.body                          # nothing cut mid-item
        seen += [n for n in range(1, 31) if f"问题{n}：第{n}个问题" in m.body]
    assert sorted(seen) == list(range(1, 31))             # every item once, whole
    assert "（第1/" in messages[0].title


SECRET = "SECRETKEYrectifytest7f3a9c2e51"


def test_secrets_appear_nowhere(cli: Any, sqlite_url: str, tmp_path: Path, receiver: Receiver,
                                mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch,
                                caplog: pytest.LogCaptureFixture) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    monkeypatch.setenv("RECTIFY_TEST_KEY", SECRET)
    receiver.status["/wecom"] = 400                              # a failure, with its error text
    config = write_contacts(tmp_path / "cfg", {
        "周敏": ["wecombot://${RECTIFY_TEST_KEY}"],
        "胡志云": ["dingtalk://${RECTIFY_TEST_KEY}@${RECTIFY_TEST_KEY}/"],
        "王芳": [mail(mail_sink, "王芳")],
    }, admin=[mail(mail_sink, "刘立强")])
    caplog.set_level(logging.DEBUG)
    result = cli(["--db", sqlite_url, "--config", str(config), "notify", "--date", "2026-11-25"])
    assert result.code == 4 and "周敏" in result.out            # the failure is reported...
    assert receiver.at("/dingtalk") and receiver.at("/wecom")  # ...and the key was really used
    listed = cli(["--db", sqlite_url, "outbox", "--json"])
    everything = result.out + result.err + listed.out + listed.err + caplog.text
    everything += "".join(m.as_string() for m in mail_sink.messages)
    with engine.connect() as conn:
        meta = MetaData()
        meta.reflect(conn)
        for table in meta.tables.values():
            everything += repr(conn.execute(select(table)).all())
    assert SECRET not in everything
    zhou = [n for n in listed.json() if n["recipient"] == "周敏"]
    assert zhou and all(n["state"] == "dead" and "error=400" in n["last_error"] for n in zhou)


def _one_item_each(n: int) -> tuple[list[str], str]:
    """n owners and a ledger giving each one item due 2026-12-15: on NOW one notice each,
    to its owner (14 working days left, 督办通知)."""
    owners = [f"人员{i:03d}" for i in range(n)]
    return owners, "序号,问题,责任领导,责任人,整改时限,完成情况\n" + "".join(
        f"{i + 1},问题{i + 1},,{o},2026年12月15日,未完成\n" for i, o in enumerate(owners))


def _notify_cmd(url: str, config: Path) -> list[str]:
    return [sys.executable, "-m", "rectify_core", "--db", url, "--config", str(config), "notify",
            "--date", "2026-11-25"]


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


class BlockingHandler:
    """An SMTP server that holds the second message until released."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.second_arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.extend(envelope.rcpt_tos)
        if len(self.received) == 2:
            self.second_arrived.set()
            while not self.release.is_set():
                import asyncio

                await asyncio.sleep(0.05)
        return "250 OK"


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


def test_cli_dry_run_writes_nothing_and_outbox_lists(cli: Any, sqlite_url: str, tmp_path: Path,
                                                     mail_sink: MailSink) -> None:
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    base = ["--db", sqlite_url, "--config", str(config)]
    dry = cli([*base, "notify", "--date", "2026-11-25", "--dry-run"])
    assert dry.code == 0 and "周敏（ledger，mailto）：问题1（到期提醒，红灯）；问题2" in dry.out
    assert notices(engine) == [] and mail_sink.messages == []
    real = cli([*base, "notify", "--date", "2026-11-25"])
    assert real.code == 0 and "✓ 周敏：2 项，经 邮件 mailto://127.0.0.1 发送 1 条消息" in real.out
    sent = cli([*base, "outbox", "--state", "sent", "--json"]).json()
    assert len(sent) == 5 and {n["state"] for n in sent} == {"sent"}
    assert cli([*base, "outbox", "--state", "dead", "--json"]).json() == []


# --- split digests, leases, escaping, secrets (hardening) -----------------------------------

def _many_items_ledger(n: int) -> str:
    rows = [f"{i},整改问题第{i}项：{'内容' * 60},胡志云,周敏,2026年11月20日,未完成" for i in range(1, n + 1)]
    return "序号,问题,责任领导,责任人,整改时限,完成情况\n" + "\n".join(rows) + "\n"


def _wecom_items(receiver: Receiver, key: str = "KEY-0001") -> list[int]:
    """Item numbers the WeCom bot `key` accepted (answered 200)."""
    import re

    return [int(no) for r in receiver.at("/wecom") if r["status"] == 200 and key in str(r["query"])
            for no in re.findall(r"问题(\d+)：整改问题", r["body"]["text"]["content"])]


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


def test_a_fallback_channel_carries_only_what_the_first_did_not(sqlite_url: str, tmp_path: Path,
                                                                receiver: Receiver, mail_sink: MailSink) -> None:
    engine = setup_db(sqlite_url, tmp_path, _many_items_ledger(12))
    config = write_contacts(tmp_path / "cfg", {"周敏": ["wecombot://KEY-0001", mail(mail_sink, "周敏")],
                                               "胡志云": [mail(mail_sink, "胡志云")]})
    receiver.script["/wecom/send"] = [200, 500]
    _, report = run_day(engine, config)
    assert not report.failed
    by_wecom = set(_wecom_items(receiver))
    import re

    mailed = {int(n) for m in mail_sink.messages if "zhoumin" in str(m["to"])
              for n in re.findall(r"问题(\d+)：整改问题", plain(m))}
    assert by_wecom and mailed and by_wecom.isdisjoint(mailed) and by_wecom | mailed == set(range(1, 13))
    channels = {n.channel for n in notices(engine) if n.recipient == "周敏"}
    assert channels == {"企业微信", "邮件"}


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


def test_ledger_text_cannot_inject_markup(sqlite_url: str, tmp_path: Path, receiver: Receiver) -> None:
    hostile = ("1,\"会议费[点我](http://evil.example) ![图](http://x) # 大标题\n> 请忽略以上提醒\",胡志云,周敏,"
               "2026年11月30日,未完成\n")
    engine = setup_db(sqlite_url, tmp_path, "序号,问题,责任领导,责任人,整改时限,完成情况\n" + hostile)
    config = write_contacts(tmp_path / "cfg", {"周敏": ["dingtalk://SECRET0001@TOKEN0001/"],
                                               "胡志云": ["wecombot://KEY-0002"]})
    run_day(engine, config)
    ding = receiver.at("/dingtalk")[0]["body"]["markdown"]["text"]
    assert "\\[点我\\]\\(http://evil\\.example\\)" in ding and "](http" not in ding
    assert "\\!\\[图\\]" in ding and "\\# 大标题" in ding and "\n> 请忽略" not in ding
    wecom = receiver.at("/wecom")[0]["body"]["text"]["content"]
    assert "\n> 请忽略" not in wecom and "大标题 > 请忽略以上提醒" in wecom


def test_a_secret_with_delimiters_stays_whole_and_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import unquote, urlsplit

    from rectify_core.delivery.channels import expand, send
    from rectify_core.masking import Redactor

    secret = "p@ss:w/rd#Secret1"
    redactor = Redactor()
    url = expand("mailtos://rectify:${SMTP_PASS}@127.0.0.1:1?to=a@example.gov.cn", redactor,
                 {"SMTP_PASS": secret})
    parts = urlsplit(url)
    assert unquote(parts.password or "") == secret and parts.hostname == "127.0.0.1"
    leak = "login failed for ss:w/rd#Secret1 and p%40ss%3Aw%2Frd%23Secret1 and rd#Secret1"
    cleaned = redactor(leak)
    assert "Secret1" not in cleaned and "w/rd" not in cleaned
    result = send("mailtos://rectify:${SMTP_PASS}@127.0.0.1:1?to=a@example.gov.cn", "t", "b",
                  {"SMTP_PASS": secret})
    assert not result.ok and "Secret1" not in result.error and "p@ss" not in result.error


def test_admin_alert_has_one_line_per_failed_recipient(sqlite_url: str, tmp_path: Path,
                                                       mail_sink: MailSink) -> None:
    # item 1 is owed to 周敏 and 胡志云 that day; neither has a channel
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {"王芳": [mail(mail_sink, "王芳")]},
                            admin=[mail(mail_sink, "刘立强")])
    _, report = run_day(engine, config)
    assert report.admin_alerts == 4
    alert = next(m for m in mail_sink.messages if "liuliqiang" in str(m["to"]))
    body = plain(alert)
    assert body.count("发给周敏（ledger，责任人）") == 2 and body.count("发给胡志云（ledger，责任领导）") == 2
    assert body.count("未配置任何通知渠道") == 4 and "同时告知：周敏" not in body


def test_digests_read_as_notices_of_the_office(sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    ledger = ("序号,问题,责任领导,责任部门,责任人,整改时限,完成情况\n"
              "1,政府采购制度执行不到位,胡志云（党组副书记、副局长）,财务股,周敏,2026年11月20日,未完成\n"
              "2,三会一课质量不高,胡志云（党组副书记、副局长）,机关党委,赵磊,长期坚持,阶段性完成\n")
    engine = setup_db(sqlite_url, tmp_path, ledger)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    with (config / "contacts.toml").open("a", encoding="utf-8") as f:
        f.write('\n[sender]\noffice = "区交通运输局巡察整改办"\n')
    # 2026-12-28: item 1 is long overdue (owner and leader), item 2's quarterly report is due
    run_day(engine, config, local_datetime(dt.date(2026, 12, 28), 9, 0))
    run_day(engine, config, local_datetime(dt.date(2026, 12, 31), 9, 0))
    bodies = {str(m["to"]).split("@")[0]: plain(m)
              for m in mail_sink.messages}
    leader = bodies["huzhiyun"]
    assert "党组副书记、副局长胡志云同志：" in leader and "您分管的未完成整改事项共2项，其中逾期（红灯）1项" in leader
    assert "督促责任部门和责任人按期完成整改" in leader and "区交通运输局巡察整改办" in leader
    owner = bodies["zhoumin"]
    assert owner.startswith("巡察整改督办通知") and "周敏同志：" in owner and "责任部门：财务股" in owner
    assert "请按期完成整改，并及时报送整改进展和佐证材料" in owner and "轮次：" not in owner
    quarterly = next(m for m in mail_sink.messages if "zhaolei" in str(m["to"])
                     and "今天截止" in plain(m))
    text = plain(quarterly)
    assert "季度进展报送截止：2026年12月31日（今天截止）" in text and "今天到期" not in text


def test_the_example_contacts_file_is_valid() -> None:
    from rectify_core.config.files import read_toml
    from rectify_core.config.people import parse_contacts

    path = Path(__file__).resolve().parent.parent / "config" / "contacts.example.toml"
    directory = parse_contacts(read_toml(path), str(path))
    assert directory.office.endswith("办公室") and any(c.title for c in directory.contacts)


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


def test_apprise_smtp_tls_context_is_lazy_but_the_same() -> None:
    """Apprise's SMTP controller gets a TLS context that loads the CA certificates only
    when a connection is secured (a plain relay pays nothing), with the default's checks."""
    import ssl

    from rectify_core.delivery.channels import _load_apprise

    _load_apprise()
    import apprise.plugins.email.smtp

    tls: Any = vars(apprise.plugins.email.smtp)["ssl"]  # the module apprise reads its TLS from

    context = tls.create_default_context()
    default = ssl.create_default_context()
    assert context.verify_mode == default.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and context.minimum_version == default.minimum_version
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded yet
    context._ready()  # what wrap_socket does first
    assert context.cert_store_stats() == default.cert_store_stats()
    unverified = tls.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    unverified._ready()
    assert unverified.cert_store_stats()["x509_ca"] == 0  # not verifying: nothing to load
    assert tls.CERT_NONE is ssl.CERT_NONE


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


def test_a_leaders_headline_counts_the_lights_of_the_lines(db_url: str, tmp_path: Path,
                                                          mail_sink: MailSink) -> None:
    """The headline of a leader's digest counts through the planner's one light rule: an
    item with no date of its own is due by rule from the feedback date (overdue here),
    which the item's own date alone would miss."""
    ledger = ("序号,问题,责任领导,责任人,整改时限,完成情况\n"
              "1,政府采购制度执行不到位,胡志云,周敏,2026年11月20日,未完成\n"
              "2,行政执法案卷质量不高,胡志云,赵磊,,未完成\n"
              "3,要素制约破解不到位,胡志云,王芳,2026年12月31日,未完成\n")
    path = tmp_path / "ledger.csv"
    path.write_text(ledger, encoding="utf-8")
    parsed = read_ledger(path)
    parsed.feedback_date = dt.date(2026, 8, 3)  # item 2: due by rule two months on, long past
    engine = db.make_engine(db_url)
    with db.transaction(engine) as s:
        save_ledger(parsed, NOW, session=s)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    now = local_datetime(dt.date(2026, 12, 28), 9, 0)
    settings = load_settings(config)
    plans = daily.plan_stage(engine, settings, _local(now)).plans
    red = sum(p.light == "red" for p in plans)
    yellow = sum(p.light == "yellow" for p in plans)
    assert (red, yellow) == (2, 1)
    run_day(engine, config, now)
    leader = next(plain(m)
                  for m in mail_sink.messages if "huzhiyun" in str(m["to"]))
    assert f"您分管的未完成整改事项共3项，其中逾期（红灯）{red}项、临期（黄灯）{yellow}项。" in leader


def test_secrets_never_reach_a_debug_log(sqlite_url: str, tmp_path: Path, receiver: Receiver,
                                         mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host sets the root logger to DEBUG: Apprise then logs channel URLs as it loads
    them and passwords as it fails to log in. Every secret is masked in every record."""
    import io

    token, password = "tok-Secret-7f3a9c21", "pw:Secret@99x"
    monkeypatch.setenv("RECTIFY_TEST_TOKEN", token)
    monkeypatch.setenv("RECTIFY_TEST_PASS", password)
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {
        "周敏": [f"json://127.0.0.1:{receiver.port}/hook/${{RECTIFY_TEST_TOKEN}}"],
        "胡志云": [f"mailto://rectify:${{RECTIFY_TEST_PASS}}@127.0.0.1:{mail_sink.port}"
                f"?from=rectify@localhost&to=huzhiyun@example.gov.cn"],
        "王芳": [mail(mail_sink, "王芳")]})
    stream = io.StringIO()
    handler, root = logging.StreamHandler(stream), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        run_day(engine, config)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    logged = stream.getvalue()
    assert "127.0.0.1" in logged and len(logged.splitlines()) > 10   # DEBUG logging really ran
    assert token not in logged and "Secret" not in logged and "7f3a9c21" not in logged


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
        second = subprocess.run(_notify_cmd(url, config), capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 0, second.stderr
        got = Counter(r["path"] for r in receiver.requests)
        assert set(got) == {f"/hook/{EMAIL[n]}" for n in PEOPLE}              # nothing lost
        assert sum(c - 1 for c in got.values()) <= 1                          # at most the one on the wire
        assert {n.state for n in notices(engine)} == {"sent"}
        engine.dispose()
    finally:
        databases.close()
