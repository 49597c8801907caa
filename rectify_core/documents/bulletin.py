"""The office's 巡察整改情况通报 over every unit it follows, in the GB/T 9704 form of the
progress report: the overall figures, the units ranked in a table, the overdue items by
unit with owner and working days overdue, and the units that reported no progress for a
while, named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectify_core.config.calendar import local_today
from rectify_core.config.settings import Settings
from rectify_core.deadlines.scoring import UnitScore, lost_text
from rectify_core.documents.docx import write_docx
from rectify_core.documents.report import Para, day_text
from rectify_core.ledger import scores
from rectify_core.ledger.board import Board, overdue_in_turn
from rectify_core.ledger.models import Event, Round, Unit
from rectify_core.ledger.units import UnitFigures
from rectify_core.numerals import cn_number
from rectify_core.refs import label
from rectify_core.vocab import EventKind, ItemState, completion_rate

STALE_WORKDAYS = 10  # no progress reported for this many working days: the unit is named
# what a person records between imports: each is progress reported
REPORTED = (EventKind.PROGRESS, EventKind.CLOSED, EventKind.EXTENDED, EventKind.ACKNOWLEDGED,
            EventKind.EXTENSION_REQUESTED, EventKind.CLOSURE_REQUESTED)


def ranked(summary: list[UnitFigures]) -> list[UnitFigures]:
    return sorted(summary, key=lambda f: (-f.rate, f.overdue, f.unit))


def _overall(summary: list[UnitFigures], today: dt.date) -> str:
    total = sum(f.items for f in summary)
    done, ongoing, open_ = (sum(getattr(f, k) for f in summary) for k in ("done", "ongoing", "open"))
    overdue = sum(f.overdue for f in summary)
    rate = completion_rate(done, total)
    return (f"截至{day_text(today)}，{len(summary)}个被巡察单位共有巡察反馈问题{total}个，"
            f"{ItemState.DONE.label}{done}个、{ItemState.ONGOING.label}{ongoing}个、{ItemState.OPEN.label}{open_}个，"
            f"整体完成率{rate}%；超过整改时限仍未完成的{overdue}个。")


def _table(summary: list[UnitFigures]) -> Para:
    head = ("名次", "被巡察单位", "问题数", ItemState.DONE.label, ItemState.ONGOING.label, ItemState.OPEN.label,
            "逾期", "完成率")
    rows = [(str(n), f.shown, str(f.items), str(f.done), str(f.ongoing), str(f.open), str(f.overdue), f"{f.rate}%")
            for n, f in enumerate(ranked(summary), 1)]
    return Para("table", "", (head, *rows))


def _overdue(board: Board, summary: list[UnitFigures], *, session: Session) -> Iterator[Para]:
    """The overdue items by unit (ranked), each unit's table made as its turn comes: the
    words of a few units' items read at a time from a board read `words=False`."""
    if board.overdue:
        raise ValueError("the bulletin reads a board kept without words: board.read(…, words=False)")
    late = [f for f in ranked(summary) if (tally := board.by_unit.get(f.unit)) is not None and tally.red]
    shown = {f.unit: f.shown for f in late}
    n = 0
    for unit, items in overdue_in_turn(board, [f.unit for f in late], session=session):
        if not items:
            continue
        n += 1
        rows = [(label(o.ref), o.title, o.owner or "", o.due.isoformat() if o.due else "", f"{-o.left}个工作日")
                for o in items]
        yield Para("h2", f"（{cn_number(n)}）{shown[unit]}（{len(items)}个）")
        yield Para("table", "", (("序号", "问题", "责任人", "整改时限", "已逾期"), *rows))
    if not n:
        yield Para("body", "目前没有超过整改时限仍未完成的问题。")


def _silent(board: Board, settings: Settings, today: dt.date, stale: int, *, session: Session) -> list[str]:
    """Units with items still open that reported nothing (progress, closure, extension,
    已阅) for `stale` working days: named with the day they last did."""
    last = dict(session.execute(select(Unit.name, func.max(Event.at)).join(Round, Round.unit_id == Unit.id)
                                .join(Event, Event.round_id == Round.id).where(Event.kind.in_(REPORTED))
                                .group_by(Unit.name)).all())
    named = []
    for unit in sorted(u for u, t in board.by_unit.items() if t.done < t.total):
        at = last.get(unit)
        day = local_today(at) if at is not None else None
        if day is None:
            named.append(f"{unit}（尚未报送过整改进展）")
        elif settings.calendar.workdays_between(day, today) >= stale:
            named.append(f"{unit}（最近一次报送为{day_text(day)}）")
    return named


def scores_table(scores: list[UnitScore]) -> Para:
    """结果考评 by rank: score, grade and the three biggest deductions (units not graded last)."""
    head = ("名次", "被巡察单位", "得分", "等次", "主要扣分")
    rows = [(str(s.rank or "—"), s.unit, "—" if s.score is None else f"{s.score:g}", s.grade, lost_text(s))
            for s in scores]
    return Para("table", "", (head, *rows))


def _scoring(scores: list[UnitScore], settings: Settings) -> list[Para]:
    rules = settings.rules.scoring
    said = (f"按各单位整改记录计分：满分{rules.full:g}分，逾期、逾期完成、多次延期、回头看反弹、未回应督办提醒、"
            f"销号无佐证材料、未按期报送进展逐项扣分，每项扣分设上限；问题少于{rules.min_items}个的单位不评等次。"
            "逐项扣分说明见整改台账（Excel）的“考评说明”工作表。")
    return [Para("h1", "四、结果考评"), Para("body", said), scores_table(scores)]


TITLE = "关于巡察整改工作进展情况的通报"


def build(board: Board, summary: list[UnitFigures], settings: Settings, today: dt.date, *,
          session: Session, stale: int = STALE_WORKDAYS, graded: list[UnitScore] | None = None) -> Iterator[Para]:
    """The bulletin's paragraphs, made as they are written (inside the session: the overdue
    items' words are read unit by unit), for a board that keeps them without words
    (`board.read(…, words=False)`); `graded`: the county's scores when the caller has them."""
    office, addressed = settings.config_contacts.office, settings.config_contacts.addressed
    yield from [Para("number", addressed.get("number", f"〔{today.year}〕　号")), Para("title", TITLE),
                Para("plain", f"{addressed.get('to', '各被巡察单位党组织')}："), Para("body", _overall(summary, today)),
                Para("h1", "一、各单位整改进展"),
                Para("body", "各单位整改进展按完成率排列（完成率相同的，逾期问题少的在前）："), _table(summary),
                Para("h1", "二、逾期未完成问题")]
    yield from _overdue(board, summary, session=session)
    yield Para("h1", "三、整改进展报送情况")
    silent = _silent(board, settings, today, stale, session=session)
    yield Para("body", f"{'、'.join(silent)}，已连续{stale}个工作日以上未报送整改进展，请抓紧报送。"
               if silent else f"各单位均在{stale}个工作日内报送了整改进展。")
    shown = {f.unit for f in summary}
    graded = scores.compute(today, settings, session=session) if graded is None else graded
    yield from _scoring([sc for sc in graded if sc.unit in shown], settings)
    yield from [Para("h1", "五、有关要求"),
                Para("body", "各被巡察单位党组织要切实履行整改主体责任，对逾期未完成的问题逐项分析原因、明确时限、"
                             "压实责任，按期完成整改并及时报送进展和佐证材料；对已完成整改的问题开展“回头看”，"
                             "严防问题反弹回潮。"),
                Para("signature", office), Para("signature", day_text(today))]
    if cc := addressed.get("cc"):
        yield Para("plain", f"抄送：{cc}。")


def write(paras: Iterable[Para], path: Path, author: str) -> None:
    """The bulletin (`build`'s paragraphs, written as they are made) as a Word document."""
    write_docx(paras, path, author=author, title=TITLE)
