"""结果考评 over the record: today's scores (deadlines.scoring over ledger.scorefacts), and
a period's scores frozen for the record so that later edits never change grades already
reported."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core.config.settings import Settings
from rectify_core.deadlines.scoring import UnitScore, score_groups
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger import scorefacts, units
from rectify_core.ledger.models import ScoreSnapshot

_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")


def period_end(period: str) -> dt.date:
    """The last day of a quarter written 2026Q4."""
    found = _PERIOD.match(period.strip().upper())
    if found is None:
        raise RefusedError(f"考评期“{period}”的写法不对：应为年份加季度，如 2026Q4")
    year, quarter = int(found[1]), int(found[2])
    first_of_next = dt.date(year + quarter // 4, quarter % 4 * 3 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def compute(day: dt.date, settings: Settings, *, session: Session) -> list[UnitScore]:
    """Every unit's scores as of `day`, ranked over the county."""
    rules = settings.rules
    return score_groups(scorefacts.by_unit(day, settings, session=session), day, rules.scoring, settings.calendar,
                        rules.ongoing_update_months)


def of_unit(scores: list[dict[str, Any]], unit: str | None, *, session: Session) -> list[dict[str, Any]]:
    """The scores of one unit (full or short name), or all when none is given."""
    if unit is None:
        return scores
    name = units.find_unit(unit, session=session).name
    return [s for s in scores if s["unit"] == name]


def frozen(period: str, *, session: Session) -> ScoreSnapshot:
    """The standing snapshot of a period (the latest freeze)."""
    period_end(period)
    found = session.scalar(select(ScoreSnapshot).where(ScoreSnapshot.period == period.strip().upper(),
                                                       ScoreSnapshot.replaced_at.is_(None)))
    if found is None:
        raise NotFoundError(f"{period.strip().upper()} 的考评结果尚未固定",
                            hint="rectify scores --freeze --period 考评期")
    return found


def freeze(period: str, day: dt.date, by: str | None, now: dt.datetime, settings: Settings, *,
           session: Session, force: bool = False) -> ScoreSnapshot:
    """Record the period's scores as of `day` with the rules used. A period already frozen
    is frozen again only when `force` says so; the earlier snapshot stays, marked replaced."""
    key = period.strip().upper()
    end = period_end(key)
    if day > end:
        raise RefusedError(f"考评日期 {day} 晚于考评期 {key} 的最后一天 {end}")
    standing = session.scalar(select(ScoreSnapshot).where(ScoreSnapshot.period == key,
                                                          ScoreSnapshot.replaced_at.is_(None)))
    if standing is not None and not force:
        raise RefusedError(f"{key} 的考评结果已于 {standing.as_of} 固定；重新固定会保留原结果并标记为已替换",
                           hint="--force")
    if standing is not None:
        standing.replaced_at = now
    snapshot = ScoreSnapshot(period=key, as_of=day, frozen_at=now, frozen_by=by,
                             rules=settings.rules.scoring.as_dict(),
                             scores=[s.as_json() for s in compute(day, settings, session=session)])
    session.add(snapshot)
    session.flush()
    return snapshot


def trail(period: str, *, session: Session) -> list[ScoreSnapshot]:
    """Every freeze of a period, the standing one last."""
    period_end(period)
    return list(session.scalars(select(ScoreSnapshot).where(ScoreSnapshot.period == period.strip().upper())
                                .order_by(ScoreSnapshot.frozen_at, ScoreSnapshot.id)))
