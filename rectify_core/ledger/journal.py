"""The journal of writes made through the clerk's pages: one line each, who, when, over
which unit and what, for the office's audit page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectify_core.ledger.accounts import Scope
from rectify_core.ledger.models import AdminAction

PAGE = 100


def record(scope: Scope, unit: str, what: str, now: dt.datetime, *, session: Session) -> None:
    session.add(AdminAction(at=now, login=scope.login, unit=unit, what=what[:2000]))
    session.flush()


def read(*, session: Session, units: list[str] | None, unit: str = "", login: str = "",
         page: int = 1) -> tuple[list[AdminAction], int]:
    """One page of the journal, newest first, of the units given (None: every unit and the
    county's own lines), narrowed to one unit or one account; and how many lines match."""
    where: list[Any] = []
    if units is not None:
        where.append(AdminAction.unit.in_(units))
    if unit:
        where.append(AdminAction.unit == unit)
    if login:
        where.append(AdminAction.login == login)
    total = session.scalar(select(func.count()).select_from(AdminAction).where(*where)) or 0
    rows = session.scalars(select(AdminAction).where(*where).order_by(AdminAction.id.desc())
                           .offset((max(page, 1) - 1) * PAGE).limit(PAGE))
    return list(rows), int(total)
