"""The dashboard for leaders: one self-contained HTML file (inline SVG and CSS, no
network), print-friendly, in Chinese."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rectify_core import templating, whole
from rectify_core.config.calendar import to_local
from rectify_core.config.settings import Settings
from rectify_core.deadlines.scoring import UnitScore, lost_text
from rectify_core.ledger import db, scores
from rectify_core.ledger.board import Board, Tally
from rectify_core.ledger.board import read as read_board
from rectify_core.ledger.models import Item, LookbackTask, Notice
from rectify_core.ledger.view import completions
from rectify_core.refs import label
from rectify_core.vocab import LIGHT_NAMES, ROLE_NAMES, ItemState, NoticeState, Role, completion_rate

COLOURS = {"red": "#d9363e", "yellow": "#e0a800", "green": "#2f9e44", "blue": "#1c7ed6", "done": "#868e96",
           None: "#ced4da"}
NAMES: dict[str | None, str] = {**LIGHT_NAMES, "done": ItemState.DONE.label}


@dataclass(frozen=True)
class Bar:
    label: str
    done: int
    total: int
    red: int

    @property
    def rate(self) -> float:
        return completion_rate(self.done, self.total)


UNSTATED = "（未注明）"
COUNTY_OVERDUE_SHOWN: int | None = 200  # the county board lists the longest overdue; a unit's lists every one


def _bars(tallies: Mapping[str | None, Tally] | Mapping[str, Tally]) -> list[Bar]:
    """Bars by name (items without one under 未注明), the lowest completion first."""
    merged: dict[str, Tally] = defaultdict(Tally)
    for name, t in tallies.items():
        into = merged[name or UNSTATED]
        into.done, into.total, into.red = into.done + t.done, into.total + t.total, into.red + t.red
    return sorted((Bar(k, t.done, t.total, t.red) for k, t in merged.items()), key=lambda b: (b.rate, -b.red, b.label))


def _in_feedback_order(board: Board, unit: str) -> list[Bar]:
    """A unit's aspects in the inspection's order (as the feedback numbered them), not by rate."""
    numbers = board.aspect_no.get(unit, {})
    return sorted(_bars(board.aspects[unit]), key=lambda b: (numbers.get(b.label, 10**6), b.label))


def ranked(board: Board) -> list[Bar]:
    """Units ranked for the county: the highest completion first, then the fewest overdue."""
    return sorted(_bars(board.by_unit), key=lambda b: (-b.rate, b.red, b.label))


def _curve(points: list[tuple[dt.date, int]], width: int = 640, height: int = 180,
           until: dt.date | None = None) -> dict[str, Any]:
    """A cumulative line as SVG coordinates, drawn on to `until` (the as-of day): a flat end
    says nothing was completed since, where a line stopping short says nothing at all."""
    if until is not None:  # as of that day: what came after is not on it
        points = [p for p in points if p[0] <= until]
        if points and points[-1][0] < until:
            points = [*points, (until, 0)]
    if not points:
        return {"path": "", "labels": [], "width": width, "height": height, "max": 0}
    total, cumulative = 0, []
    for day, n in points:
        total += n
        cumulative.append((day, total))
    first, last = cumulative[0][0], cumulative[-1][0]
    span = max((last - first).days, 1)
    coords = [(40 + (day - first).days / span * (width - 60), height - 25 - value / total * (height - 45))
              for day, value in cumulative]
    path = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    labels = [{"x": 40, "text": first.isoformat(), "anchor": "start"},
              {"x": width - 20, "text": last.isoformat(), "anchor": "end"}]
    return {"path": path, "labels": labels, "width": width, "height": height, "max": total}


def build(board: Board, today: dt.date, *, session: Session, graded: list[UnitScore] | None = None) -> dict[str, Any]:
    """The dashboard of a board: one unit's, or the county's (units ranked, their 结果考评
    when given, then a section per unit: aspects and departments always within their unit,
    never summed)."""
    ids, names, lights = board.round_ids, board.units, board.lights
    total = sum(lights.values())
    segments, x = [], 0.0
    for key in ("red", "yellow", "green", "blue", None, "done"):
        n = lights.get(key, 0)
        if n:
            w = 600 * n / total
            segments.append({"x": x, "w": w, "colour": COLOURS[key], "name": NAMES[key], "n": n})
            x += w
    week_ago = dt.datetime.combine(today - dt.timedelta(days=7), dt.time(), dt.UTC)
    escalations = session.execute(
        select(Notice.recipient, Notice.role, Notice.sent_at, Item.ref, Item.title)
        .join(Item, Notice.item_id == Item.id)
        .where(Notice.state == NoticeState.SENT, Notice.role.in_((Role.FIRST_RESPONSIBLE, Role.INSPECTION_OFFICE)),
               Notice.sent_at >= week_ago, Notice.round_id.in_(ids)).order_by(Notice.sent_at.desc())).all()
    outcomes = Counter(o for (o,) in session.execute(
        select(LookbackTask.outcome).join(Item, LookbackTask.item_id == Item.id).where(Item.round_id.in_(ids))) if o)
    return {
        "today": today.isoformat(), "total": total, "segments": segments, "lights": lights, "names": NAMES,
        "done": lights.get("done", 0), "rate": completion_rate(lights.get("done", 0), total),
        "curve": _curve(completions(session=session, round_ids=ids), until=today),
        "title": names[0] if len(names) == 1 else f"全部{len(names)}个被巡察单位" if names else "",
        "county": len(names) > 1,
        "units": ranked(board),
        "sections": [{"unit": name, "aspects": _in_feedback_order(board, name),
                      "departments": _bars(board.departments[name])} for name in names if name in board.by_unit],
        "overdue": [{"no": o.ref, "label": label(o.ref), "unit": o.unit, "title": o.title,
                     "due": o.due.isoformat() if o.due else "", "late": -o.left, "owner": o.owner or "",
                     "leader": o.leader or "", "department": o.department or ""} for o in board.overdue],
        "overdue_count": board.overdue_count,
        "escalations": [{"who": who, "role": ROLE_NAMES.get(role, role), "no": no, "label": label(no),
                         "title": title,
                         "at": to_local(sent_at).strftime("%m-%d %H:%M") if sent_at else ""}
                        for who, role, sent_at, no, title in escalations],
        "lookback": {"巩固": outcomes.get("consolidated", 0), "反弹": outcomes.get("rebound", 0)},
        "scores": [{"rank": g.rank or "—", "unit": g.unit, "score": "—" if g.score is None else f"{g.score:g}",
                    "grade": g.grade, "lost": lost_text(g)} for g in graded or () if g.unit in names],
        "colours": COLOURS,
    }


def render(data: dict[str, Any]) -> str:
    return templating.render("dashboard.html.j2", **data)


def of_rounds(settings: Settings, today: dt.date, *, session: Session, unit: str | None = None,
              round_ids: list[int] | None = None, graded: list[UnitScore] | None = None) -> dict[str, Any]:
    """The dashboard's data as of `today` for one unit (its exact name), `round_ids`, or the
    county; the county's scores computed unless given."""
    board = read_board(today, settings.rules, settings.calendar, session=session, unit=unit, round_ids=round_ids,
                       shown=None if unit is not None else COUNTY_OVERDUE_SHOWN)
    county = len(board.units) > 1
    if county and graded is None:
        graded = scores.compute(today, settings, session=session)
    return build(board, today, session=session, graded=graded if county else None)


def write(engine: Engine, settings: Settings, today: dt.date, path: Path, unit: str | None = None) -> dict[str, Any]:
    """Build the dashboard as of `today` — one unit's (its exact name), or the county's of
    every unit — and write it to `path`."""
    with db.transaction(engine) as session:
        data = of_rounds(settings, today, session=session, unit=unit)
    whole.write_text(path, render(data))
    return data
