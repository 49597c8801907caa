"""The daily flow through real Prefect (a session-scoped test harness), end to end."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from rectify_core.delivery.mailsink import MailSink
from rectify_core.ledger import db
from rectify_core.ledger.models import Notice
from tests.deliveries import EMAIL, mail, setup_db
from tests.fixtures.channels import write_contacts

OTHER_UNIT = """区审计局党组巡察整改台账
序号,问题,责任领导,责任人,整改时限,完成情况
1,审计整改不到位,张华,刘洋,2026年11月20日,未完成
"""


def _artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert found, f"no artifact {key}"
    return str(sorted(found, key=lambda a: a.created or 0)[-1].data)


def test_daily_flow_end_to_end(harness: None, db_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    from rectify_flows.daily import daily_flow

    engine = setup_db(db_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL},
                            roles={"刘立强": ["first_responsible"]})
    board = tmp_path / "看板.html"
    result = daily_flow(date="2026-11-25", config_dir=str(config), database_url=db_url, dashboard_path=str(board))
    with db.transaction(engine) as s:
        sent = s.scalar(select(func.count()).select_from(Notice).where(Notice.state == "sent"))
        people = s.scalar(select(func.count(func.distinct(Notice.recipient))).where(Notice.state == "sent"))
    assert (result["sent_notices"], result["sent_people"]) == (sent, people) == (5, 3)
    assert result["lights"] == {"red": 1, "yellow": 1, "green": 2, "blue": 0, "none": 0}
    assert [o["no"] for o in result["overdue"]] == [1]
    assert len(mail_sink.messages) == 3
    text = _artifact("rectify-daily")
    assert "本次新计划提醒 5 条；已发送 5 条，涉及 3 人。" in text
    assert "红灯 1，黄灯 1，绿灯 2" in text
    # one compact table per light (it fits the page: no round column for one round), with
    # who answers for each item and the working days as words, never "-3"
    assert "## 红灯（1 项）" in text and "| 问题1：政府采购制度执行不到位 | 周敏 | 2026-11-20 | 逾期3个工作日 |" in text
    assert not re.search(r"\| -\d+ \|", text)
    assert "## 绿灯（2 项）" in text
    assert "问题1：政府采购制度执行不到位" in board.read_text(encoding="utf-8")
    assert board.resolve().as_uri() in _artifact("rectify-dashboard")
    # the same day again through Prefect: nothing new, nothing sent
    again = daily_flow(date="2026-11-25", config_dir=str(config), database_url=db_url)
    assert (again["planned"], again["sent_notices"]) == (0, 0) and len(mail_sink.messages) == 3


def test_daily_flow_for_one_unit(harness: None, sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    from prefect.client.orchestration import get_client

    from rectify_core.importers import read_ledger
    from rectify_core.ledger.store import save_ledger
    from rectify_flows.daily import daily_flow
    from tests.deliveries import NOW

    engine = setup_db(sqlite_url, tmp_path)
    other = tmp_path / "other.csv"
    other.write_text(OTHER_UNIT, encoding="utf-8")
    with db.transaction(engine) as s:
        save_ledger(read_ledger(other), NOW, session=s)
    config = write_contacts(tmp_path / "cfg", {**{n: [mail(mail_sink, n)] for n in EMAIL},
                                               "刘洋": [mail_sink.url("liuyang@example.gov.cn")],
                                               "张华": [mail_sink.url("zhanghua@example.gov.cn")]})
    result = daily_flow(date="2026-11-25", config_dir=str(config), unit="区审计局党组", database_url=sqlite_url)
    assert result["unit"] == "区审计局党组" and result["sent_people"] == 2
    assert {str(m["to"]) for m in mail_sink.messages} == {"liuyang@example.gov.cn", "zhanghua@example.gov.cn"}
    with get_client(sync_client=True) as client:
        limits = [g.name for g in client.read_global_concurrency_limits(limit=50)]
    assert any(name.startswith("rectify-unit-") for name in limits)
    rest = daily_flow(date="2026-11-25", config_dir=str(config), database_url=sqlite_url)
    assert rest["sent_people"] == 3 and len(mail_sink.messages) == 5


def test_quarterly_lookback_flow(harness: None, db_url: str, sample: Path) -> None:
    from rectify_core.config.rules import Rules
    from rectify_core.importers import read_ledger
    from rectify_core.ledger import lookback
    from rectify_core.ledger.store import save_ledger
    from rectify_flows.lookback import lookback_flow
    from tests.deliveries import NOW

    engine = db.make_engine(db_url)
    with db.transaction(engine) as s:
        save_ledger(read_ledger(sample), NOW, session=s)
    today = dt.date(2025, 10, 1)
    with db.transaction(engine) as s:
        expected = lookback.select_for_sweep(lookback.candidates(today, session=s), today, Rules(),
                                             lookback.default_seed(today))
    result = lookback_flow(date="2025-10-01", database_url=db_url)
    assert result["assigned"] == len(expected) == len(result["selected"])
    assert [s["ref"] for s in result["selected"]] == [s.candidate.ref for s in expected]
    assert "回头看抽选" in _artifact("rectify-lookback")
    assert lookback_flow(date="2025-10-01", database_url=db_url)["assigned"] == 0   # a rerun assigns nothing
    with db.transaction(engine) as s:
        assert len(lookback.tasks(session=s)) == len(expected)
    engine.dispose()


def test_no_secret_in_prefect_artifacts_logs_or_parameters(harness: None, sqlite_url: str, tmp_path: Path,
                                                          mail_sink: MailSink, monkeypatch: Any) -> None:
    """A channel whose key comes from the environment fails: the run's artifact names the
    failure, and neither it, the run's logs nor its parameters carry the key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    from rectify_flows.daily import daily_flow

    key = "wecom-Secret-Key-5f1e2d3c"
    monkeypatch.setenv("RECTIFY_TEST_WECOM_KEY", key)
    engine = setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {**{n: [mail(mail_sink, n)] for n in EMAIL},
                                               "周敏": ["wecombot://127.0.0.1:9/${RECTIFY_TEST_WECOM_KEY}"]})
    state = daily_flow(date="2026-11-25", config_dir=str(config), database_url=sqlite_url, return_state=True)
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))[0]
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    text = _artifact("rectify-daily")
    assert "周敏" in text and "失败" in text                       # the failure is reported
    recorded = text + str(run.parameters) + "\n".join(log.message for log in logs)
    assert key not in recorded and "Secret-Key" not in recorded
    engine.dispose()


def test_a_full_disk_ends_the_daily_flow_in_words(harness: None, tmp_path: Path, mail_sink: MailSink) -> None:
    """Under `rectify serve` a full disk fails the run with the CLI's words, not a driver's
    traceback; the run's notices stay in the outbox for the next one."""
    import contextlib

    import pytest

    from rectify_core.errors import RectifyError
    from rectify_flows.daily import daily_flow
    from tests.test_hostile import _small_disk

    with _small_disk(tmp_path / "disk") as disk:
        url = f"sqlite:///{disk / 'rectify.db'}"
        fresh = db.make_engine(url)
        db.migrate(fresh)
        fresh.dispose()
        engine = setup_db(url, tmp_path)
        engine.dispose()
        config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
        with contextlib.suppress(OSError), (disk / "filler").open("wb") as f:
            while True:
                f.write(b"\0" * 65536)
        with pytest.raises(RectifyError, match="磁盘已满"):
            daily_flow(date="2026-11-25", config_dir=str(config), database_url=url)
        (disk / "filler").unlink()
        result = daily_flow(date="2026-11-25", config_dir=str(config), database_url=url)
        assert result["sent_people"] == 3 and len(mail_sink.messages) == 3
