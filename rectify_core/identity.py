"""Identities: what makes a round, or a person, the same one across files and weeks.

A round is its unit plus its inspection (inspector and feedback date); without those,
an explicit key or the ledger's title with dates taken out, so next week's 台账 of the
same round finds it. A person is (unit, name), with the name compared in a normal form:
full-width letters folded, invisible characters and inner spaces removed.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

from rectify_core.text import normalise

_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060-\u2064\ufeff\u00ad]+")
# dates and date-like runs in a title: the same ledger's title next month differs only there
_DATEISH = re.compile(r"[（(]?(?:截至|截止)?\s*\d{2,4}\s*[年./-]\s*\d{1,2}\s*(?:[月./-]\s*(?:\d{1,2}\s*日?)?)?"
                      r"(?:底|末|止|前)?[）)]?")


@functools.lru_cache(maxsize=65536)
def person_name(name: str) -> str:
    """The form in which two spellings of one name compare equal (names repeat: each is
    folded once)."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", name))


@functools.lru_cache(maxsize=65536)
def unit_key(name: str) -> str:
    """The form in which two spellings of a unit's name compare equal: on the working copy
    (full width folded, traditional as simplified), spaces and invisible characters out.
    Kept beside each unit's name (units.name_key, indexed): a unit is found by it."""
    return person_name(normalise(name))


def round_key(inspector: str | None, feedback_date: dt.date | None, name: str) -> str:
    """The round's key within its unit, on the working copy (a report in traditional
    characters and its simplified copy are one round)."""
    if feedback_date is not None:
        who = person_name(normalise(inspector)) if inspector else ""
        return f"inspection:{who}:{feedback_date.isoformat()}"
    return "title:" + _DATEISH.sub("", person_name(normalise(name)))
