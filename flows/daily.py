"""The daily deadline flow: plan and enqueue -> deliver -> summary.

A table of contents over rectify_core.runs.daily: one task per stage, never one per item.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from rectify_core.delivery.notify import DeliveryReport
from rectify_core.documents import dashboard
from rectify_core.ledger import db
from rectify_core.runs import daily
from rectify_core.runs.daily import DayTally
from rectify_core.runs.summary import DaySummary, markdown, summarize
from rectify_flows.common import RunContext, context, database_errors_explained, unit_lock


class TransientDeliveryError(Exception):
    """Some digests failed in a way worth retrying soon; carries the report."""

    def __init__(self, report: DeliveryReport) -> None:
        self.report = report
        super().__init__(f"{len(report.failed)} 人发送失败，稍后重试")


@task(cache_policy=NO_CACHE)
def plan_and_enqueue(ctx: RunContext) -> DayTally:
    """Plan the day and enqueue what it owes, a chunk at a time; returns counts and the
    few most urgent plans, never the whole day (the flow's cost does not grow with it)."""
    return daily.plan_and_enqueue(ctx.engine, ctx.settings, ctx.today, ctx.now, ctx.unit)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[300, 900])
def deliver(ctx: RunContext, started: float) -> DeliveryReport:
    """On a retry the clock has moved on by the real time waited, so backoffs elapse."""
    now = ctx.now + dt.timedelta(seconds=time.monotonic() - started)
    directory = daily.directory_of(ctx.engine, ctx.settings)
    report = daily.deliver_stage(ctx.engine, ctx.settings, directory, now, unit=ctx.unit)
    if any(not p.dead for p in report.failed):
        raise TransientDeliveryError(report)
    return report


@task(cache_policy=NO_CACHE)
def summary(ctx: RunContext, day: DayTally, report: DeliveryReport, kept: dict[str, object] | None) -> DaySummary:
    with db.transaction(ctx.engine) as session:
        result = summarize(day, report, ctx.unit, session=session)
    if kept is not None:
        result.extra["backup"] = kept
    if note := ctx.settings.calendar.next_year_note(day.today):
        result.extra["calendar"] = note
    key = "rectify-daily" + (f"-unit-{ctx.unit_slug}" if ctx.unit else "")
    create_markdown_artifact(markdown(result), key=key, description="巡察整改每日提醒汇总")
    return result


@task(cache_policy=NO_CACHE)
def keep_backup(ctx: RunContext) -> dict[str, object] | None:
    """The optional rotating backup ([backup] dir in rules.toml)."""
    kept = daily.backup_stage(ctx.url, ctx.settings, ctx.now)
    if kept is not None and "error" in kept:
        get_run_logger().error("备份失败：%s", kept["error"])
    return kept


@task(cache_policy=NO_CACHE)
def publish_dashboard(ctx: RunContext, path: str) -> None:
    target = Path(path).resolve()
    dashboard.write(ctx.engine, ctx.settings, ctx.today, target)
    create_link_artifact(target.as_uri(), link_text="巡察整改进展看板", key="rectify-dashboard",
                         description=f"{ctx.today} 巡察整改进展看板（离线 HTML）")


@flow(name="rectify-daily", log_prints=True)
def daily_flow(date: str | None = None, config_dir: str | None = None, unit: str | None = None,
               database_url: str | None = None, dashboard_path: str | None = None) -> dict[str, Any]:
    """每日时限检查与提醒：计划、写入发件箱、按人发送摘要、发布汇总。

    `date` (YYYY-MM-DD) replays a day at 09:00 Asia/Shanghai; default: now. `unit` limits
    the run to one unit (scale-out). The database comes from RECTIFY_DATABASE_URL unless
    `database_url` is given (keep passwords out of deployment parameters). With
    `dashboard_path`, the run also writes the dashboard there and links it as an artifact."""
    ctx = context(date, config_dir, unit, database_url)
    with unit_lock(ctx.unit), database_errors_explained():
        day = plan_and_enqueue(ctx)
        state = deliver(ctx, time.monotonic(), return_state=True)
        report = state.result(raise_on_failure=False)
        if isinstance(report, TransientDeliveryError):
            report = report.report
        if isinstance(report, BaseException):  # not worth retrying: a bug, or the database
            raise report
        kept = keep_backup(ctx) if ctx.unit is None else None  # per-unit runs share one database
        result = summary(ctx, day, report, kept)
        if dashboard_path:
            publish_dashboard(ctx, dashboard_path)
    get_run_logger().info("已发送 %d 人，失败 %d 人", result.sent_people, len(result.failures))
    return result.as_dict()
