"""The people directory the units keep (rectify people, /admin/people): who a person is
and how to reach them, by channel names the administrator configured. Channel URLs and
their secrets never come here: they stay in config/contacts.toml and the environment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rectify_core.ledger.columns import UTCDateTime
from rectify_core.ledger.models.core import Base


class DirectoryPerson(Base):
    """One person of one unit (or, without a unit, one serving every unit, such as the
    巡察办). `key` is the unit and the normalised name: one person per name per unit, even
    when two clerks add them at once."""

    __tablename__ = "directory_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(20))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # names from [channels], in order
    supervisor: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # user ids written for work platforms
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))
