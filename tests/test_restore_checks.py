"""A restore checks everything, then writes once, and never loses the live data: a
malformed manifest, an unlisted member, a database that is damaged, carries a trigger or
a view, or names an unknown schema revision is refused in words with the target as it
was; a pg_restore that fails puts the live schema back and names the safety backup; the
notices the backup held waiting are held after it until released."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import sqlite3
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from rectify_core.config.calendar import run_now
from rectify_core.config.settings import load_settings
from rectify_core.ledger import backup, db
from rectify_core.ledger.models import Notice
from rectify_core.runs import daily
from tests.fixtures.databases import pg_database
from tests.fixtures.web import World, rectify_web
from tests.test_backup import Office, _ledger_with_evidence, snapshot


def _rewrite(src: Path, dst: Path, manifest: dict[str, Any] | None = None,
             members: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """`src` with its manifest (and members) replaced; members given are re-listed with
    their true size and SHA-256 and the checksum made again, so only the deeper checks
    can refuse them."""
    with zipfile.ZipFile(src) as zf:
        data = {n: zf.read(n) for n in zf.namelist()}
        shown = json.loads(data[backup.MANIFEST])
    if members:
        data.update(members)
        for m in shown["members"]:
            if m["name"] in members:
                m["size"], m["sha256"] = len(members[m["name"]]), hashlib.sha256(members[m["name"]]).hexdigest()
        shown["checksum"] = backup.checksum(shown["members"])
    data[backup.MANIFEST] = json.dumps(manifest if manifest is not None else shown, ensure_ascii=False).encode()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, body in {**data, **(extra or {})}.items():
            zf.writestr(name, body)
    return dst


def _mutations(manifest: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """Manifests wrong in every key's type, and members wrong in every field's, the
    checksum made again so that the member checks are reached."""
    odd: list[Any] = [None, 0, -1, 1.5, "x", "", [], {}, True, "9" * 400, {"a": [1]}]
    out = []
    for key in list(manifest):
        gone = copy.deepcopy(manifest)
        del gone[key]
        out.append(gone)
        for value in odd:
            changed = copy.deepcopy(manifest)
            changed[key] = value
            out.append(changed)
    for field in ("name", "size", "sha256"):
        for value in [*odd, "files/../../etc/passwd", "database.pgdump", 10**12]:
            changed = copy.deepcopy(manifest)
            changed["members"][0][field] = value
            changed["checksum"] = backup.checksum(changed["members"])
            out.append(changed)
    twice = copy.deepcopy(manifest)
    twice["members"].append(twice["members"][0])
    twice["checksum"] = backup.checksum(twice["members"])
    out.append(twice)
    rng = random.Random(seed)
    for _ in range(40):  # and some at random: one value anywhere in the manifest replaced
        changed = copy.deepcopy(manifest)
        target = changed if rng.random() < 0.5 else rng.choice(changed["members"])
        target[rng.choice(list(target))] = rng.choice(odd)
        if target is not changed:
            changed["checksum"] = backup.checksum(changed["members"])
        out.append(changed)
    return out


def _harmless(wrong: dict[str, Any], manifest: dict[str, Any]) -> bool:
    """The same manifest but for what a good backup may say: no revision (an old one), any
    version text of rectify."""
    free = {k: manifest[k] for k in ("revision", "rectify")}
    return ({**wrong, **free} == manifest and (wrong.get("revision") in (None, manifest["revision"]))
            and isinstance(wrong.get("rectify"), str))


def test_every_malformed_backup_is_a_sentence_and_changes_nothing(cli: Any, sqlite_url: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, sqlite_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    out = tmp_path / "备份.zip"
    assert office("backup", "-o", str(out)).code == 0
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read(backup.MANIFEST))
    target = Office(cli, f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target", monkeypatch)
    engine = db.make_engine(target.url)
    db.migrate(engine)                                                   # an empty database to restore into
    engine.dispose()
    before = snapshot(target.url)
    bad = tmp_path / "bad.zip"
    refused_words = set()
    for n, wrong in enumerate(_mutations(manifest, 7)):
        if _harmless(wrong, manifest):
            continue
        _rewrite(out, bad, wrong)
        done = target("restore", str(bad))
        changed = {k: v for k, v in wrong.items() if v != manifest.get(k)}
        assert done.code != 0 and "Traceback" not in done.err and done.err.strip(), (n, changed, done.err)
        refused_words.add(done.err.split("bad.zip", 1)[-1][:12])
    assert len(refused_words) >= 3                            # several distinct sentences, not one
    unlisted = _rewrite(out, tmp_path / "unlisted.zip", extra={"files/" + "0" * 64: b"x" * 1000})
    refused = target("restore", str(unlisted))
    assert refused.code != 0 and "清单未列出" in refused.err
    assert snapshot(target.url) == before
    assert not list((tmp_path / "target").glob("**/*0000000000*"))     # nothing unpacked


def _database_member(out: Path) -> bytes:
    with zipfile.ZipFile(out) as zf:
        return zf.read(backup.MEMBER["sqlite"])


def _altered(body: bytes, tmp_path: Path, *sql: str) -> bytes:
    path = tmp_path / "altered.db"
    path.write_bytes(body)
    conn = sqlite3.connect(str(path))
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path.read_bytes()


def test_a_planted_trigger_a_view_a_damaged_page_or_an_unknown_revision_is_refused_before_writing(
        cli: Any, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, sqlite_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    out = tmp_path / "备份.zip"
    assert office("backup", "-o", str(out)).code == 0
    body, name = _database_member(out), backup.MEMBER["sqlite"]
    damaged = bytearray(body)
    damaged[len(body) // 2:len(body) // 2 + 4096] = b"\xff" * 4096
    cases = {
        "触发器": _altered(body, tmp_path, "CREATE TRIGGER all_done AFTER UPDATE ON items BEGIN "
                                           "UPDATE items SET status = 'done'; END"),
        "视图": _altered(body, tmp_path, "CREATE VIEW v AS SELECT 1"),
        "不认识的表": _altered(body, tmp_path, "CREATE TABLE planted (x)"),
        "结构版本": _altered(body, tmp_path, "UPDATE alembic_version SET version_num = '9999'"),
        "与本版本不一致": _altered(body, tmp_path, "ALTER TABLE items ADD COLUMN planted TEXT"),
        "已损坏": bytes(damaged),
    }
    target = Office(cli, f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target", monkeypatch)
    assert target("import", str(DEMO)).code == 0
    before = snapshot(target.url)
    for words, member in cases.items():
        bad = _rewrite(out, tmp_path / f"{words}.zip", members={name: member})
        refused = target("restore", str(bad), "--force")
        assert refused.code != 0 and words in refused.err and "Traceback" not in refused.err, (words, refused.err)
        assert snapshot(target.url) == before, words
    assert not list((tmp_path / "target").glob("??/*"))                  # no evidence file put back either


DEMO = Path(__file__).resolve().parent.parent / "rectify_core" / "data" / "demo-ledger.csv"


def test_waiting_notices_are_held_after_a_restore_until_released(cli: Any, world: World, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(world.config)
    daily.plan_and_enqueue(world.engine, settings, world.day, run_now(world.day), None)  # planned, not yet sent
    with world.engine.connect() as conn:
        waiting = conn.execute(select(func.count()).select_from(Notice).where(Notice.state == "pending")).scalar()
    assert waiting and waiting > 0
    base = ["--db", world.url, "--config", str(world.config)]
    out = tmp_path / "备份.zip"
    assert cli([*base, "backup", "-o", str(out)]).code == 0
    if world.url.startswith("sqlite"):
        _held_then_released(cli, world, f"sqlite:///{tmp_path / 'fresh.db'}", out, int(waiting))
        return
    made = pg_database()
    try:
        _held_then_released(cli, world, next(made), out, int(waiting))
    finally:
        next(made, None)


def _held_then_released(cli: Any, world: World, fresh: str, out: Path, waiting: int) -> None:
    again = ["--db", fresh, "--config", str(world.config)]
    restored = cli([*again, "restore", str(out)])
    assert restored.code == 0 and f"备份时有 {waiting} 条通知等待或正在发送" in restored.out, restored.err
    assert "3 个问题" in restored.out
    sent_before = len(world.sink.messages)
    assert cli([*again, "notify", "--date", world.day.isoformat()]).code == 0
    assert len(world.sink.messages) == sent_before                      # held: nothing resent on its own
    listed = json.loads(cli([*again, "outbox", "--state", "held", "--json"]).out)
    assert len(listed) == waiting
    assert cli([*again, "outbox", "release"]).code != 0                  # ids or --all, never a guess
    released = cli([*again, "outbox", "release", "--all"])
    assert released.code == 0 and f"已放行 {waiting} 条" in released.out
    engine = db.make_engine(fresh)
    try:
        with engine.connect() as conn:                                   # each with its event, as a resend has
            told = conn.execute(text("SELECT count(*) FROM events WHERE kind = 'notice_requeued'")).scalar()
    finally:
        engine.dispose()
    assert told == waiting
    assert cli([*again, "notify", "--date", world.day.isoformat()]).code == 0
    assert len(world.sink.messages) > sent_before


@pytest.mark.postgres
def test_a_failed_pg_restore_leaves_the_live_database_and_names_the_safety_backup(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(The SQLite switch is one page copy under an exclusive lock: it happens whole or not.)"""
    made = [pg_database() for _ in range(3)]
    source, live, planted = (next(m) for m in made)
    try:
        _failed_restore(cli, source, live, planted, tmp_path, monkeypatch)
    finally:
        for m in made:
            next(m, None)


def _failed_restore(cli: Any, db_url: str, live: str, planted: str, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    out = tmp_path / "备份.zip"
    assert office("backup", "-o", str(out)).code == 0
    target = Office(cli, live, tmp_path / "target", monkeypatch)
    assert target("import", str(DEMO)).code == 0
    assert target("progress", "3", "--text", "目标库自己的进展", "--by", "李强").code == 0
    before = snapshot(target.url)
    broken = _rewrite(out, tmp_path / "坏.zip", members={backup.MEMBER["postgresql"]: b"PGDMP" + b"\0" * 4000})
    failed = target("restore", str(broken), "--force")
    assert failed.code != 0 and "pg_restore 恢复失败" in failed.err and "恢复前的备份" in failed.err, failed.err
    assert snapshot(target.url) == before                                # the live data, as it was
    assert not list((tmp_path / "target").glob("??/*"))                  # and no file of the backup's left
    engine = db.make_engine(planted)
    try:
        db.migrate(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE FUNCTION all_done() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN UPDATE items SET status = 'done'; RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER all_done AFTER UPDATE ON items FOR EACH ROW EXECUTE FUNCTION all_done()"))
    finally:
        engine.dispose()
    dump = tmp_path / "planted.pgdump"
    subprocess.run([backup.pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}"],
                   env=backup.pg_env(planted), check=True)
    trap = _rewrite(out, tmp_path / "陷阱.zip", members={backup.MEMBER["postgresql"]: dump.read_bytes()})
    refused = target("restore", str(trap), "--force")
    assert refused.code != 0 and ("触发器" in refused.err or "函数" in refused.err), refused.err
    assert snapshot(target.url) == before
    assert target("restore", str(out), "--force").code == 0             # a good one still goes through
    assert snapshot(target.url) == snapshot(db_url)


def test_a_restore_is_refused_while_the_pages_run(cli: Any, world: World, tmp_path: Path) -> None:
    base = ["--db", world.url, "--config", str(world.config)]
    out = tmp_path / "备份.zip"
    assert cli([*base, "backup", "-o", str(out)]).code == 0
    before = snapshot(world.url)
    with rectify_web(world) as address:
        assert httpx.get(f"{address}/admin", timeout=10).status_code == 200  # the pages hold the database
        refused = cli([*base, "restore", str(out), "--force"])
        assert refused.code != 0 and "正被其他程序使用" in refused.err, refused.err
    assert snapshot(world.url) == before
    assert cli([*base, "restore", str(out), "--force"]).code == 0        # once they stop, it goes
