"""One file into the ledger, as the command line and the browser both do it: read, bound to
the unit an account holds, matched with the clerk's choices, saved a batch per round, all or
nothing (a dry run rolls back); and what each change reads as to a clerk."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from rectify_core import refs
from rectify_core.config.calendar import run_now
from rectify_core.errors import RectifyError, RefusedError
from rectify_core.importers import read_workbook
from rectify_core.importers.parsed import ParsedLedger
from rectify_core.ledger import db, store
from rectify_core.ledger.models import Round
from rectify_core.ledger.store import ImportChoices, ImportResult, save_ledger
from rectify_core.vocab import FIELD_NAMES, DeadlineKind, ItemState


class OtherUnit(RefusedError):
    """A file of another unit than the one the importing account holds."""


@dataclass(frozen=True)
class ImportOptions:
    unit: str | None = None
    round_name: str | None = None
    round_id: int | None = None
    round_key: str | None = None
    feedback_date: dt.date | None = None
    new_round: bool = False
    match: tuple[str, ...] = ()  # "旧序号=新序号"
    day: dt.date | None = None  # the day the file stands for
    new: tuple[int, ...] = ()  # rows that are new problems


def parse_pairs(given: tuple[str, ...]) -> dict[str, int]:
    """13=12 / 原13=14: the item (as rectify names it now) -> the file's row."""
    pairs: dict[str, int] = {}
    for text in given:
        old, sep, new = text.replace("＝", "=").partition("=")
        try:
            ref = refs.parse(old)
        except RectifyError:
            ref = None
        if not sep or ref is None or not new.strip().isdigit():
            raise RectifyError(f"无法理解“{text}”：请写成 原序号=新序号，例如 3=2；本次台账未列出的问题写 原3=2",
                               hint="--match 3=2")
        if str(ref) in pairs:
            raise RectifyError(f"{refs.label(str(ref))}指定了两次", hint="--match")
        pairs[str(ref)] = int(new)
    if len(set(pairs.values())) < len(pairs):
        raise RectifyError("两个问题指定到了同一个新序号", hint="--match")
    return pairs


@dataclass(frozen=True)
class Imported:
    """What one file did: a result per inspected unit's round, and the sheets left aside."""

    results: list[ImportResult]
    skipped: list[str]
    notes: list[str] = field(default_factory=list)  # how readings were completed (a year-less deadline…)
    guessed: list[str] = field(default_factory=list)  # units named only by the file's name

    def as_json(self) -> dict[str, Any]:
        return {"rounds": [r.as_json() for r in self.results], "skipped_sheets": self.skipped, "notes": self.notes}


# what names one round, and so cannot be given for a file of several units' ledgers
_ONE_ROUND = {"unit": "--unit", "round_name": "--round-name", "round_id": "--round", "round_key": "--round-key",
              "match": "--match", "new": "--new"}


def import_file(engine: Engine, path: Path, opts: ImportOptions = ImportOptions(), dry_run: bool = False, *,
                shown_name: str | None = None, only_unit: str | None = None) -> Imported:
    """Read and save one file, a batch per round, all or nothing; a dry run rolls back.
    `only_unit`: the one unit the importing account holds; a file of another is refused."""
    book = read_workbook(path, shown_name)
    name = shown_name or path.name
    if len(book.ledgers) > 1 and (given := [flag for key, flag in _ONE_ROUND.items() if getattr(opts, key)]):
        units = "、".join(p.unit for p in book.ledgers)
        raise RectifyError(f"{name} 包含 {len(book.ledgers)} 个被巡察单位的台账（{units}），"
                           f"每个单位导入为各自的轮次，不能指定单位、轮次或对应关系", hint=" ".join(given))
    choices = ImportChoices(opts.round_id, opts.new_round, parse_pairs(opts.match), tuple(opts.new))
    guessed = [] if opts.unit or only_unit else [p.unit for p in book.ledgers if not p.unit_found]
    for parsed in book.ledgers:
        if opts.unit:
            parsed.unit, parsed.unit_found = opts.unit, True
        parsed.round_name = opts.round_name or parsed.round_name
        # the identity comes from the file (or the key given), so next week's file, which will
        # not carry the feedback date given now, still finds this round
        parsed.round_key = opts.round_key or store.key_of(parsed)
        parsed.feedback_date = opts.feedback_date or parsed.feedback_date
    with db.transaction(engine, rollback=dry_run) as session:
        if only_unit is not None:
            for parsed in book.ledgers:
                _held(parsed, only_unit, opts.round_id, name, session=session)
        results = [save_ledger(parsed, run_now(opts.day), session=session, choices=choices)
                   for parsed in book.ledgers]
    if not dry_run and any(r.batch_id is not None for r in results):
        db.refresh_statistics(engine, "items", "item_holders")
    notes = [n for p in book.ledgers for n in [*p.notes, *(n for i in p.items for n in i.notes)]]
    return Imported(results, book.skipped, notes, guessed)


def _held(parsed: ParsedLedger, unit: str, round_id: int | None, name: str, *, session: Any) -> None:
    """A ledger the account's unit may import: the file names no unit (it is taken as the
    account's), or names that unit; a round asked for is that unit's."""
    if not parsed.unit_found:
        parsed.unit, parsed.unit_found = unit, True
    found = store.known_unit(parsed.unit, session=session)
    if (found.name if found is not None else parsed.unit) != unit:
        raise OtherUnit(f"{name} 是“{parsed.unit}”的台账，不是本单位（{unit}）的，未导入")
    if round_id is not None:
        rnd = session.get(Round, round_id)
        if rnd is None or rnd.unit.name != unit:
            raise OtherUnit(f"本单位没有编号为 {round_id} 的轮次")


def _text(column: str, value: Any) -> str:
    if column == "status":
        return ItemState.label_of(value)
    if column == "deadline_kind":
        return DeadlineKind.label_of(value, "（空）")
    if value in (None, "", [], {}):
        return "（空）"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "、".join(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def change_parts(column: str, old: Any, new: Any) -> list[str]:
    """One changed field as a clerk reads it: 责任人 王芳 → 李强; the office's own columns
    each by name (备注：已清退8.2万元 → 已清退10.4万元), never as a JSON object."""
    if column == "extra" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
        before, after = old or {}, new or {}
        return [f"{label}：{show_change(column, before.get(label), after.get(label))}"
                for label in dict.fromkeys([*before, *after]) if before.get(label) != after.get(label)]
    return [f"{FIELD_NAMES.get(column, column)} {show_change(column, old, new)}"]


def show_change(column: str, old: Any, new: Any, width: int = 40) -> str:
    """old → new; for long texts, only the words that changed, with a little context."""
    before, after = _text(column, old), _text(column, new)
    if len(before) <= width and len(after) <= width:
        return f"{before} → {after}"
    spans = []
    for op, a1, a2, b1, b2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op != "equal":
            lead = before[max(0, a1 - 8):a1]
            spans.append(f"…{lead}" + (f"[-{before[a1:a2]}-]" if a2 > a1 else "")
                         + (f"{{+{after[b1:b2]}+}}" if b2 > b1 else "") + f"{before[a2:a2 + 8]}…")
    more = f"（另有 {len(spans) - 3} 处）" if len(spans) > 3 else ""
    return "；".join(spans[:3]) + more


def change_lines(result: ImportResult) -> list[tuple[int, str]]:
    """Each changed row of a result, its changes in words: (row, "责任人 王芳 → 李强；…")."""
    return [(change.no, "；".join(part for c, (old, new) in change.changes.items()
                                  for part in change_parts(c, old, new)))
            for change in result.changed if change.changes]
