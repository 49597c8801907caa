"""The context of a transition: who acts, when, and through what; and the terms it is
held to (the rules and the working-day calendar).

Every lifecycle transition takes an `Act` rather than threading (by, now, today, via)
through its parameters, and records it in its event the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from rectify_core.config.calendar import WorkCalendar, local_today
from rectify_core.config.rules import Rules


@dataclass(frozen=True)
class Act:
    """Who acts (`by`), at which instant (`now`) and on which local day (`today`), and
    through what (`via`: for example {"via": "web", "link": …}), recorded in the event."""

    by: str
    now: dt.datetime
    today: dt.date
    via: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def at(cls, by: str, now: dt.datetime, via: Mapping[str, Any] | None = None,
           today: dt.date | None = None) -> Act:
        """An act at `now`, on its Asia/Shanghai day unless `today` is given."""
        return cls(by.strip(), now, today or local_today(now), dict(via or {}))

    def as_(self, by: str) -> Act:
        """The same act, by someone else (an approval carried out for its requester)."""
        return Act(by.strip(), self.now, self.today, self.via)


class Terms(Protocol):
    """What a transition is held to: `Settings` is one."""

    @property
    def rules(self) -> Rules: ...

    @property
    def calendar(self) -> WorkCalendar: ...
