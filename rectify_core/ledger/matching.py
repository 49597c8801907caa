"""Which item of a round each row of a new sheet is: matched by what it says, not by its
number.

Offices delete rows and renumber, re-sort by deadline, and reword a title between two
weeks' sheets. A row is the item whose problem title it carries, compared on a working
copy (white space, punctuation, full/half width and traditional/simplified folded):

1. the clerk's own decisions (`--match 旧序号=新序号`) first;
2. exact titles: one row and one item with the same working copy are the same problem;
   several of each (a title repeated in one sheet) are told apart by their category,
   people and measures, the number only breaking what is left;
3. close titles, among what is left: a row and an item that are each other's best
   candidate, clearly ahead of any other, are the same problem. When two could be
   (near-identical titles, or a row close to two items), nothing is guessed: the
   import is refused with the candidates and their similarity.

Rows left are new problems; items left are "not in the latest sheet".
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.process import extract

from rectify_core import refs
from rectify_core.errors import RefusedError
from rectify_core.importers.parsed import ParsedItem
from rectify_core.text import normalise

CLOSE = 80.0  # a title this similar (0–100) may be the same problem reworded
CLEAR = 6.0  # ...when it leads every other candidate by this much
SHOWN = 8  # candidates listed when a file is refused as ambiguous


@dataclass(frozen=True)
class Candidate:
    """A row of the file that may be an item already held: what a page offers to choose."""

    row_no: int
    row_title: str
    item_ref: str  # the item as rectify names it now (13, 原13)
    item_title: str
    score: float
    note: str = ""  # what differs and what people recorded, when choosing would move it


class Unsure(RefusedError):
    """Rows whose match cannot be decided alone: refused, with every candidate pair, so the
    clerk chooses (the command line by --match/--new, the browser by clicking)."""

    def __init__(self, message: str, candidates: list[Candidate], *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.candidates = candidates


def working_copy(text: str | None) -> str:
    """The form in which two spellings of one title compare equal: half-width,
    simplified, without white space or punctuation."""
    folded = normalise(text or "")
    return "".join(c for c in folded if not c.isspace() and unicodedata.category(c)[0] not in "PZ").lower()


@dataclass(frozen=True, slots=True)  # a re-import holds one for each item of the round
class Known:
    """An item of the round as matching reads it."""

    id: int
    no: int  # as last listed (an item not in the latest sheet keeps the number it had)
    title: str
    aspect: str | None = None
    owner: str | None = None
    leader: str | None = None
    department: str | None = None
    measures: str | None = None
    ref: str = ""  # how people name it now: 13, or 原13 when the sheet no longer lists it
    recorded: tuple[str, ...] = ()  # what people recorded on it in rectify (进展, 销号…)

    @property
    def named(self) -> str:
        return self.ref or str(self.no)


@dataclass(frozen=True, slots=True)  # ...and one for each row matched
class Match:
    item_id: int
    old_no: int
    row_no: int
    basis: str  # 指定 / 同题 / 同题、序号 / 近似 93%
    title: str = ""  # the row's
    score: float = 100.0
    old_ref: str = ""  # the item's reference before: 13, or 原13

    @property
    def moved(self) -> bool:
        """The item is named differently now (renumbered, or listed again)."""
        return (self.old_ref or str(self.old_no)) != str(self.row_no)


@dataclass
class Matching:
    matches: list[Match] = field(default_factory=list)
    new_rows: list[ParsedItem] = field(default_factory=list)
    missing: list[Known] = field(default_factory=list)

    def item_of(self) -> dict[int, int]:
        """row number -> item id."""
        return {m.row_no: m.item_id for m in self.matches}


def _context(row: ParsedItem, aspects: Mapping[int, str]) -> tuple[str, ...]:
    return (working_copy(aspects.get(row.aspect_no or -1)), working_copy(row.owner), working_copy(row.leader),
            working_copy(row.department))


def _known_context(item: Known) -> tuple[str, ...]:
    return (working_copy(item.aspect), working_copy(item.owner), working_copy(item.leader),
            working_copy(item.department))


def _affinity(row: ParsedItem, item: Known, aspects: Mapping[int, str]) -> float:
    """What besides the title says a row is this item: its category, people and
    measures (0–100)."""
    pairs = list(zip(_context(row, aspects), _known_context(item), strict=True))
    same = sum(1 for a, b in pairs if a and a == b)
    measures = fuzz.ratio(working_copy(row.measures_text), working_copy(item.measures)) if item.measures else 0.0
    return 100.0 * same / len(pairs) * 0.6 + measures * 0.4


def _explicit(pairs: Mapping[str, int], rows: dict[int, ParsedItem], items: dict[int, Known],
              out: Matching) -> None:
    """The clerk's decisions: old reference (13, 原13) -> the file's row number."""
    by_ref = {k.named: k for k in items.values()}
    for old, new in pairs.items():
        item = by_ref.get(old)
        if item is None:
            known = "、".join(sorted(by_ref, key=refs.order)[:12]) + ("…" if len(by_ref) > 12 else "")
            raise RefusedError(f"指定对应关系 {old}={new}：本轮次没有{refs.label(old)}（本轮次的问题：{known}）")
        if new not in rows:
            raise RefusedError(f"指定对应关系 {old}={new}：文件中没有序号为 {new} 的问题")
        out.matches.append(Match(item.id, item.no, new, "指定", rows[new].title, old_ref=item.named))
        del rows[new], items[item.id]


def _exact(rows: dict[int, ParsedItem], items: dict[int, Known], aspects: Mapping[int, str],
           out: Matching) -> None:
    by_title: dict[str, Known | list[Known]] = {}
    for item in items.values():
        _gather(by_title, working_copy(item.title), item)
    wanted: dict[str, ParsedItem | list[ParsedItem]] = {}
    for row in rows.values():
        if (key := working_copy(row.title)) in by_title:
            _gather(wanted, key, row)
    for key, gathered in wanted.items():
        found = gathered if isinstance(gathered, list) else [gathered]
        known = by_title[key]
        for row, item in _pair_alike(found, known if isinstance(known, list) else [known], aspects):
            out.matches.append(Match(item.id, item.no, row.no, "同题" if len(found) == 1 else "同题、序号", row.title,
                                     old_ref=item.named))
            del rows[row.no], items[item.id]


def _gather(into: dict[str, Any], key: str, value: Any) -> None:
    """One value under its key, several in a list: a title is nearly always one row's and
    one item's, and a re-import of a large ledger holds a key for each (no list for each)."""
    found = into.get(key)
    if found is None:
        into[key] = value
    elif isinstance(found, list):
        found.append(value)
    else:
        into[key] = [found, value]


def _pair_alike(rows: list[ParsedItem], items: list[Known],
                aspects: Mapping[int, str]) -> Iterable[tuple[ParsedItem, Known]]:
    """Rows and items with the same title, paired: one of each at once; several told
    apart by category, people and measures, then by number."""
    if len(rows) == 1 and len(items) == 1:
        yield rows[0], items[0]
        return
    scored = sorted(((-_affinity(r, k, aspects), abs(r.no - k.no), r.no, k.no, r, k) for r in rows for k in items),
                    key=lambda s: s[:4])
    taken_rows: set[int] = set()
    taken_items: set[int] = set()
    for *_, row, item in scored:
        if row.no not in taken_rows and item.id not in taken_items:
            taken_rows.add(row.no)
            taken_items.add(item.id)
            yield row, item


def _close(rows: dict[int, ParsedItem], items: dict[int, Known], aspects: Mapping[int, str],
           out: Matching) -> None:
    """Mutual best candidates, clearly ahead; refused where two could be the same."""
    if not rows or not items:
        return
    keys = {k.id: working_copy(k.title) for k in items.values()}
    ids = list(keys)
    choices = [keys[i] for i in ids]
    scores: dict[tuple[int, int], float] = {}
    for row in rows.values():
        for _, score, index in extract(working_copy(row.title), choices, scorer=fuzz.ratio, limit=5,
                                       score_cutoff=CLOSE - 10):
            item = items[ids[index]]
            scores[(row.no, item.id)] = float(score) + _affinity(row, item, aspects) / 20  # up to 5 points
    moving: list[tuple[ParsedItem, Known, float]] = []
    while True:
        accepted = _mutual_best(scores)
        if not accepted:
            break
        for row_no, item_id, score in accepted:
            item = items.pop(item_id)
            row = rows.pop(row_no)
            if item.recorded and _differs(row, item, aspects):
                moving.append((row, item, score))  # a proposal: the clerk confirms it or says it is new
            else:
                out.matches.append(Match(item.id, item.no, row_no, f"近似 {min(score, 100):.0f}%", row.title, score,
                                         old_ref=item.named))
            scores = {k: v for k, v in scores.items() if k[0] != row_no and k[1] != item_id}
    doubtful = [(r, i, s) for (r, i), s in scores.items() if s >= CLOSE]
    if doubtful:
        raise _ambiguous(doubtful, rows, items)
    if moving:
        raise _would_move(moving, aspects)


_DIFFERENT = ("问题类别", "责任人", "责任领导")  # the order of _context's first three


def _differs(row: ParsedItem, item: Known, aspects: Mapping[int, str]) -> list[str]:
    """What a row says differently from the item besides its title: its category or
    people (a value on one side and none on the other differs too)."""
    return [name for name, a, b in zip(_DIFFERENT, _context(row, aspects), _known_context(item), strict=False)
            if a != b]


def _people_text(owner: str | None, leader: str | None) -> str:
    return "，".join(f"{k} {v}" for k, v in (("责任人", owner), ("责任领导", leader)) if v) or "未填责任人"


def _would_move(moving: list[tuple[ParsedItem, Known, float]], aspects: Mapping[int, str]) -> Unsure:
    """A close title that would carry what a person recorded onto a row with other people
    or another category: asked, never taken on its own."""
    lines = [f"{refs.label(item.named)}“{_cut(item.title)}”（{_people_text(item.owner, item.leader)}；"
             f"已记录：{'、'.join(item.recorded)}）→ 文件第{row.no}条“{_cut(row.title)}”"
             f"（{_people_text(row.owner, row.leader)}；不同：{'、'.join(_differs(row, item, aspects))}；"
             f"相似 {min(score, 100):.0f}%）"
             for row, item, score in sorted(moving, key=lambda m: m[0].no)[:SHOWN]]
    more = f"；另有 {len(moving) - SHOWN} 组" if len(moving) > SHOWN else ""
    first_row, first_item, _ = min(moving, key=lambda m: m[0].no)
    candidates = [Candidate(row.no, row.title, item.named, item.title, min(score, 100),
                            f"已记录：{'、'.join(item.recorded)}；不同：{'、'.join(_differs(row, item, aspects))}")
                  for row, item, score in sorted(moving, key=lambda m: m[0].no)]
    return Unsure(
        "以下问题标题相近，但问题类别或责任人不同，而 rectify 中已有人记录了进展、销号等；自动对应会把这些记录"
        "移到另一个问题上，未导入：\n  " + "\n  ".join(lines) + more
        + "\n请逐条确认：是同一问题（标题改写、人员调整）就指定对应关系，是新问题就标为新问题，再导入",
        candidates,
        hint=f"同一问题：--match {first_item.named}={first_row.no}；新问题：--new {first_row.no}（均可重复）")


def _mutual_best(scores: dict[tuple[int, int], float]) -> list[tuple[int, int, float]]:
    best_row: dict[int, list[tuple[float, int]]] = defaultdict(list)
    best_item: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (row_no, item_id), score in scores.items():
        best_row[row_no].append((score, item_id))
        best_item[item_id].append((score, row_no))
    accepted = []
    for row_no, found in best_row.items():
        found.sort(reverse=True)
        score, item_id = found[0]
        theirs = sorted(best_item[item_id], reverse=True)
        if score < CLOSE or theirs[0][1] != row_no:
            continue
        runner_up = max((found[1][0] if len(found) > 1 else 0.0), (theirs[1][0] if len(theirs) > 1 else 0.0))
        if score - runner_up >= CLEAR:
            accepted.append((row_no, item_id, score))
    return accepted


def _ambiguous(doubtful: list[tuple[int, int, float]], rows: dict[int, ParsedItem],
               items: dict[int, Known]) -> Unsure:
    doubtful.sort(key=lambda d: (d[0], -d[2]))
    lines = [f"文件第{r}条“{_cut(rows[r].title)}” ↔ {refs.label(items[i].named)}“{_cut(items[i].title)}”"
             f"（相似 {s:.0f}%）" for r, i, s in doubtful[:SHOWN]]
    more = f"；另有 {len(doubtful) - SHOWN} 组" if len(doubtful) > SHOWN else ""
    candidates = [Candidate(r, rows[r].title, items[i].named, items[i].title, min(s, 100)) for r, i, s in doubtful]
    return Unsure("无法确定以下问题对应关系（标题相近，可能是同一问题，也可能不是），未导入：\n  "
                  + "\n  ".join(lines) + more
                  + "\n请确认后逐条指定对应关系（同一问题：原序号=新序号；新问题：标为新问题），再导入",
                  candidates, hint="--match 原序号=新序号、--new 新序号（可重复）")


def _cut(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def match_rows(rows: list[ParsedItem], items: list[Known], aspects: Mapping[int, str],
               explicit: Mapping[str, int] | None = None, new: Iterable[int] = ()) -> Matching:
    """Match a sheet's rows to a round's items, one to one. `aspects`: the sheet's
    category titles by number; `explicit`: the clerk's old reference (13, 原13) -> new
    number; `new`: rows the clerk says are new problems."""
    out = Matching()
    left_rows = {r.no: r for r in rows}
    left_items = {k.id: k for k in items}
    declared = sorted(set(new))
    for no in declared:
        if no not in left_rows:
            raise RefusedError(f"标为新问题的第{no}条：文件中没有序号为 {no} 的问题")
        if explicit and no in explicit.values():
            raise RefusedError(f"第{no}条既指定了对应关系，又标为新问题，请只选一种")
    fresh = [left_rows.pop(no) for no in declared]
    if not left_items and not explicit:  # a new round: every row is new, nothing to compare
        out.new_rows = sorted([*left_rows.values(), *fresh], key=lambda r: r.no)
        return out
    _explicit(explicit or {}, left_rows, left_items, out)
    _exact(left_rows, left_items, aspects, out)
    _close(left_rows, left_items, aspects, out)
    out.new_rows = sorted([*left_rows.values(), *fresh], key=lambda r: r.no)
    out.missing = sorted(left_items.values(), key=lambda k: k.no)
    out.matches.sort(key=lambda m: m.row_no)
    return out


def as_json(m: Matching) -> dict[str, Any]:
    return {"matches": [{"item": x.item_id, "old_ref": x.old_ref, "no": x.row_no, "basis": x.basis}
                        for x in m.matches],
            "missing": [{"item": k.id, "ref": k.named, "title": k.title} for k in m.missing]}
