"""Deployments: one definition for `rectify serve`, `rectify deployments` and prefect.yaml.

Cron schedules are in Asia/Shanghai (a Cron without a timezone would mean UTC).
Schedules fire only against a running `prefect server`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.deployments import run_deployment
from prefect.schedules import Cron

from rectify_core.ledger import db, obligations
from rectify_core.runs.summary import backup_line
from rectify_flows.common import context
from rectify_flows.daily import daily_flow, keep_backup
from rectify_flows.lookback import lookback_flow

TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Spec:
    flow: str
    name: str
    cron: str | None
    description: str
    active: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"


@flow(name="rectify-daily-fanout")
def daily_fanout_flow(date: str | None = None, config_dir: str | None = None) -> list[str]:
    """按单位拆分每日提醒：为每个有待办的单位触发一次 daily-unit 运行，由各 worker 分担。"""
    ctx = context(date, config_dir, None, None)
    with db.transaction(ctx.engine) as session:
        units = obligations.units_with_work(session=session)
    params: dict[str, Any] = {"date": date, "config_dir": config_dir}
    runs: list[Any] = [run_deployment("rectify-daily/daily-unit", parameters={**params, "unit": unit}, timeout=0)
                       for unit in units]
    if (kept := keep_backup(ctx)) is not None:  # once for the database the units share
        create_markdown_artifact(backup_line(kept), key="rectify-backup", description="巡察整改数据备份")
    return [str(r.id) for r in runs]


def specs() -> list[Spec]:
    """Database and config come from the worker's environment (RECTIFY_DATABASE_URL,
    RECTIFY_CONFIG_DIR), never from parameters: they may hold secrets or local paths."""
    return [
        Spec("rectify-daily", "daily", "0 9 * * *", "每天 09:00（上海时间）检查时限并发送提醒"),
        Spec("rectify-lookback", "quarterly", "0 9 1 1,4,7,10 *", "每季度首日 09:00（上海时间）回头看抽选"),
        Spec("rectify-daily", "daily-unit", None, "按单位运行的每日提醒（由 daily-fanout 触发）"),
        Spec("rectify-daily-fanout", "daily-fanout", "0 9 * * *", "按单位拆分每日提醒（多机扩展时启用，替代 daily）",
             active=False),
    ]


FLOWS: dict[str, Any] = {"rectify-daily": daily_flow, "rectify-lookback": lookback_flow,
                         "rectify-daily-fanout": daily_fanout_flow}


def runner_deployments() -> list[Any]:
    """What `rectify serve` serves: every spec, with its Cron in Asia/Shanghai."""
    return [FLOWS[s.flow].to_deployment(name=s.name, description=s.description, parameters=s.parameters,
                                        schedule=Cron(s.cron, timezone=TZ, active=s.active) if s.cron else None)
            for s in specs()]
