"""How people name a problem: one reference per item, the same in every command, page,
file and JSON.

A row of the latest sheet is its 序号 (`13`); an item the sheet no longer lists is `原13`,
the number it had in the last sheet that listed it. Its number may be reused by a new
row, so a plain number never reaches it: `13` is the sheet's row 13, `原13` the item set
aside. When two items of a round were set aside from the same number (row 13 dropped in
week 2, the new row 13 dropped in week 5), the later one is `原13-2`.

This module is pure (no database): the ledger, the planner, the digests and the
documents all print and read references through it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from rectify_core.errors import RectifyError

FORMER = "原"
_REF = re.compile(r"^(?P<former>原)?(?:问题)?(?P<no>\d{1,9})(?:-(?P<seq>\d{1,4}))?$")
_EXAMPLE = "请写台账序号（如 13），本次台账未列出的问题写原序号（如 原13）"


@dataclass(frozen=True, order=True)
class ItemRef:
    """What a person typed: row `no` of the latest sheet, or (`former`) the item that had
    `no` when the sheet last listed it (`seq` > 1 for a later one set aside from it)."""

    former: bool
    no: int
    seq: int = 1

    def __str__(self) -> str:
        return ref_text(self.no, self.former, self.seq)


def ref_text(no: int, former: bool = False, seq: int | None = 1) -> str:
    """`13`, `原13` or `原13-2`."""
    if not former:
        return str(no)
    return f"{FORMER}{no}" + (f"-{seq}" if seq and seq > 1 else "")


def item_ref(no: int, listed: bool, former_no: int | None, former_seq: int | None) -> str:
    """An item's reference from its columns (an item set aside before it had a former
    number holds -id as its number; it still reads as set aside)."""
    if listed:
        return str(no)
    return ref_text(former_no if former_no is not None else abs(no), True, former_seq)


def label(ref: str) -> str:
    """How a reference reads in a sentence: 问题13, 原13."""
    ref = str(ref)
    return ref if ref.startswith(FORMER) else f"问题{ref}"


def is_former(ref: str) -> bool:
    return ref.startswith(FORMER)


def ref_json(ref: str) -> dict[str, object]:
    """The reference as JSON gives it: `"no"` (null for an item the sheet no longer
    lists), `"former_no"` (the number it had) and `"ref"`."""
    found = _REF.match(ref)
    if not found:
        return {"no": None, "former_no": None, "ref": ref}
    number = int(found["no"])
    return {"no": None if found["former"] else number, "former_no": number if found["former"] else None, "ref": ref}


def parse(text: str) -> ItemRef:
    """A reference as typed: `13`, `问题13`, `原13`, `原问题13`, `原13-2` (full-width digits
    and spaces allowed). A clear Chinese error otherwise."""
    folded = unicodedata.normalize("NFKC", str(text)).replace(" ", "").replace("－", "-")
    found = _REF.match(folded)
    if not found:
        raise RectifyError(f"“{text}”不是问题编号：{_EXAMPLE}")
    seq = int(found["seq"]) if found["seq"] else 1
    if found["seq"] and (not found["former"] or seq < 2):
        raise RectifyError(f"“{text}”不是问题编号：{_EXAMPLE}")
    return ItemRef(bool(found["former"]), int(found["no"]), seq)


@functools.lru_cache(maxsize=1 << 16)  # a county's refs repeat in every unit: 1 … 200
def order(ref: str) -> tuple[int, int, int]:
    """Sort key: the sheet's rows by number, then the items set aside by their former
    number (the way lists show them)."""
    found = _REF.match(str(ref))
    if not found:
        return (2, 0, 0)
    return (1 if found["former"] else 0, int(found["no"]), int(found["seq"] or 1))


def ranges(numbers: list[int]) -> str:
    """1、3–7、9: numbers as the ranges a clerk reads."""
    out: list[str] = []
    values = sorted(set(numbers))
    start = prev = None
    for n in [*values, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None and prev is not None:
            out.append(str(start) if start == prev else f"{start}–{prev}")
        start = prev = n
    return "、".join(out)
