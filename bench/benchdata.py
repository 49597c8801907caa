"""Shared set-up for the benchmark scripts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from rectify_core.models import Round, Unit


def new_round(now: dt.datetime, *, session: Session) -> Round:
    """A unit and a round fed back on 2025-01-07, to hang benchmark items on."""
    unit = Unit(name="基准测试单位")
    session.add(unit)
    session.flush()
    rnd = Round(unit_id=unit.id, key="inspection::2025-01-07", name="基准测试轮次", feedback_date=dt.date(2025, 1, 7),
                imported_at=now)
    session.add(rnd)
    session.flush()
    return rnd
