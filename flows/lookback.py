"""The quarterly look-back flow: sweep -> assign -> summary. Thin over rectify_core.ledger.lookback."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from rectify_core.ledger import db, lookback
from rectify_core.runs.views import lookback_plan_text
from rectify_flows.common import RunContext, context, unit_lock


@task(cache_policy=NO_CACHE)
def sweep(ctx: RunContext, seed: str | None) -> dict[str, Any]:
    with db.transaction(ctx.engine) as session:
        directory = ctx.office.directory(session)
        return lookback.assign(ctx.today, ctx.now, ctx.settings.rules, ctx.settings.calendar, directory,
                               session=session, seed=seed, unit=ctx.unit).as_json()


@task(cache_policy=NO_CACHE)
def summary(ctx: RunContext, result: dict[str, Any]) -> None:
    text = (f"# 回头看抽选 {result['date']}\n\n本次新分派任务 {result['assigned']} 项。\n\n```\n"
            f"{lookback_plan_text(result)}\n```")
    create_markdown_artifact(text, key="rectify-lookback", description="回头看抽选与分派")


@flow(name="rectify-lookback", log_prints=True)
def lookback_flow(date: str | None = None, config_dir: str | None = None, unit: str | None = None,
                  database_url: str | None = None, seed: str | None = None) -> dict[str, Any]:
    """每季度回头看：抽选已销号问题（高风险全选、定期复查、按比例随机），分派检查任务。"""
    ctx = context(date, config_dir, unit, database_url)
    with unit_lock(ctx.unit):
        result = sweep(ctx, seed)
        summary(ctx, result)
    return result
