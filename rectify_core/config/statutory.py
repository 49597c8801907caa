"""Statutory public holidays of mainland China for the years without an official schedule:
the estimate a year's working days are counted by until the State Council's notice is in.

The `holidays` library computes them (the lunar festivals and the solar term of 清明), but
importing it and computing a century takes about a quarter of a second, which every command
that reads a date would pay at start-up. So the estimate for the default range is shipped,
precomputed, in data/cn_statutory.txt; the library is imported only for a year outside it
(a date range widened by RECTIFY_FIRST_YEAR / RECTIFY_LAST_YEAR). A test holds the file to
what the installed library computes; after upgrading the library, write the file again with
`python -m rectify_core.config.statutory`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from rectify_core import HOME

SHIPPED = HOME / "data" / "cn_statutory.txt"
# the years it holds: the calendar's default range (limits.py's, and a year each side)
FIRST_YEAR, LAST_YEAR = 1999, 2101


@cache
def _shipped(path: Path = SHIPPED) -> dict[int, tuple[dt.date, ...]]:
    """Year → its statutory holidays, from lines like `2031 0101 0122 0123 …`."""
    out: dict[int, tuple[dt.date, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        year, *days = line.split()
        y = int(year)
        out[y] = tuple(dt.date(y, int(d[:2]), int(d[2:])) for d in days)
    return out


def computed(years: Iterable[int]) -> set[dt.date]:
    """The library's own answer for `years` (imported here only: it is slow to load)."""
    wanted = sorted(set(years))
    if not wanted:
        return set()
    import holidays  # a quarter of a second; only for years the file lacks

    return set(holidays.country_holidays("CN", years=wanted))


def statutory(years: Iterable[int]) -> set[dt.date]:
    """The statutory holidays of `years`: shipped where the file has the year, else computed."""
    shipped = _shipped()
    wanted = set(years)
    out = {day for y in wanted & shipped.keys() for day in shipped[y]}
    return out | computed(wanted - shipped.keys())


def text(first: int, last: int) -> str:
    """The shipped file's text, as the installed library computes it."""
    from importlib.metadata import version

    by_year: dict[int, list[dt.date]] = {y: [] for y in range(first, last + 1)}
    for day in computed(range(first, last + 1)):
        by_year[day.year].append(day)
    head = [f"# Statutory public holidays of mainland China, {first}-{last}, as holidays "
            f"{version('holidays')} computes them:",
            "# the estimate for a year without an official schedule (config/statutory.py).",
            "# Written by: python -m rectify_core.config.statutory"]
    lines = [" ".join([str(y), *(f"{d:%m%d}" for d in sorted(days))]) for y, days in by_year.items()]
    return "\n".join([*head, *lines]) + "\n"


def main() -> None:
    SHIPPED.write_text(text(FIRST_YEAR, LAST_YEAR), encoding="utf-8")
    print(f"wrote {SHIPPED}")


if __name__ == "__main__":
    main()
