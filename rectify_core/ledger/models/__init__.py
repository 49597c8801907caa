"""ORM models (SQLAlchemy 2 typed mapping), by concern: the ledger itself (core), what is
owed and sent (outbox), and what rectify web keeps (web). One metadata for all.

Datetimes are stored as aware UTC through `UTCDateTime`; calendar dates as `Date`.
Closed vocabularies are stored as their text values and read back as their enums.
"""

from rectify_core.ledger.models.core import (
    Aspect,
    Base,
    Closure,
    Event,
    ImportBatch,
    Item,
    ItemHolder,
    Measure,
    Person,
    Round,
    Topic,
    Unit,
)
from rectify_core.ledger.models.outbox import (
    ImUser,
    ItemRequest,
    Ladder,
    LookbackSweep,
    LookbackTask,
    Notice,
    NoticePart,
    ScoreSnapshot,
)
from rectify_core.ledger.models.people import DirectoryPerson
from rectify_core.ledger.models.web import Account, AdminAction, AppSetting, LinkRevocation, Upload, WebFailure

__all__ = [
    "Account", "AdminAction", "AppSetting",
    "Aspect",
    "Base",
    "Closure",
    "DirectoryPerson",
    "Event",
    "ImUser",
    "ImportBatch",
    "Item",
    "ItemHolder",
    "ItemRequest",
    "Ladder",
    "LinkRevocation",
    "LookbackSweep",
    "LookbackTask",
    "Measure",
    "Notice",
    "NoticePart",
    "Person",
    "Round",
    "ScoreSnapshot",
    "Topic",
    "Unit",
    "Upload",
    "WebFailure",
]
