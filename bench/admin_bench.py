"""The office's /admin at county scale: service time of the ledger page for UNITS units of
ITEMS items each, signed in as the county office, against its floor.

    .venv/bin/python bench/admin_bench.py [--units 500] [--items 200] [--db URL]

The county is score_bench's (every unit a round; a third of the items closed). Requests go
through the whole application in-process (FastAPI's test client: routing, the session
cookie, the template), so the times are service times, without a network. The floor is the
database's own fetchall of the glance's SELECT (every counted item's dates and state),
which the first page after a change needs; pages after it (another filter, the next page)
read the kept glance and the page's rows only.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdata import scratch_database
from daily_bench import bare_fetchall
from score_bench import DAY, county_arguments, populate

from rectify_core.config.calendar import local_datetime
from rectify_core.config.settings import load_settings
from rectify_core.ledger import glance
from rectify_core.ledger.office import Office


def signed_in(office: Office) -> Any:
    """A test client of the whole application, signed in as the county office."""
    from fastapi.testclient import TestClient

    from rectify_core.web.app import create_app

    os.environ.pop("RECTIFY_ADMIN_TOKEN", None)
    client = TestClient(create_app(office, secret=b"bench-secret-0123456789abcdef", admin_token="bench-token"))
    token = client.get("/admin").text.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/admin/login", data={"csrf": token, "login": "x", "password": "bench-token"},
                       follow_redirects=False).status_code == 303
    return client


def main() -> None:
    args = county_arguments(__doc__)
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), args.db) as url:
        count = populate(url, args.units, args.items)
        office = Office(url, None, settings=load_settings(None), files=Path(tmp) / "files",
                        clock=lambda: local_datetime(DAY, 10))
        engine = office.engine
        print(f"{engine.dialect.name}, {args.units:,} units × {args.items} items = {count:,} items")
        sql = str(glance.query().compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        floors = []
        for _ in range(3):
            started = time.perf_counter()
            bare_fetchall(engine, sql)
            floors.append(time.perf_counter() - started)
        floor = statistics.median(floors)
        print(f"{'floor: bare fetchall of the glance SELECT':<52} {floor * 1000:8.1f} ms")
        client = signed_in(office)
        def timed(label: str, path: str, runs: int = 5) -> None:
            took = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = client.get(path)
                took.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text[:300]
            mid = statistics.median(took)
            print(f"{label:<52} {mid * 1000:8.1f} ms {mid / floor:6.1f}×  (median of {runs}: "
                  f"{min(took) * 1000:.0f}–{max(took) * 1000:.0f} ms)")

        glance._CACHE.clear()
        started = time.perf_counter()
        assert client.get("/admin").status_code == 200
        cold = time.perf_counter() - started
        print(f"{'/admin, first after a change (the glance made)':<52} {cold * 1000:8.1f} ms {cold / floor:6.1f}×")
        timed("/admin, the county office, page 1", "/admin")
        timed("/admin?light=red", "/admin?light=red")
        timed("/admin?person=责任人7 (the holders index)", "/admin?person=%E8%B4%A3%E4%BB%BB%E4%BA%BA7")
        timed("/admin?unit=单位0250 (one unit)", "/admin?unit=%E5%8D%95%E4%BD%8D0250")
        timed("/admin, page 500", "/admin?page_no=500")
        engine.dispose()


if __name__ == "__main__":
    main()
