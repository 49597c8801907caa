"""Delivery with real parts: SMTP (aiosmtpd) and an HTTP receiver on loopback: one digest
per person in each channel's format, fallbacks, windows, caps, and what digests say."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rectify_core.config.calendar import local_datetime
from rectify_core.config.settings import load_settings
from rectify_core.delivery.mailsink import MailSink, free_port
from rectify_core.delivery.render import Line, render_digest
from rectify_core.importers import read_ledger
from rectify_core.ledger import db
from rectify_core.ledger.models import Event
from rectify_core.ledger.store import save_ledger
from rectify_core.runs import daily
from tests.deliveries import (
    EMAIL,
    NOW,
    PEOPLE,
    _local,
    _many_items_ledger,
    _wecom_items,
    mail,
    notices,
    recipients,
    run_day,
    setup_db,
)
from tests.fixtures.channels import Receiver, plain, write_contacts


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
