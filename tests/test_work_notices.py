"""Personal work notices on WeCom and DingTalk, addressed by mobile, against local
stand-ins of both open APIs (tests/fixtures/platforms.py): tokens, lookups, cards,
rate limits, unknown and invalid users, secrets in DEBUG logs, a kill mid-run."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from rectify_core.config.calendar import local_datetime
from rectify_core.config.web import SECRET_ENV
from rectify_core.delivery.mailsink import MailSink
from rectify_core.ledger import db
from rectify_core.ledger.models import Event, ImUser, Notice
from tests.deliveries import run_day, setup_db
from tests.fixtures.channels import plain
from tests.fixtures.platforms import AGENT, APPKEY, APPSECRET, CORP, DING_AGENT, SECRET, Platforms

NOW = local_datetime(dt.date(2026, 11, 25), 9, 0)
LATER = local_datetime(dt.date(2026, 12, 2), 9, 0)  # five working days on: the overdue item is chased again
MOBILES = {"周敏": "13800000001", "胡志云": "13800000002", "王芳": "13900000003", "刘立强": "13900000004",
           "赵磊": "13800000005"}
IDS = {"13800000001": "zhoumin", "13800000002": "huzhiyun", "13900000003": "wangfang", "13900000004": "liuliqiang",
       "13800000005": "zhaolei"}
FIRST = {m: IDS[m] for m in ("13800000001", "13800000002", "13900000003")}  # who is owed something on NOW
WEB_SECRET = "a-web-secret-long-enough-0123456789"
ENV = {"RECTIFY_WECOM_CORPID": CORP, "RECTIFY_WECOM_SECRET": SECRET, "RECTIFY_DING_KEY": APPKEY,
       "RECTIFY_DING_SECRET": APPSECRET, SECRET_ENV: WEB_SECRET}


def contacts(config: Path, platforms: Platforms, sink: MailSink, channel: dict[str, str] | None = None) -> Path:
    """周敏, 胡志云 and 赵磊 on WeCom, 王芳 and 刘立强 on DingTalk, by mobile; the admin by mail."""
    config.mkdir(parents=True, exist_ok=True)
    channel = channel or {"周敏": "企业微信", "胡志云": "企业微信", "王芳": "钉钉", "刘立强": "钉钉",
                          "赵磊": "企业微信"}
    people = "\n".join(f'[[person]]\nname = "{n}"\nmobile = "{m}"\nnotify = ["{channel[n]}"]\n'
                       for n, m in MOBILES.items())
    (config / "contacts.toml").write_text(f"""
[admin]
name = "管理员"
notify = ["mailto://127.0.0.1:{sink.port}?from=rectify@localhost&to=admin@example.gov.cn"]

[channels]
"企业微信" = "wecomapp://${{RECTIFY_WECOM_CORPID}}:${{RECTIFY_WECOM_SECRET}}@{AGENT}?api={platforms.base}"
"钉钉" = "dingwork://${{RECTIFY_DING_KEY}}:${{RECTIFY_DING_SECRET}}@{DING_AGENT}?api={platforms.base}"

{people}""", encoding="utf-8")
    (config / "web.toml").write_text('[web]\nbase_url = "https://rectify.example.gov.cn"\n', encoding="utf-8")
    return config


@pytest.fixture
def office(db_url: str, tmp_path: Path, platforms: Platforms, mail_sink: MailSink,
           monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, Path]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    platforms.users.update(IDS)
    return setup_db(db_url, tmp_path), contacts(tmp_path / "config", platforms, mail_sink)


def _remembered(engine: Engine) -> dict[str, str]:
    with db.transaction(engine) as s:
        return {m: u for m, u in s.execute(select(ImUser.mobile, ImUser.userid))}


def test_each_person_gets_one_card_and_tokens_and_ids_are_fetched_once(
        office: tuple[Engine, Path], platforms: Platforms) -> None:
    engine, config = office
    _, report = run_day(engine, config)
    assert sorted(p.name for p in report.sent) == ["周敏", "王芳", "胡志云"] and not report.failed
    assert {u: len(platforms.got(u)) for u in IDS.values()} == {u: int(u in FIRST.values()) for u in IDS.values()}
    card = platforms.got("zhoumin")[0]["message"]
    assert card["msgtype"] == "textcard" and card["agentid"] == int(AGENT)
    text = card["textcard"]
    assert text["btntxt"] == "办理" and text["url"].startswith("https://rectify.example.gov.cn/p/")
    assert len(text["description"].encode()) <= 512 and "周敏同志" in text["description"]
    assert "政府采购制度执行不到位" in text["description"] and "逾期" in text["title"]
    ding = platforms.got("wangfang")[0]["message"]
    assert ding["agent_id"] == int(DING_AGENT) and ding["msg"]["msgtype"] == "action_card"
    assert ding["msg"]["action_card"]["single_url"].startswith("https://rectify.example.gov.cn/p/")
    assert platforms.calls[("wecom", "token")] == 1 and platforms.calls[("dingtalk", "token")] == 1
    assert dict(platforms.lookups) == {m: 1 for m in FIRST}
    assert _remembered(engine) == FIRST
    with db.transaction(engine) as s:  # DingTalk's task id is in the record of what went
        sent = s.scalars(select(Event).where(Event.kind == "notified"))
        refs = {e.data["recipient"]: e.data.get("ref") for e in sent}
    assert refs["王芳"] == str(700000 + next(i for i, r in enumerate(platforms.received, 1)
                                             if r["userid"] == "wangfang"))

    platforms.expire_tokens()  # the platform's tokens ran out: fetched again once, not per message
    _, later = run_day(engine, config, LATER)
    assert later.sent and not later.failed
    assert platforms.calls[("wecom", "token")] == 2
    assert all(platforms.lookups[m] == 1 for m in MOBILES.values() if platforms.lookups[m])  # never twice
    assert platforms.lookups["13900000004"] == 1  # 刘立强, first owed something now


def test_a_rate_limit_backs_off_and_the_retry_sends_once(office: tuple[Engine, Path], platforms: Platforms) -> None:
    engine, config = office
    platforms.errors = [45009]  # the first send is refused for frequency
    _, report = run_day(engine, config)
    assert len(report.failed) == 1 and not report.failed[0].dead and "45009" in report.failed[0].error
    waiting = [n for n in _notices(engine) if n.state == "failed"]
    assert waiting and all(n.next_attempt_at is not None for n in waiting)
    _, retry = run_day(engine, config, NOW + dt.timedelta(minutes=30))
    assert [p.name for p in retry.sent] == [report.failed[0].name]
    assert sorted(len(platforms.got(u)) for u in FIRST.values()) == [1, 1, 1]


def _notices(engine: Engine) -> list[Notice]:
    with db.transaction(engine) as s:
        return list(s.scalars(select(Notice)))


def test_an_unknown_mobile_gives_up_that_notice_and_tells_the_admin(
        office: tuple[Engine, Path], platforms: Platforms, mail_sink: MailSink) -> None:
    engine, config = office
    del platforms.users["13900000003"]  # 王芳 has not joined the organisation's DingTalk
    _, report = run_day(engine, config)
    failed = {p.name: p for p in report.failed}
    assert set(failed) == {"王芳"} and failed["王芳"].dead and "60121" in failed["王芳"].error
    assert len(platforms.got("zhoumin")) == len(platforms.got("huzhiyun")) == 1
    alert = "\n".join(plain(m) for m in mail_sink.messages)
    assert "王芳" in alert and "139****0003" in alert and "13900000003" not in alert
    assert "13900000003" not in failed["王芳"].error


def test_an_invalid_user_id_is_looked_up_again(office: tuple[Engine, Path], platforms: Platforms) -> None:
    engine, config = office
    run_day(engine, config)
    platforms.users["13800000001"] = "zhoumin2"  # re-created in the address book with a new id
    platforms.refuse.add("zhoumin")
    _, later = run_day(engine, config, LATER)
    assert "周敏" in [p.name for p in later.sent] and not later.failed
    assert len(platforms.got("zhoumin2")) == 1 and platforms.lookups["13800000001"] == 2
    assert platforms.lookups["13800000002"] == 1  # the others were not looked up again
    assert _remembered(engine)["13800000001"] == "zhoumin2"


def test_secrets_and_tokens_stay_out_of_debug_logs(office: tuple[Engine, Path], platforms: Platforms,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    engine, config = office
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    platforms.errors = [45009]
    _, report = run_day(engine, config)
    assert report.sent
    logged = caplog.text + "\n".join(str(p.error) for p in report.failed)
    assert "wecomapp://" in logged or "qyapi" in logged or "gettoken" in logged  # the DEBUG output is there
    for secret in (SECRET, APPSECRET, *platforms.tokens, "tok-wecom-1-secretish"):
        assert secret not in logged


def _notify(config: Path, url: str, day: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "flows", "--db", url, "--config", str(config), "notify",
                             "--date", day], env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_killed_mid_run_each_person_still_gets_exactly_one(office: tuple[Engine, Path], platforms: Platforms,
                                                           db_url: str) -> None:
    engine, config = office
    platforms.hold = ("lookup", 2)  # the run dies while it looks the second person up
    proc = _notify(config, db_url, "2026-11-25")
    try:
        assert platforms.held.wait(60), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        platforms.release.set()
    assert 0 < len(platforms.received) < 3  # some went before the kill, not all
    again = _notify(config, db_url, "2026-11-25")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert sorted(len(platforms.got(u)) for u in FIRST.values()) == [1, 1, 1], (out, err)
    assert all(n.state == "sent" for n in _notices(engine))


def test_the_daily_flow_sends_work_notices(harness: None, office: tuple[Engine, Path], platforms: Platforms,
                                           db_url: str) -> None:
    from rectify_flows.daily import daily_flow

    _, config = office
    result: Any = daily_flow(date="2026-11-25", config_dir=str(config), database_url=db_url)
    assert result["sent_people"] == 3 and not result["failures"]
    assert sorted(len(platforms.got(u)) for u in FIRST.values()) == [1, 1, 1]
    assert json.dumps(result, ensure_ascii=False).count(SECRET) == 0


def test_a_bad_mobile_in_contacts_names_the_key(tmp_path: Path) -> None:
    from rectify_core.config.people import load_directory
    from rectify_core.errors import ConfigError

    (tmp_path / "contacts.toml").write_text('[[person]]\nname = "周敏"\nmobile = "1380000"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"person\[0\]\.mobile.*11 位手机号"):
        load_directory(tmp_path)
    (tmp_path / "contacts.toml").write_text('[[person]]\nname = "周敏"\nmobile = "+86 138-0000-0001"\n',
                                            encoding="utf-8")
    assert load_directory(tmp_path).contacts[0].mobile == "13800000001"


@pytest.mark.parametrize(("reply", "went"), [
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", False),           # a gateway's page, HTTP 200
    (b'{"errcode": 0.0, "errmsg": "ok", "msgid": "m1"}', True),               # 0.0 is 0: it went
    (b'{"errcode": 45009, "pad": "' + b"x" * (3 * 2**20) + b'"}', False),     # a flood, not an answer
])
def test_an_odd_answer_neither_gives_up_nor_sends_twice(office: tuple[Engine, Path], platforms: Platforms,
                                                        reply: bytes, went: bool) -> None:
    engine, config = office
    platforms.replies = [(went, reply)]
    _, first = run_day(engine, config)
    assert not any(f.dead for f in first.failed)                       # never given up on one odd answer
    assert len(first.failed) == (0 if went else 1)
    _, retry = run_day(engine, config, NOW + dt.timedelta(minutes=30))
    assert not retry.failed
    assert sorted(len(platforms.got(u)) for u in FIRST.values()) == [1, 1, 1]   # each once, none twice
