"""Delivery by several processes on one machine (rules `[delivery] processes`), with real
parts: helper interpreters, a real HTTP receiver on loopback, SQLite and PostgreSQL.
Every person gets one digest whichever process sends it; a helper that cannot start or
that is killed mid-send leaves its people to this process, repeating at most the
messages that were on the wire."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from rectify_core.config.settings import load_settings
from rectify_core.delivery import spread
from rectify_core.delivery.outbox import shard_of
from rectify_core.importers import read_workbook
from rectify_core.ledger import db
from rectify_core.ledger.store import save_ledger
from rectify_core.runs import daily
from tests.deliveries import NOW, _one_item_each, notices, run_day, setup_db
from tests.fixtures.channels import Receiver, write_contacts

PEOPLE = 120


def _setup(url: str, tmp_path: Path, receiver: Receiver, processes: int, workers: int = 2) -> tuple[Engine, Path]:
    owners, ledger = _one_item_each(PEOPLE)
    engine = setup_db(url, tmp_path, ledger)
    config = write_contacts(tmp_path / "cfg", {o: [f"json://127.0.0.1:{receiver.port}/hook/{i:03d}"]
                                               for i, o in enumerate(owners)})
    (config / "rules.toml").write_text(f"[delivery]\nprocesses = {processes}\nworkers = {workers}\n",
                                       encoding="utf-8")
    return engine, config


def _senders(engine: Engine) -> set[str]:
    """The processes (host:pid) whose claims the sent notices carry."""
    return {n.claimed_by.rsplit(":", 1)[0] for n in notices(engine) if n.claimed_by}


def _helpers() -> list[int]:
    """This process's helper processes now running."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == os.getpid() and b"rectify_core.fanout" in command:
            found.append(int(entry.name))
    return found


def test_several_processes_send_each_digest_once(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    engine, config = _setup(db_url, tmp_path, receiver, processes=3)
    receiver.delay = 0.03  # slow enough that the helpers start before this process is done
    enqueued, report = run_day(engine, config)
    assert enqueued.inserted == PEOPLE
    assert Counter(r["path"] for r in receiver.requests) == Counter({f"/hook/{i:03d}": 1 for i in range(PEOPLE)})
    assert len(report.sent) == PEOPLE and not report.failed and report.recovered == 0
    assert {(n.state, n.attempts) for n in notices(engine)} == {("sent", 1)}
    assert len(_senders(engine)) >= 2, "no helper sent anything"
    # the same day again: nothing is sent twice
    again, report2 = run_day(engine, config)
    assert again.inserted == 0 and report2.people == [] and len(receiver.requests) == PEOPLE


def test_a_helper_that_cannot_start_leaves_its_people_here(sqlite_url: str, tmp_path: Path, receiver: Receiver,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    engine, config = _setup(sqlite_url, tmp_path, receiver, processes=2)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    _, report = run_day(engine, config)
    assert Counter(r["path"] for r in receiver.requests) == Counter({f"/hook/{i:03d}": 1 for i in range(PEOPLE)})
    assert len(report.sent) == PEOPLE and {(n.state, n.attempts) for n in notices(engine)} == {("sent", 1)}
    assert len(_senders(engine)) == 1


def test_a_helper_killed_mid_send_leaves_its_people_here(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    """The helpers are killed while a message is held on the wire: this process takes their
    claims back and sends the rest; only messages on the wire can come twice."""
    workers = 2
    engine, config = _setup(db_url, tmp_path, receiver, processes=2, workers=workers)
    receiver.delay = 0.03
    receiver.hold_at = PEOPLE // 2
    killed: list[int] = []

    def kill_helpers() -> None:
        if receiver.held.wait(120):
            for pid in _helpers():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        receiver.release.set()

    killer = threading.Thread(target=kill_helpers)
    killer.start()
    _, report = run_day(engine, config)
    killer.join()
    assert killed, "no helper was running to be killed"
    got = Counter(r["path"] for r in receiver.requests)
    assert set(got) == {f"/hook/{i:03d}" for i in range(PEOPLE)}  # nobody left out
    repeated = sum(got.values()) - PEOPLE
    assert repeated <= workers * len(killed)  # only what a killed helper had on the wire
    assert {n.state for n in notices(engine)} == {"sent"}
    assert not report.failed and report.at_risk >= repeated


def test_shards_are_the_same_in_every_process_and_cover_everyone() -> None:
    people = [(unit, f"人员{i}") for unit in ("区财政局党组", "区教育局党组") for i in range(400)]
    shards = [shard_of(p, 8) for p in people]
    there = subprocess.run([sys.executable, "-c", "import json, sys\n"
                            "from rectify_core.delivery.outbox import shard_of\n"
                            "print(json.dumps([shard_of(tuple(p), 8) for p in json.load(sys.stdin)]))"],
                           input=json.dumps(people), capture_output=True, text=True, check=True)
    assert json.loads(there.stdout) == shards  # another interpreter (another hash seed) agrees
    counts = Counter(shards)
    assert set(counts) == set(range(8)) and max(counts.values()) < 2 * len(people) / 8


def test_an_admin_alert_raised_in_another_shard_goes_out_in_the_same_run(
        db_url: str, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """One person's channel refuses for good, and they are in another shard than the
    admin, one delivered after the admin's: the alert their shard raises still goes out
    before the run ends. (No helper starts, so the shards go in order, here.)"""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    owners, ledger = _one_item_each(PEOPLE)
    engine = setup_db(db_url, tmp_path, ledger)
    config = write_contacts(tmp_path / "cfg", {o: [f"json://127.0.0.1:{receiver.port}/hook/{i:03d}"]
                                               for i, o in enumerate(owners)},
                            admin=[f"json://127.0.0.1:{receiver.port}/admin"])
    (config / "rules.toml").write_text("[delivery]\nprocesses = 2\n", encoding="utf-8")
    settings = load_settings(config)
    day = daily.plan_stage(engine, settings, NOW.date())
    daily.enqueue_stage(engine, settings, day, NOW)
    shards = 2 * spread.SHARDS_PER_PROCESS
    assert settings.config_contacts.admin is not None
    admin_shard = shard_of((settings.config_contacts.admin.unit, settings.config_contacts.admin.name), shards)
    unit = notices(engine)[0].recipient_unit
    assert admin_shard < shards - 1  # the admin's is delivered before the last shard's
    failing = next(i for i, o in enumerate(owners) if shard_of((unit, o), shards) == shards - 1)
    receiver.status[f"/hook/{failing:03d}"] = 400
    report = daily.deliver_stage(engine, settings, day.directory, NOW)
    rows = notices(engine)
    assert [n.recipient for n in rows if n.state == "dead"] == [owners[failing]]
    admin = [n for n in rows if n.kind == "admin"]
    assert len(admin) == 1 and admin[0].state == "sent" and len(receiver.at("/admin")) == 1
    assert report.admin_alerts == 1


def test_namesakes_of_two_units_are_two_people_whichever_process_sends(db_url: str, tmp_path: Path,
                                                                       receiver: Receiver) -> None:
    """Two units each have a 王芳 in their 办公室: with several processes each gets her own
    unit's digest, once, and never the other unit's items."""
    units = ("区财政局党组", "区教育局党组")
    ledger = "序号,被巡察单位,问题,责任部门,责任人,整改时限,完成情况\n" + "".join(
        f"{n},{unit},{unit[1:3]}问题{n},办公室,王芳,2026年12月15日,未完成\n"
        for unit in units for n in (1, 2))
    path = tmp_path / "台账.csv"
    path.write_text(ledger, encoding="utf-8")
    engine = db.make_engine(db_url)
    with db.transaction(engine) as s:  # one table, two units' ledgers
        for each in read_workbook(path).ledgers:
            save_ledger(each, NOW, session=s)
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "contacts.toml").write_text("".join(
        f'[[person]]\nname = "王芳"\nunit = "{unit}"\nnotify = ["json://127.0.0.1:{receiver.port}/hook/{i}"]\n'
        for i, unit in enumerate(units)), encoding="utf-8")
    (config / "rules.toml").write_text("[delivery]\nprocesses = 3\n", encoding="utf-8")
    enqueued, report = run_day(engine, config)
    assert enqueued.inserted == 4 and not report.failed
    assert sorted((p.unit, p.name) for p in report.sent) == sorted((u, "王芳") for u in units)
    got = {r["path"]: json.dumps(r["body"], ensure_ascii=False) for r in receiver.requests}
    assert len(receiver.requests) == 2 and set(got) == {"/hook/0", "/hook/1"}
    assert "财政问题1" in got["/hook/0"] and "财政问题2" in got["/hook/0"] and "教育" not in got["/hook/0"]
    assert "教育问题1" in got["/hook/1"] and "教育问题2" in got["/hook/1"] and "财政" not in got["/hook/1"]
