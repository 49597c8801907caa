"""Prefect's own cost in the daily flow, at several ledger sizes: the same day run as the
flow body's own calls (set-up, then the stages) and as the `rectify-daily` flow under a
temporary Prefect server, each on its own copy of the same database, --repeat times;
medians are printed. What Prefect adds is the flow's time less the set-up and the
stages; it should not grow with the ledger (tasks exchange a small tally, the artifact
is a page).

    .venv/bin/python bench/flow_bench.py [--items 1000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchdata import populate
from rectify_core.runs import daily
from rectify_core.runs.summary import markdown, summarize

TODAY = dt.date(2026, 11, 25)


def core_day(url: str) -> tuple[float, float]:
    """The flow body's calls made directly, as the flow makes them: (set-up, stages)."""
    from rectify_core.ledger import db
    from rectify_flows.common import context

    start = time.perf_counter()
    ctx = context(TODAY.isoformat(), None, None, url)
    engine, settings = ctx.engine, ctx.settings  # a new engine (migrations checked) and the config
    set_up = time.perf_counter() - start
    start = time.perf_counter()
    tally = daily.plan_and_enqueue(engine, settings, ctx.today, ctx.now)
    report = daily.deliver_stage(engine, settings, daily.directory_of(engine, settings), ctx.now)
    daily.backup_stage(ctx.url, settings, ctx.now)
    with db.transaction(engine) as session:
        markdown(summarize(tally, report, None, session=session))
    return set_up, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    from rectify_flows.daily import daily_flow

    work = Path(tempfile.mkdtemp(prefix="rectify-flow-bench-"))
    try:
        with prefect_test_harness():
            warm = work / "warm.db"
            populate(f"sqlite:///{warm}", 10, TODAY)
            daily_flow(date=TODAY.isoformat(), database_url=f"sqlite:///{warm}")  # first-run costs aside
            print(f"{'items':>9}  {'set-up':>7}  {'stages':>7}  {'flow':>7}  {'Prefect adds':>12}   "
                  f"(medians of {args.repeat})")
            for k, n in enumerate(args.items):
                seed = work / f"seed-{k}.db"
                populate(f"sqlite:///{seed}", n, TODAY)
                set_ups, stages, flows = [], [], []
                for r in range(args.repeat):
                    core_db, flow_db = work / f"core-{k}-{r}.db", work / f"flow-{k}-{r}.db"
                    shutil.copy(seed, core_db)
                    shutil.copy(seed, flow_db)
                    set_up, stage = core_day(f"sqlite:///{core_db}")
                    start = time.perf_counter()
                    daily_flow(date=TODAY.isoformat(), database_url=f"sqlite:///{flow_db}")
                    flows.append(time.perf_counter() - start)
                    set_ups.append(set_up)
                    stages.append(stage)
                s, c, f = (statistics.median(v) for v in (set_ups, stages, flows))
                print(f"{n:>9,}  {s:>6.2f}s  {c:>6.2f}s  {f:>6.2f}s  {f - s - c:>11.2f}s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
