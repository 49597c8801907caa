"""The weekly import from the browser: upload a report or 台账, read the dry run in words,
choose where the file cannot decide alone (which unit, which round, which row is which),
confirm it as one batch, and undo a batch from the list, all as `rectify import` does.

A clerk imports only their unit's files; the office any unit's. The uploaded file waits
in the files store (web.staging) between the dry run and the confirm."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rectify_core import refs
from rectify_core.config.limits import limits
from rectify_core.errors import InputError, RectifyError
from rectify_core.ledger import batches, db, recorded, uploads
from rectify_core.ledger.importing import Imported, ImportOptions, OtherUnit, change_lines, import_file
from rectify_core.ledger.journal import record as audited
from rectify_core.ledger.matching import Candidate, Unsure
from rectify_core.ledger.models import ImportBatch, Unit
from rectify_core.ledger.store import SimilarRound
from rectify_core.web import staging
from rectify_core.web.admin import AdminDep, AdminForm, Signed, admin_page
from rectify_core.web.listing import RoundRef, rounds_seen
from rectify_core.web.pages import RecordId, Refused, chunks_of

router = APIRouter(prefix="/admin")
PAGE = 50  # batches on a page of the list
BACK = "/admin/import"


@dataclass(frozen=True)
class Asked:
    """What the clerk has said of a staged file so far (carried from page to page)."""

    staged: str
    name: str
    unit: str = ""  # the office's choice; "" read from the file
    round: str = ""  # "" found by rectify, a round's id, or "new"
    feedback_date: str = ""
    match: tuple[str, ...] = ()  # "13=12", "原13=14"
    new: tuple[int, ...] = ()

    def options(self) -> ImportOptions:
        feedback = None
        if self.feedback_date:
            try:
                feedback = dt.date.fromisoformat(self.feedback_date)
            except ValueError:
                raise Refused(400, "反馈日期请写成 年-月-日，例如 2024-03-15。", BACK) from None
        chosen = int(self.round) if self.round.isdigit() and len(self.round) < 19 else None
        return ImportOptions(unit=self.unit or None, round_id=chosen, feedback_date=feedback,
                             new_round=self.round == "new", match=self.match, new=self.new)


def _asked(form: FormData) -> Asked:
    def one(name: str, limit: int = 200) -> str:
        value = form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    match = [v for v in form.getlist("match") if isinstance(v, str)][:500]
    new = [int(v) for v in form.getlist("new") if isinstance(v, str) and v.isdigit() and len(v) < 7][:500]
    for key, value in form.multi_items():  # the choice page: pick-<row> = an item's reference, or "new"
        if key.startswith("pick-") and key[5:].isdigit() and isinstance(value, str) and value:
            row = int(key[5:])
            match, new = [m for m in match if not m.endswith(f"={row}")], [n for n in new if n != row]
            if value == "new":
                new.append(row)
            elif value != "skip":
                match.append(f"{value[:20]}={row}")
    return Asked(one("staged", 40), one("name"), one("unit"), one("round", 20), one("feedback_date", 20),
                 tuple(dict.fromkeys(match)), tuple(sorted(set(new))))


def _rounds(signed: Signed) -> tuple[list[str], list[RoundRef]]:
    """The units and rounds (id, unit, name) the account may import into."""
    with signed.portal.factory() as session:
        held = [u for u in session.scalars(select(Unit.name).order_by(Unit.name)) if signed.scope.sees(u)]
        return held, rounds_seen(signed.scope, session=session)


def _page(request: Request, signed: Signed, template: str, status: int = 200, **context: Any) -> Response:
    units, rounds = _rounds(signed)
    return admin_page(request, signed, template, status, units=units, rounds=rounds, **context)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, signed: AdminDep) -> Response:
    return _page(request, signed, "admin_import.html.j2", max_mb=limits().file_mb)


@router.post("/import", response_class=HTMLResponse)
async def upload(request: Request, signed: AdminDep, form: AdminForm) -> Response:
    """An uploaded file, kept aside and tried: the dry run, or what must be chosen first."""
    sent = form.get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        raise Refused(400, "请选择要导入的整改台账或进展报告文件。", BACK)
    try:
        token = await staging.stage(sent.filename, chunks_of(sent), signed.portal.store, signed.scope.login,
                                    limits().file_mb * 2**20)
    except uploads.UploadRefused as exc:
        raise Refused(exc.status, str(exc), BACK) from None
    asked = _asked(form)
    return _tried(request, signed, Asked(token, uploads.display_name(sent.filename), asked.unit, asked.round,
                                         asked.feedback_date))


@router.post("/import/check", response_class=HTMLResponse)
def check(request: Request, signed: AdminDep, form: AdminForm) -> Response:
    """The same file tried again with what the clerk chose."""
    return _tried(request, signed, _asked(form))


def _held_by(signed: Signed, asked: Asked) -> str | None:
    if signed.scope.unit is None:
        return None
    if asked.unit and asked.unit != signed.scope.unit:
        raise Refused(404, f"没有找到单位“{asked.unit}”。", BACK)
    return signed.scope.unit


def _tried(request: Request, signed: Signed, asked: Asked) -> Response:
    """The dry run of a staged file with what was chosen; a file that no choice can mend
    (unreadable, another unit's) is dropped with its refusal."""
    try:
        path = staging.staged_file(signed.portal.store, asked.staged, signed.scope.login)
    except staging.StageError:
        raise Refused(404, "没有找到上传的文件（可能已确认导入或已过期），请重新上传。", BACK) from None
    try:
        imported = import_file(signed.portal.engine, path, asked.options(), dry_run=True, shown_name=asked.name,
                               only_unit=_held_by(signed, asked))
    except Unsure as exc:
        return _page(request, signed, "admin_import_choose.html.j2", asked=asked, message=str(exc),
                     rows=_by_row(exc.candidates))
    except SimilarRound as exc:
        return _page(request, signed, "admin_import_round.html.j2", asked=asked, message=str(exc),
                     similar=exc.round_id)
    except (InputError, OtherUnit, Refused) as exc:
        staging.drop(signed.portal.store, asked.staged)
        if isinstance(exc, Refused):
            raise
        raise Refused(409 if isinstance(exc, OtherUnit) else 400, str(exc), BACK) from None
    except RectifyError as exc:
        return _page(request, signed, "admin_import.html.j2", status=409, asked=asked, failed=str(exc),
                     max_mb=limits().file_mb)
    return _page(request, signed, "admin_import_preview.html.j2", asked=asked, imported=imported,
                 changes=[change_lines(r) for r in imported.results], no_deadline_reason=recorded.NO_DEADLINE,
                 ref_label=refs.label)


def _by_row(candidates: list[Candidate]) -> list[tuple[int, str, list[Candidate]]]:
    rows: dict[int, list[Candidate]] = {}
    for c in candidates:
        rows.setdefault(c.row_no, []).append(c)
    return [(no, found[0].row_title, sorted(found, key=lambda c: -c.score)) for no, found in sorted(rows.items())]


@router.post("/import/confirm")
def confirm(request: Request, signed: AdminDep, form: AdminForm) -> Response:
    """Write the file as the dry run showed it: one batch per round, once."""
    asked = _asked(form)
    portal_ = signed.portal
    try:
        taken = staging.claim(portal_.store, asked.staged, signed.scope.login)
    except staging.StageError:
        raise Refused(409, "这个文件已经确认导入过（或已过期），未再导入。请在导入批次中查看。",
                      "/admin/imports") from None
    try:
        imported = import_file(portal_.engine, taken, asked.options(), shown_name=asked.name,
                               only_unit=_held_by(signed, asked))
    except RectifyError as exc:
        staging.release(taken, asked.staged)
        raise Refused(409, f"未导入：{exc}", BACK) from None
    except BaseException:
        staging.release(taken, asked.staged)
        raise
    staging.done(taken)
    ids = [r.batch_id for r in imported.results if r.batch_id is not None]
    with db.transaction(portal_.engine) as session:
        for r in imported.results:
            audited(signed.scope, r.unit, f"导入 {asked.name}：{_summary(imported, r.round_id)}",
                    portal_.clock(), session=session)
    return RedirectResponse(f"/admin/imports?ok={','.join(map(str, ids)) or 'none'}", status_code=303)


def _summary(imported: Imported, round_id: int) -> str:
    r = next(x for x in imported.results if x.round_id == round_id)
    batch = f"导入批次 {r.batch_id}" if r.batch_id is not None else "无变化，未记录批次"
    return (f"{r.unit} / {r.round_name}（{batch}）：新增 {len(r.created)} 条，更新 {r.updated} 条，"
            f"未变化 {r.unchanged} 条，本次台账未列出 {len(r.set_aside)} 条")


@router.get("/imports", response_class=HTMLResponse)
def batch_list(request: Request, signed: AdminDep, ok: str = "", unit: str = "", page_no: int = 1) -> Response:
    """The batches the account may see, newest first, a page at a time (the office: of one
    unit when it filters)."""
    page_no, unit = max(1, min(page_no, 10**6)), signed.scope.unit or unit[:200]
    with signed.portal.factory() as session:
        found, total = batches.page_of(session=session, unit=unit or None, page=page_no, per_page=PAGE)
        shown = [batches.batch_json(b) for b in found]
    done = [int(x) for x in ok.split(",") if x.isdigit() and len(x) < 19]
    return _page(request, signed, "admin_imports.html.j2", batches=shown, total=total, page_no=page_no,
                 per_page=PAGE, unit=unit, done=done, nothing=ok == "none", undone=ok if ok.startswith("undo") else "")


@router.post("/imports/{batch_id}/undo")
def undo(batch_id: RecordId, signed: AdminDep, form: AdminForm) -> Response:
    """Undo a batch, with the command line's guard: refused, naming the items, when any
    changed since."""
    portal_ = signed.portal
    try:
        with db.transaction(portal_.engine) as session:
            found = session.get(ImportBatch, batch_id)
            if found is None or not signed.scope.sees(found.round_before.get("unit") or ""):
                raise Refused(404, "没有找到这个导入批次。", "/admin/imports")
            batch = batches.undo_batch(batch_id, signed.scope.actor, portal_.clock(), session=session)
            audited(signed.scope, batch.round_before.get("unit") or "",
                    f"撤销导入批次 {batch_id}（{batch.source_name}）", portal_.clock(), session=session)
    except RectifyError as exc:
        raise Refused(409, str(exc), "/admin/imports") from None
    return RedirectResponse(f"/admin/imports?ok=undo{batch_id}", status_code=303)

