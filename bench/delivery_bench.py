"""Benchmark: deliver N notices to a local HTTP receiver and to a local SMTP server.

    .venv/bin/python bench/delivery_bench.py [--notices 50000] [--per-person 5] [--workers 1 4]
                                             [--processes 1] [--to webhook smtp] [--db URL]

Each person owes --per-person items, so N notices make N / per-person digests. Prints
notices and messages per second for each target, with `workers` threads in each of
`processes` processes (rules [delivery]), and checks that every notice was sent once. Everything runs on 127.0.0.1; the
receivers (an HTTP server, the SMTP sink) run in a process of their own. Each run uses
a new SQLite file, or with --db (a PostgreSQL server's URL) a new database on that
server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import multiprocessing
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchdata import new_round, scratch_database
from sqlalchemy import func, insert, select

from rectify_core.config.calendar import local_datetime
from rectify_core.config.settings import load_settings
from rectify_core.delivery.mailsink import MailSink
from rectify_core.ledger import db
from rectify_core.ledger.models import Item, Notice
from rectify_core.runs import daily
from rectify_core.vocab import NoticeState

NOW = local_datetime(dt.date(2026, 11, 25), 9, 0)


class _Quiet(BaseHTTPRequestHandler):
    """A webhook receiver that keeps connections alive, as real ones (nginx, the IM
    platforms' APIs) do: HTTP/1.1, every answer with its length."""

    protocol_version = "HTTP/1.1"
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _setup(workdir: Path, url: str, n: int, per_person: int, url_of: Any) -> tuple[Any, Path]:
    engine = db.make_engine(url)
    db.migrate(engine)
    people = [f"人员{i:05d}" for i in range(n // per_person)]
    with db.transaction(engine) as s:
        rnd = new_round(NOW, session=s)
        # due 2026-12-15: 14 working days left on NOW, step 督办通知 (owner only): one notice per item
        s.execute(insert(Item), [{"round_id": rnd.id, "no": i + 1, "title": f"问题{i + 1}", "status": "open",
                                  "status_text": "整改中", "immediate": False, "deadline_kind": "dated",
                                  "deadline": dt.date(2026, 12, 15), "owner": people[i % len(people)],
                                  "leader": None, "evidence": [], "figures": [], "updated_at": NOW}
                                 for i in range(n)])
    db.refresh_statistics(engine, "items", "item_holders")  # as an import does
    config = workdir / "cfg"
    config.mkdir()
    text = "".join(f'[[person]]\nname = "{p}"\nnotify = ["{url_of(p)}"]\n' for p in people)
    (config / "contacts.toml").write_text(text, encoding="utf-8")
    return engine, config


def _run(label: str, n: int, per_person: int, workers: int, processes: int, url_of: Any, server: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), server) as url:
        engine, config = _setup(Path(tmp), url, n, per_person, url_of)
        (config / "rules.toml").write_text(f"[delivery]\nworkers = {workers}\nprocesses = {processes}\n",
                                           encoding="utf-8")
        settings = load_settings(config)
        day = daily.plan_stage(engine, settings, NOW.date())
        enqueued = daily.enqueue_stage(engine, settings, day, NOW)
        t = time.perf_counter()
        report = daily.deliver_stage(engine, settings, day.directory, NOW)
        took = time.perf_counter() - t
        messages = sum(p.messages for p in report.sent)
        assert enqueued.inserted == n and not report.failed, report.failed[:3]
        with engine.connect() as conn:  # every notice sent, by one message of one digest
            sent = conn.execute(select(func.count()).where(Notice.state == NoticeState.SENT)).scalar_one()
        assert sent == n and messages == n // per_person, (sent, messages)
        print(f"{label:<14} {engine.dialect.name:<10} processes={processes} workers={workers}  {n:>6,} notices  "
              f"{messages:>5,} digests  "
              f"{took:7.2f} s  {n / took:8,.0f} notices/s  {messages / took:6,.0f} digests/s")
        engine.dispose()


def _receivers(ports: Any, stop: Any) -> None:
    """The HTTP receiver and the SMTP sink, in a process of their own (as real ones are:
    they do not share the deliverer's interpreter lock)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as mail_dir, MailSink(Path(mail_dir)) as sink:
        ports.put((server.server_address[1], sink.port))
        stop.wait()
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, nargs="+", default=[50_000],
                        help="notices per run (default 50,000: 10,000 people at 5 each)")
    parser.add_argument("--per-person", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--to", nargs="+", choices=["webhook", "smtp"], default=["webhook", "smtp"])
    parser.add_argument("--db", help="a PostgreSQL server's SQLAlchemy URL (default: SQLite files)")
    args = parser.parse_args()
    ports: Any = multiprocessing.Queue()
    stop = multiprocessing.Event()
    receivers = multiprocessing.Process(target=_receivers, args=(ports, stop), daemon=True)
    receivers.start()
    http_port, smtp_port = ports.get(timeout=30)
    try:
        for n, procs, w in itertools.product(args.notices, args.processes, args.workers):
            if "webhook" in args.to:
                _run("HTTP webhook", n, args.per_person, w, procs, lambda p: f"json://127.0.0.1:{http_port}/hook",
                     args.db)
            if "smtp" in args.to:
                _run("SMTP (local)", n, args.per_person, w, procs,
                     lambda p: f"mailto://127.0.0.1:{smtp_port}?from=rectify@localhost"
                               f"&to=u{abs(hash(p)) % 10**8}@example.gov.cn", args.db)
    finally:
        stop.set()
        receivers.join(10)


if __name__ == "__main__":
    main()
