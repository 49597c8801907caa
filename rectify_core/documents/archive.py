"""The round's 整改档案, as a records office files it: one zip that opens without rectify.

    <单位>/<轮次>/整改情况报告.docx     the progress report
    <单位>/<轮次>/整改台账.xlsx         the 台账
    <单位>/<轮次>/问题记录/问题N.txt    each problem's whole trail (events, progress,
                                       extensions, closures, look-backs, notices sent)
    <单位>/<轮次>/佐证材料/问题N/…      every evidence file and upload, under its own name
    全区/…                             with every unit's rounds: the county's 情况通报,
                                       全部台账及汇总 and 汇总看板
    清单.txt                           every file above with its size, SHA-256 and what it is
    清单.sha256                        the same checksums as `sha256sum -c 清单.sha256` reads

Trails are UTF-8 text with a byte-order mark, so every editor on an office PC shows them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rectify_core.config.calendar import to_local
from rectify_core.config.settings import Settings
from rectify_core.documents import county, zipped
from rectify_core.documents import report as progress_report
from rectify_core.documents.docx import write_docx
from rectify_core.documents.xlsx import write_xlsx
from rectify_core.errors import NotFoundError, writing
from rectify_core.ledger import db, items, obligations, scores, uploads
from rectify_core.ledger import view as ledger_view
from rectify_core.ledger.models import Closure, Event, Item, Notice, Round, Unit, Upload
from rectify_core.vocab import NoticeState
from rectify_core.whole import replacing

BOM = "\ufeff"
MANIFEST = "清单.txt"
SUMS = "清单.sha256"
COUNTY = "全区"
BUFFER = 2**20  # bytes the archive's file buffers: written front to back (zipped.Forward)


@dataclass
class Made:
    rounds: list[str] = field(default_factory=list)
    items: int = 0
    files: int = 0
    entries: int = 0  # files listed in the manifest
    missing: list[str] = field(default_factory=list)  # evidence recorded by hash whose bytes are gone
    # each file's manifest line and checksum line, on scratch files as the files are added
    # (a county's archive lists hundreds of thousands)
    lines: IO[bytes] = field(default_factory=tempfile.TemporaryFile)
    sums: IO[bytes] = field(default_factory=tempfile.TemporaryFile)

    def note(self, path: str, size: int, sha256: str, what: str) -> None:
        self.entries += 1
        self.lines.write(f"{sha256}  {size}  {path}  {what}\n".encode())
        self.sums.write(f"{sha256}  {path}\n".encode())

    def close(self) -> None:
        self.lines.close()
        self.sums.close()


# names Windows keeps for devices, with or without an extension (nul.txt.pdf is NUL)
_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com[1-9]|lpt[1-9])(?:\..*)?$", re.I)
NAME_BYTES = 200  # a file system takes 255 bytes a name: room left for a "12-" prefix


def safe(name: str) -> str:
    """A file or folder name every system extracts: no character Windows refuses, no name it
    keeps for a device, no space or dot at the end, at most 80 characters and NAME_BYTES
    bytes of UTF-8 (a CJK character takes 3, some 4), its extension kept when it is cut."""
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(" .")
    if _RESERVED.match(text):
        text = "_" + text
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > 8:
        stem, ext = text, ""
    suffix = f".{ext}" if ext else ""
    stem = stem[:80 - len(suffix)]
    while len((stem + suffix).encode()) > NAME_BYTES:
        stem = stem[:-1]
    return (stem.rstrip(" .") + suffix).strip(" .") or "未命名"


def _rounds(session: Session, round_id: int | None, unit: str | None) -> list[Round]:
    query = select(Round).join(Unit).order_by(Unit.name, Round.id)
    if round_id is not None:
        query = query.where(Round.id == round_id)
    if unit is not None:
        query = query.where(Unit.name == unit.strip())
    found = list(session.scalars(query))
    if not found:
        what = f"编号为 {round_id} 的轮次" if round_id is not None else f"单位“{unit}”的轮次" if unit else "任何轮次"
        raise NotFoundError(f"没有{what}", hint="rectify rounds 可列出全部轮次")
    return found


class _Writer:
    def __init__(self, zf: zipfile.ZipFile, made: Made, now: dt.datetime) -> None:
        self.zf, self.made = zf, made
        # every member written is dated the archive's time: one tuple for all (the zip keeps
        # each member's entry until it closes: a county's archive has a million)
        self.when = to_local(now).timetuple()[:6]

    def member(self, name: str) -> zipfile.ZipInfo:
        return zipped.member(name, self.when, 0o600 << 16)

    def add_bytes(self, path: str, data: bytes, what: str) -> None:
        self.zf.writestr(self.member(path), data)
        self.made.note(path, len(data), hashlib.sha256(data).hexdigest(), what)

    def add_file(self, path: str, source: Path, what: str, sha256: str | None = None, *, packed: bool = False) -> None:
        """`packed`: the file is compressed already (an Office file, evidence): stored as it
        is (deflating it again costs time and saves nothing), as a backup stores it."""
        self.zf.write(source, path, compress_type=zipfile.ZIP_STORED if packed else None)
        if sha256 is None:  # a stored file is named by its hash already
            with source.open("rb") as f:
                sha256 = uploads.digest_of(f)
        self.made.note(path, source.stat().st_size, sha256, what)


def _with_views(rounds: list[Round], job: _Job, session: Session) -> Iterator[tuple[Round, ledger_view.RoundView]]:
    """Each round with its view, the views read a few rounds at a time as the county's 台账
    reads them, each let go once used (both in the office's order)."""
    directory = obligations.directory(job.settings, session=session)
    return zip(rounds, ledger_view.views_in_turn(job.today, job.settings.rules, job.settings.calendar, directory,
                                                 [rnd.id for rnd in rounds], session=session,
                                                 at_once=county.ROUNDS_AT_ONCE), strict=True)


def _documents(w: _Writer, folder: str, view: ledger_view.RoundView) -> None:
    with tempfile.TemporaryDirectory(prefix=".rectify-archive-") as scratch:
        report, ledger = Path(scratch) / "report.docx", Path(scratch) / "ledger.xlsx"
        write_docx(progress_report.build(view), report)
        write_xlsx(view, ledger)
        w.add_file(f"{folder}/整改情况报告.docx", report, f"{view.unit} {view.name} 整改情况报告", packed=True)
        w.add_file(f"{folder}/整改台账.xlsx", ledger, f"{view.unit} {view.name} 整改台账", packed=True)


_COUNTY_FILES = {"report.docx": ("巡察整改情况通报.docx", "全区巡察整改情况通报"),
                 "ledger.xlsx": ("全部整改台账及汇总.xlsx", "全区整改台账及汇总"),
                 "dashboard.html": ("汇总看板.html", "全区汇总看板")}


def _county(w: _Writer, rounds: county.Rounds, filed: Iterator[ledger_view.RoundView], job: _Job,
            session: Session) -> None:
    """The county's own files, for an archive of every unit: its 台账 is made from the
    rounds' views as `filed` hands each over (filing the round first: its views are read
    once for both), then its 情况通报 and 汇总看板."""
    graded = scores.compute(job.today, job.settings, session=session)  # once, for the three files
    with tempfile.TemporaryDirectory(prefix=".rectify-archive-") as scratch:
        for what in _COUNTY_FILES:  # (the 台账 first: it files the rounds)
            made = Path(scratch) / what
            county.write(what, rounds, job.settings, job.today, made, session=session, graded=graded,
                         views=filed if what == "ledger.xlsx" else None)
        for what, (name, said) in _COUNTY_FILES.items():
            w.add_file(f"{COUNTY}/{name}", Path(scratch) / what, said, packed=name.endswith((".docx", ".xlsx")))


_EVENT = select(Event.item_id, Event.at, Event.kind, Event.actor, Event.data)
_NOTICE = select(Notice.item_id, Notice.sent_at, Notice.recipient, Notice.recipient_unit, Notice.step_name,
                 Notice.kind, Notice.channel)
_UPLOAD = select(Upload.item_id, Upload.name, Upload.sha256, Upload.uploaded_by, Upload.uploaded_at)
_CLOSURE = select(Closure.item_id, Closure.evidence)
_EventRow, _NoticeRow = db.row_type(_EVENT, "EventRow"), db.row_type(_NOTICE, "NoticeRow")
_UploadRow, _ClosureRow = db.row_type(_UPLOAD, "UploadRow"), db.row_type(_CLOSURE, "ClosureRow")


@dataclass
class _Records:
    """A round's records by item, each kind read in one query (not five queries an item), as
    plain rows of the fields a trail shows (a county's archive reads a million events)."""

    events: dict[int, list[Any]] = field(default_factory=dict)
    notices: dict[int, list[Any]] = field(default_factory=dict)
    uploads: dict[int, list[Any]] = field(default_factory=dict)
    closures: dict[int, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, round_id: int, session: Session) -> _Records:
        found, connection = cls(), session.connection()
        queries: list[tuple[dict[int, list[Any]], Any, Any]] = [
            (found.events, _EventRow, _EVENT.where(Event.round_id == round_id).order_by(Event.at, Event.id)),
            # (by the round's items: notices have no index by round)
            (found.notices, _NoticeRow, _NOTICE.where(
                Notice.item_id.in_(select(Item.id).where(Item.round_id == round_id)),
                db.common(Notice.state == NoticeState.SENT, connection.dialect.name))
             .order_by(Notice.sent_at, Notice.id)),
            (found.uploads, _UploadRow, _UPLOAD.join(Item, Upload.item_id == Item.id).where(Item.round_id == round_id)
             .order_by(Upload.id)),
            (found.closures, _ClosureRow, _CLOSURE.join(Item, Closure.item_id == Item.id)
             .where(Item.round_id == round_id).order_by(Closure.id))]
        for into, row, query in queries:
            for record in map(row._make, connection.execute(query)):
                into.setdefault(record.item_id, []).append(record)
        return found


def _evidence_files(item_id: int, records: _Records) -> list[tuple[str, str | None, str]]:
    """(name, sha256 or None, what it was) for every file the item's record names: its
    uploads, then evidence recorded by hash alone (before files were kept)."""
    found: list[tuple[str, str | None, str]] = [
        (u.name, u.sha256, f"{u.uploaded_by} {to_local(u.uploaded_at):%Y-%m-%d}")
        for u in records.uploads.get(item_id, [])]
    known = {sha for _, sha, _ in found}
    entries: list[dict[str, Any]] = [e for c in records.closures.get(item_id, []) for e in c.evidence or []]
    entries += [e for ev in records.events.get(item_id, [])
                for e in (ev.data or {}).get("evidence", []) if isinstance(e, dict)]
    for e in entries:
        if e.get("kind") == "file" and e.get("sha256") not in known:
            known.add(e.get("sha256"))
            found.append((str(e.get("name") or "佐证材料"), e.get("sha256"), "登记"))
    return found


def _notices_text(item_id: int, records: _Records) -> list[str]:
    return [f"    {to_local(n.sent_at):%Y-%m-%d %H:%M}  {n.recipient}（{n.recipient_unit}）{n.step_name or n.kind}"
            f"  {n.channel or ''}" for n in records.notices.get(item_id, []) if n.sent_at is not None]


def _item(w: _Writer, folder: str, item_id: int, item: items.Described, files_root: Path, records: _Records) -> None:
    label = item.label  # references are unique in a round
    lines = [items.describe(item, records.events.get(item_id, []))]
    notices = _notices_text(item_id, records)
    lines += ["  已发送的提醒：", *(notices or ["    无"])]
    files = _evidence_files(item_id, records)
    if files:
        lines.append("  佐证材料文件：")
    used: set[str] = set()
    for n, (name, sha, origin) in enumerate(files, 1):
        stored = uploads.path_of(files_root, sha) if sha else None
        if stored is None or not stored.is_file():
            w.made.missing.append(f"{label} {name}")
            lines.append(f"    {name}（{origin}；文件已找不到，仅有登记信息 SHA-256 {sha or '无'}）")
            continue
        # Same.pdf and same.pdf are one file on Windows and macOS: told apart by case-folding
        target = safe(name) if safe(name).casefold() not in used else f"{n}-{safe(name)}"
        used.add(target.casefold())
        path = f"{folder}/佐证材料/{label}/{target}"
        w.add_file(path, stored, f"{label} 佐证材料（{origin}）", sha, packed=True)
        w.made.files += 1
        lines.append(f"    {path.split('/', 2)[-1]}（{origin}；SHA-256 {sha}）")
    w.add_bytes(f"{folder}/问题记录/{label}.txt", (BOM + "\n".join(lines) + "\n").encode(), f"{label} 全过程记录")
    w.made.items += 1


def _manifest(w: _Writer, made: Made, now: dt.datetime, scope: str) -> None:
    head = ["整改档案清单", f"生成时间：{to_local(now):%Y-%m-%d %H:%M}", f"范围：{scope}",
            f"文件 {made.entries} 个（不含本清单）；每行依次为 SHA-256、字节数、文件路径、说明。"
            f"校验：解压后在档案目录中运行 sha256sum -c {SUMS}", ""]
    tail = ["", "只有登记信息、文件已找不到的佐证材料：", *made.missing] if made.missing else []
    with w.zf.open(w.member(MANIFEST), "w", force_zip64=True) as out:
        out.write((BOM + "\n".join(head) + "\n").encode())
        _copy(made.lines, out)
        out.write("".join(f"{line}\n" for line in tail).encode())
    with w.zf.open(w.member(SUMS), "w", force_zip64=True) as out:
        _copy(made.sums, out)


def _copy(scratch: IO[bytes], out: IO[bytes]) -> None:
    scratch.flush()
    scratch.seek(0)
    shutil.copyfileobj(scratch, out)


def write(engine: Engine, settings: Settings, files_root: Path, out: Path, today: dt.date, now: dt.datetime, *,
          round_id: int | None = None, unit: str | None = None) -> Made:
    """The archive of one round, one unit's rounds, or every round, written to `out`."""
    made = Made()
    with writing(out, "整改档案"), replacing(out) as partial:
        _write(_Job(engine, settings, files_root, today, now, round_id, unit), partial, made)
    return made


@dataclass(frozen=True)
class _Job:
    engine: Engine
    settings: Settings
    files_root: Path
    today: dt.date
    now: dt.datetime
    round_id: int | None
    unit: str | None


def _filed(w: _Writer, rounds: list[Round], job: _Job, session: Session) -> Iterator[ledger_view.RoundView]:
    """Each round filed (its report, 台账, every item's trail and evidence), then its view
    handed on; each view let go once used."""
    for rnd, view in _with_views(rounds, job, session):
        folder = f"{safe(rnd.unit.name)}/{safe(rnd.name)}（{rnd.id}）"
        _documents(w, folder, view)
        records = _Records.of(rnd.id, session)
        for item_id, item in items.described_in_round(rnd, session=session):
            _item(w, folder, item_id, item, job.files_root, records)
        w.made.rounds.append(f"{rnd.unit.name} / {rnd.name}")
        yield view


def _write(job: _Job, partial: Path, made: Made) -> None:
    with db.session_factory(db.reader(job.engine))() as session, partial.open("wb", buffering=BUFFER) as file, \
            zipfile.ZipFile(zipped.Forward(file), "w", zipfile.ZIP_DEFLATED, allowZip64=True,
                            compresslevel=zipped.LEVEL) as zf:
        w = _Writer(zf, made, job.now)
        try:
            rounds = _rounds(session, job.round_id, job.unit)
            filed = _filed(w, rounds, job, session)
            if job.round_id is None and job.unit is None and len({rnd.unit.name for rnd in rounds}) > 1:
                _county(w, [(rnd.id, rnd.unit.name) for rnd in rounds], filed, job, session)
            for _ in filed:  # (every round filed, whichever took them)
                pass
            _manifest(w, made, job.now, "；".join(made.rounds))
        finally:
            made.close()
