"""The office's commands at county scale: for UNITS units of ITEMS items each, every command's
time, peak memory and ratio to its floor, on SQLite or (--db) PostgreSQL.

    .venv/bin/python bench/county_bench.py [--units 500] [--items 200] [--db URL] [--check]

The county is score_bench's: every unit a round, a third of the items closed, deadlines
spread 90 days either side of the day, so most units have overdue items (the bulletin names
every one of them). Each command runs as a clerk runs it, in a process of its own
(`rectify --db URL …`), so its peak memory (maximum resident set, read from the kernel for
that process) is its own; the time is taken inside that process around the command, start-up
aside (start-up is measured on its own: `rectify --version` and `rectify units`, whole).

Floors, the database's own fetchall (no ORM) of what the command must read:
- units, dashboard: the glance SELECT (every counted item's dates and state);
- bulletin, export, scores: every item's whole row.
Goals (issue 42): units and dashboard ≤ 3× their floor; bulletin and export ≤ 3× reading
their data, memory flat in the county's size (compare two runs); /admin is admin_bench's.
With --check the script exits 1 when a goal is missed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdata import scratch_database
from daily_bench import bare_fetchall
from score_bench import DAY, county_arguments, populate

from rectify_core.ledger import db, glance

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
# imports everything the commands use, then times the command alone
DRIVER = """
import json, sys, time
import rectify_core.cli as c
from rectify_flows.cli import cli
getattr(c, 'load_all', lambda: None)()
import docx, openpyxl, jinja2  # what the documents use: imported before the clock starts
started = time.perf_counter()
try:
    cli.main(sys.argv[1:], prog_name="rectify", standalone_mode=False)
finally:
    print(json.dumps({"seconds": time.perf_counter() - started}), file=sys.stderr)
"""
GOALS = {"units": 3.0, "dashboard": 3.0, "bulletin": 3.0, "export": 3.0}


def run(argv: list[str], *, driver: bool = True) -> tuple[float, float]:
    """(seconds, peak MB) of one command in a process of its own: the command's own time
    with the driver, else the process's whole wall time."""
    command = [PYTHON, "-c", DRIVER, *argv] if driver else [str(ROOT / ".venv" / "bin" / "rectify"), *argv]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    err = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err}")
    seconds = json.loads(err.strip().splitlines()[-1])["seconds"] if driver else wall
    return seconds, usage.ru_maxrss / 1024


def floors(url: str) -> dict[str, float]:
    engine = db.make_engine(url)
    glance_sql = str(glance.query().compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    whole = "SELECT * FROM items JOIN rounds ON rounds.id = items.round_id JOIN units ON units.id = rounds.unit_id"
    out = {"glance": _fastest(lambda: bare_fetchall(engine, glance_sql)),
           "items": _fastest(lambda: bare_fetchall(engine, whole))}
    engine.dispose()
    return out


def _fastest(read: Callable[[], object], runs: int = 3) -> float:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        read()
        took.append(time.perf_counter() - started)
    return min(took)


def main() -> None:
    args = county_arguments(__doc__, check=True)
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), args.db) as url:
        count = populate(url, args.units, args.items)
        out = Path(tmp)
        base = ["--db", url]
        floor = floors(url)
        print(f"{db.make_engine(url).dialect.name}, {args.units:,} units × {args.items} items = {count:,} items")
        print(f"floors: glance SELECT {floor['glance'] * 1000:,.0f} ms, every item's row "
              f"{floor['items'] * 1000:,.0f} ms (fetchall, no ORM)")
        day = ["--date", DAY.isoformat()]
        commands = {
            "units": ([*base, "units"], floor["glance"]),
            "dashboard": ([*base, "dashboard", *day, "-o", str(out / "d.html")], floor["glance"]),
            "bulletin": ([*base, "bulletin", *day, "-o", str(out / "b.docx")], floor["items"]),
            "export": ([*base, "export", *day, "-o", str(out / "e.xlsx")], floor["items"]),
            "scores": ([*base, "scores", "--date", DAY.isoformat()], floor["items"]),
        }
        missed = []
        print(f"{'command':<10} {'time':>9} {'floor':>9} {'ratio':>6} {'peak':>8}")
        for name, (argv, its_floor) in commands.items():
            seconds, peak = run(argv)
            ratio = seconds / its_floor
            goal = GOALS.get(name)
            note = "" if goal is None else (f"  (goal ≤ {goal:g}×)" if ratio <= goal else f"  MISSED ≤ {goal:g}×")
            if goal is not None and ratio > goal:
                missed.append(name)
            print(f"{name:<10} {seconds * 1000:>7,.0f}ms {its_floor * 1000:>7,.0f}ms {ratio:>5.1f}× "
                  f"{peak:>6,.0f}MB{note}")
        for argv in (["--version"], [*base, "units"]):
            seconds, peak = run(argv, driver=False)
            print(f"whole process `rectify {' '.join(a for a in argv if a != url and a != '--db')}`: "
                  f"{seconds * 1000:,.0f} ms, {peak:,.0f} MB")
        if args.check and missed:
            raise SystemExit(f"goals missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
