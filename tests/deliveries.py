"""A delivery day with real parts, shared by the delivery tests: a small ledger, its people's
mail boxes, the day it is run on, and what the outbox holds after."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from rectify_core.config.calendar import local_datetime
from rectify_core.config.settings import load_settings
from rectify_core.delivery.mailsink import MailSink
from rectify_core.importers import read_ledger
from rectify_core.ledger import db
from rectify_core.ledger.models import Notice
from rectify_core.ledger.store import save_ledger
from rectify_core.runs import daily
from tests.fixtures.channels import Receiver

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


SECRET = "SECRETKEYrectifytest7f3a9c2e51"


def _one_item_each(n: int) -> tuple[list[str], str]:
    """n owners and a ledger giving each one item due 2026-12-15: on NOW one notice each,
    to its owner (14 working days left, 督办通知)."""
    owners = [f"人员{i:03d}" for i in range(n)]
    return owners, "序号,问题,责任领导,责任人,整改时限,完成情况\n" + "".join(
        f"{i + 1},问题{i + 1},,{o},2026年12月15日,未完成\n" for i, o in enumerate(owners))


def _notify_cmd(url: str, config: Path) -> list[str]:
    return [sys.executable, "-m", "rectify_core", "--db", url, "--config", str(config), "notify",
            "--date", "2026-11-25"]


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


def _many_items_ledger(n: int) -> str:
    rows = [f"{i},整改问题第{i}项：{'内容' * 60},胡志云,周敏,2026年11月20日,未完成" for i in range(1, n + 1)]
    return "序号,问题,责任领导,责任人,整改时限,完成情况\n" + "\n".join(rows) + "\n"


def _wecom_items(receiver: Receiver, key: str = "KEY-0001") -> list[int]:
    """Item numbers the WeCom bot `key` accepted (answered 200)."""
    import re

    return [int(no) for r in receiver.at("/wecom") if r["status"] == 200 and key in str(r["query"])
            for no in re.findall(r"问题(\d+)：整改问题", r["body"]["text"]["content"])]
