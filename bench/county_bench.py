"""The office's side at county scale: for UNITS units of ITEMS items each, every command's
time, peak memory and ratio to its floor, an /admin page, a re-sorted sheet against an
unchanged re-import, and a county's files imported one after another; on SQLite or (--db)
PostgreSQL.

    .venv/bin/python bench/county_bench.py [--units 500] [--items 200] [--db URL] [--check]
                                           [--resort 20000] [--imports 5]

The county is score_bench's: every unit a round, a third of the items closed, deadlines
spread 90 days either side of the day, so most units have overdue items (the bulletin names
every one of them). Each command runs as a clerk runs it, in a process of its own
(`rectify --db URL …`), so its peak memory (maximum resident set, read from the kernel for
that process) is its own; the time is taken inside that process around the command, start-up
aside; start-up is measured on its own: `rectify --version` and `rectify units` whole, and
a database command's start-up (the whole `rectify units` less its own time; goal ≤ 0.5 s).

Floors, the database's own fetchall (no ORM) of what the command must read:
- units: the glance SELECT (every counted item's dates and state);
- dashboard: the glance SELECT and the scores' facts (the county's board ranks the 结果考评);
- scores: the SELECTs of its facts (scorefacts.queries);
- bulletin: every item's whole row and the scores' facts (it ranks the 结果考评 too);
- export, archive: every item's whole row and the scores' facts (the 台账 has a 考评说明
  sheet; the archive hands up the 结果考评).
Then, each with its own goal:
- /admin for the county office, page 1 (service time through the whole application, the
  glance kept; admin_bench.py has the other pages): ≤ 200 ms;
- a sheet of RESORT rows imported, then the same sheet again (nothing changes), then the same
  problems re-sorted, renumbered and 2% reworded: the last ≤ 2× the unchanged re-import;
- IMPORTS county files of UNITS × ITEMS rows (a 被巡察单位 column; each file new units) into
  one database, one after another: the last ≤ 1.5× the first (linear in the units held).
Goals (issue 42) for the commands: units and dashboard ≤ 3× their floor; bulletin, export
and archive ≤ 3× reading their data, memory flat in the county's size (compare two runs). With
--check the script exits 1 when a goal is missed.
"""

from __future__ import annotations

import json
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

from rectify_core.ledger import db, glance, scorefacts

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
# imports everything the commands use, then times the command alone
DRIVER = """
import json, sys, time
from rectify_flows.cli import cli
cli.load_all()
import docx, openpyxl, jinja2  # what the documents use: imported before the clock starts
import gc
gc.freeze()  # as the installed `rectify` does once its command is loaded (cli.running.settle)
started = time.perf_counter()
try:
    cli.main(sys.argv[1:], prog_name="rectify", standalone_mode=False)
finally:
    print(json.dumps({"seconds": time.perf_counter() - started}), file=sys.stderr)
"""
GOALS = {"units": 3.0, "dashboard": 3.0, "bulletin": 3.0, "export": 3.0, "archive": 3.0, "admin": 0.2, "resort": 2.0,
         "imports": 1.5, "startup": 0.5}


def run(argv: list[str], *, driver: bool = True) -> tuple[float, float]:
    """(seconds, peak MB) of one command in a process of its own: the command's own time
    with the driver, else the process's whole wall time. The peak is GNU time's (%M) for
    that process alone: a child forked from this one would count this one's pages too."""
    program = [PYTHON, "-c", DRIVER, *argv] if driver else [str(ROOT / ".venv" / "bin" / "rectify"), *argv]
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "peak-kb %M", *program], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, cwd=ROOT, text=True, check=False)
    wall = time.perf_counter() - started
    lines = done.stderr.strip().splitlines()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    peak = int(lines[-1].split()[-1]) / 1024
    seconds = json.loads(lines[-2])["seconds"] if driver else wall
    return seconds, peak


def floors(url: str) -> dict[str, float]:
    engine = db.make_engine(url)
    glance_sql = str(glance.query().compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    whole = "SELECT * FROM items JOIN rounds ON rounds.id = items.round_id JOIN units ON units.id = rounds.unit_id"
    facts = [str(q.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
             for q in scorefacts.queries(DAY, engine.dialect.name).values()]
    out = {"glance": _fastest(lambda: bare_fetchall(engine, glance_sql)),
           "items": _fastest(lambda: bare_fetchall(engine, whole)),
           "scores": _fastest(lambda: [bare_fetchall(engine, sql) for sql in facts])}
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
    args = county_arguments(__doc__, check=True, extra=[("--resort", 20_000, "rows of the re-sorted sheet (0: skip)"),
                                                        ("--imports", 5, "county files imported in turn (0: skip)")])
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), args.db) as url:
        count = populate(url, args.units, args.items)
        out = Path(tmp)
        base = ["--db", url]
        floor = floors(url)
        print(f"{db.make_engine(url).dialect.name}, {args.units:,} units × {args.items} items = {count:,} items")
        print(f"floors: glance SELECT {floor['glance'] * 1000:,.0f} ms, every item's row "
              f"{floor['items'] * 1000:,.0f} ms, the scores' facts {floor['scores'] * 1000:,.0f} ms (fetchall, no ORM)")
        day = ["--date", DAY.isoformat()]
        commands = {
            "units": ([*base, "units"], floor["glance"]),
            "dashboard": ([*base, "dashboard", *day, "-o", str(out / "d.html")], floor["glance"] + floor["scores"]),
            "bulletin": ([*base, "bulletin", *day, "-o", str(out / "b.docx")], floor["items"] + floor["scores"]),
            "export": ([*base, "export", *day, "-o", str(out / "e.xlsx")], floor["items"] + floor["scores"]),
            "archive": ([*base, "archive", *day, "-o", str(out / "a.zip")], floor["items"] + floor["scores"]),
            "scores": ([*base, "scores", "--date", DAY.isoformat()], floor["scores"]),
        }
        missed, own = [], {}
        print(f"{'command':<10} {'time':>9} {'floor':>9} {'ratio':>6} {'peak':>8}")
        for name, (argv, its_floor) in commands.items():
            seconds, peak = run(argv)
            own[name] = seconds
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
        missed += _verdict("startup", seconds - own["units"], f"start-up of a database command (`rectify units` "
                           f"whole, less its own {own['units'] * 1000:,.0f} ms): {(seconds - own['units']):.2f} s")
        missed += admin_page(url, out)
        if args.resort:
            missed += resort(out, args.db, args.resort)
        if args.imports:
            missed += county_imports(out, args.db, args.units, args.items, args.imports)
        if args.check and missed:
            raise SystemExit(f"goals missed: {', '.join(missed)}")


def _verdict(name: str, value: float, text: str) -> list[str]:
    goal = GOALS[name]
    bound = {"admin": f"{goal * 1000:g} ms", "startup": f"{goal:g} s"}.get(name, f"{goal:g}×")
    print(f"{text}  ({'goal' if value <= goal else 'MISSED'} ≤ {bound})")
    return [] if value <= goal else [name]


def admin_page(url: str, files: Path) -> list[str]:
    """Page 1 of /admin for the county office, the glance kept (median of 5)."""
    from admin_bench import signed_in

    from rectify_core.config.calendar import local_datetime
    from rectify_core.config.settings import load_settings
    from rectify_core.ledger.office import Office

    office = Office(url, None, settings=load_settings(None), files=files / "files",
                    clock=lambda: local_datetime(DAY, 10))
    client = signed_in(office)
    assert client.get("/admin").status_code == 200  # the glance made
    took = []
    for _ in range(5):
        started = time.perf_counter()
        assert client.get("/admin").status_code == 200
        took.append(time.perf_counter() - started)
    took.sort()
    office.engine.dispose()
    return _verdict("admin", took[2], f"/admin, the county office, page 1: {took[2] * 1000:,.0f} ms")


def _import(url: str, path: Path, *extra: str) -> float:
    return run(["--db", url, "import", *extra, str(path)])[0]


def resort(work: Path, server: str | None, rows: int) -> list[str]:
    """A sheet of `rows`, the same again, then re-sorted: the last against the second."""
    from import_bench import write_ledger, write_resorted

    with scratch_database(work, server) as url:
        first, again = work / "台账.csv", work / "台账-重排.csv"
        write_ledger(first, rows)
        write_resorted(first, again)
        _import(url, first)
        same = _import(url, first)
        took = _import(url, again)
    return _verdict("resort", took / same, f"a {rows:,}-row sheet re-sorted, renumbered, 2% reworded: "
                    f"{took:,.2f} s; unchanged re-import {same:,.2f} s: {took / same:.1f}×")


def county_imports(work: Path, server: str | None, units: int, per_unit: int, files: int) -> list[str]:
    """`files` county files of units × per_unit rows, each with new units, into one database."""
    from import_bench import write_county

    took = []
    with scratch_database(work, server) as url:
        for n in range(files):
            path = work / f"全县台账-{n + 1}.csv"
            write_county(path, units, per_unit, first_unit=n * units)
            took.append(_import(url, path))
            path.unlink()
            print(f"county file {n + 1} ({units:,} new units × {per_unit} rows, {units * n:,} units held before): "
                  f"{took[-1]:,.2f} s")
    return _verdict("imports", took[-1] / took[0], f"the last county file against the first: {took[-1] / took[0]:.2f}×")


if __name__ == "__main__":
    main()
