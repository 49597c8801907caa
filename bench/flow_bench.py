"""Prefect's own cost in the daily flow, at two ledger sizes: the same day run as the
core calls alone and as the `rectify-daily` flow (under a temporary Prefect server),
each on its own copy of the same database. The difference is what Prefect adds; it
should not grow with the ledger (tasks exchange a small tally, the artifact is a page).

    .venv/bin/python bench/flow_bench.py [--items 1000 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rectify_core.config.settings import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchdata import populate
from rectify_core.config.calendar import local_datetime
from rectify_core.ledger import db
from rectify_core.runs import daily
from rectify_core.runs.summary import summarize

TODAY = dt.date(2026, 11, 25)


def core_day(url: str) -> float:
    """The flow's calls, made directly."""
    engine = db.make_engine(url)
    settings = load_settings(None)
    now = local_datetime(TODAY, 9, 0)
    start = time.perf_counter()
    tally = daily.plan_and_enqueue(engine, settings, TODAY, now)
    report = daily.deliver_stage(engine, settings, daily.directory_of(engine, settings), now)
    with db.transaction(engine) as session:
        summarize(tally, report, None, session=session)
    took = time.perf_counter() - start
    engine.dispose()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 100_000])
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    from rectify_flows.daily import daily_flow

    work = Path(tempfile.mkdtemp(prefix="rectify-flow-bench-"))
    with prefect_test_harness():
        warm = work / "warm.db"
        populate(f"sqlite:///{warm}", 10, TODAY)
        daily_flow(date=TODAY.isoformat(), database_url=f"sqlite:///{warm}")  # first-run costs aside
        print(f"{'items':>9}  {'core calls':>10}  {'flow':>8}  {'Prefect adds':>12}")
        for n in args.items:
            seed = work / f"seed-{n}.db"
            populate(f"sqlite:///{seed}", n, TODAY)
            core_db, flow_db = work / f"core-{n}.db", work / f"flow-{n}.db"
            shutil.copy(seed, core_db)
            shutil.copy(seed, flow_db)
            core = core_day(f"sqlite:///{core_db}")
            start = time.perf_counter()
            daily_flow(date=TODAY.isoformat(), database_url=f"sqlite:///{flow_db}")
            flow = time.perf_counter() - start
            print(f"{n:>9,}  {core:>9.2f}s  {flow:>7.2f}s  {flow - core:>11.2f}s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
