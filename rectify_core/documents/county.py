"""The office's files for a set of rounds: one round's own, or, for several (a unit's
rounds, or every unit for the county), the county's — the all-units 台账 with its 汇总,
the county dashboard, and the 情况通报."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core import whole
from rectify_core.config.settings import Settings
from rectify_core.deadlines.scoring import UnitScore
from rectify_core.documents import bulletin, dashboard
from rectify_core.documents import report as progress_report
from rectify_core.documents.docx import write_docx
from rectify_core.documents.xlsx import write_county_xlsx, write_xlsx
from rectify_core.errors import NotFoundError
from rectify_core.ledger import board, obligations, scores, units
from rectify_core.ledger.models import Unit
from rectify_core.ledger.uploads import KINDS
from rectify_core.ledger.view import RoundView, all_round_views, views_in_turn

# what /admin offers: file -> (name it is saved under, media type)
DOWNLOADS = {"report.docx": ("整改进展情况报告", KINDS["docx"][0]),
             "ledger.xlsx": ("整改台账", KINDS["xlsx"][0]),
             "dashboard.html": ("整改看板", "text/html")}


Rounds = list[tuple[int, str]]  # (round id, unit name), in the office's order


ROUNDS_AT_ONCE = 50  # a county's 台账 reads its rounds' views this many at a time


def write(what: str, rounds: Rounds, settings: Settings, today: dt.date, out: Path, *, session: Session,
          graded: list[UnitScore] | None = None, views: Iterable[RoundView] | None = None) -> None:
    """Write `what` (a DOWNLOADS key) for `rounds`: one round's document, or the county's.
    `graded`: the county's scores and `views`: the rounds' full views in their order, when
    a caller writing several files has them (the county's 台账 takes each as it comes: the
    archive hands them over as it files each round); the dashboard and the bulletin need
    neither (they read a board), the 台账 reads the views it lacks a few rounds at a time."""
    if not rounds:
        raise NotFoundError("没有可下载的轮次。")
    ids = [round_id for round_id, _ in rounds]
    county = len({unit for _, unit in rounds}) > 1

    def county_scores() -> list[UnitScore]:
        return graded if graded is not None else scores.compute(today, settings, session=session)

    def round_view() -> RoundView:
        if views is not None:
            return next(iter(views))
        directory = obligations.directory(settings, session=session)
        return all_round_views(today, settings.rules, settings.calendar, directory, session=session, round_ids=ids)[0]

    if what == "dashboard.html":
        data = dashboard.of_rounds(settings, today, session=session, round_ids=ids,
                                   graded=county_scores() if county else None)
        whole.write_text(out, dashboard.render(data))
        return
    if len(rounds) == 1:
        view = round_view()
        if what == "report.docx":
            write_docx(progress_report.build(view), out, author=office_of(view.unit, settings, session))
        else:
            write_xlsx(view, out)
        return
    if what == "report.docx":
        found = board.read(today, settings.rules, settings.calendar, session=session, round_ids=ids, words=False)
        summary = board.figures(found, settings.config_contacts.office, session=session)
        bulletin.write(bulletin.build(found, summary, settings, today, session=session, graded=county_scores()), out,
                       author=settings.config_contacts.office)
        return
    _ledger(rounds, settings, today, out, county_scores(), views, session=session)


def _ledger(rounds: Rounds, settings: Settings, today: dt.date, out: Path, graded: list[UnitScore],
            views: Iterable[RoundView] | None, *, session: Session) -> None:
    """The county's 台账: a sheet per round, the rounds' views read a few at a time (unless
    given) and let go once their sheets are made; the 汇总 counted from them as they pass."""
    shown = {unit for _, unit in rounds}
    counted: dict[str, Counter[str]] = defaultdict(Counter)

    def in_turn() -> Iterator[RoundView]:
        if views is not None:
            yield from views
            return
        directory = obligations.directory(settings, session=session)
        yield from views_in_turn(today, settings.rules, settings.calendar, directory,
                                 [round_id for round_id, _ in rounds], session=session, at_once=ROUNDS_AT_ONCE)

    def each_view() -> Iterator[RoundView]:
        for view in in_turn():
            units.count(units.view_rows([view]), counted)
            yield view

    def summary() -> list[units.UnitFigures]:
        return [f for f in units.counted_figures(counted, settings.config_contacts.office, session=session)
                if f.unit in shown]

    write_county_xlsx(each_view(), units.short_names(session=session), summary, out,
                      [s for s in graded if s.unit in shown])


def office_of(unit: str, settings: Settings, session: Session) -> str:
    """Who signs for `unit` (its exact name): its own office, else the sender's."""
    return session.scalar(select(Unit.office).where(Unit.name == unit)) or settings.config_contacts.office
