"""One unit's documents as its round grows: `report` (Word) and `export --round` (Excel)
for a round of N items, each N in turn, with the time per item and the process's peak
memory — a document is linear in its size when the time per item stays level.

    .venv/bin/python bench/document_bench.py [--sizes 2500,5000,10000,20000] [--db URL]

Each command runs in a process of its own as a clerk runs it (county_bench's driver: its
own time, start-up aside; GNU time's peak). The floor is the database's own fetchall of
the round's whole rows. Uses a temporary SQLite file per size, or with --db (a PostgreSQL
server's URL) a new database on that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdata import populate, scratch_database
from county_bench import _fastest, run
from daily_bench import bare_fetchall

from rectify_core.ledger import db

DAY = dt.date(2026, 12, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2500,5000,10000,20000", help="items of the round, comma-separated")
    parser.add_argument("--db", help="a PostgreSQL server's URL (default: a SQLite file)")
    args = parser.parse_args()
    print(f"{'items':>7} {'floor':>8} {'report':>9} {'µs/item':>8} {'peak':>7} "
          f"{'export':>9} {'µs/item':>8} {'peak':>7}")
    for size in (int(n) for n in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), args.db) as url:
            populate(url, size, DAY)
            engine = db.make_engine(url)
            floor = _fastest(lambda: bare_fetchall(engine, "SELECT * FROM items"))  # noqa: B023
            engine.dispose()
            out = Path(tmp)
            day = ["--date", DAY.isoformat()]
            report, report_peak = run(["--db", url, "report", *day, "-o", str(out / "r.docx")])
            export, export_peak = run(["--db", url, "export", "--round", "1", *day, "-o", str(out / "e.xlsx")])
            print(f"{size:>7,} {floor * 1000:>6,.0f}ms {report * 1000:>7,.0f}ms {report / size * 1e6:>8,.0f} "
                  f"{report_peak:>5,.0f}MB {export * 1000:>7,.0f}ms {export / size * 1e6:>8,.0f} "
                  f"{export_peak:>5,.0f}MB")


if __name__ == "__main__":
    main()
