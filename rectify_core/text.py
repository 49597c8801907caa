"""Text in its working form: what every comparison of names, titles and cells reads.

Full-width digits, letters and punctuation are folded to half-width (NFKC) and traditional
characters to simplified (OpenCC), one character for one, so a span found in the working
copy is the same span of the original."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

_t2s: Any = None


def _simplified(text: str) -> str:
    global _t2s
    if _t2s is None:
        import opencc

        _t2s = opencc.OpenCC("t2s")
    out = str(_t2s.convert(text))
    return out if len(out) == len(text) else "".join(str(_t2s.convert(c)) for c in text)


def normalise(text: str) -> str:
    """The working copy a parser reads: full-width digits, letters and punctuation folded
    to half-width (NFKC) and traditional characters to simplified (OpenCC), one character
    for one. Stored text is the original: a span found in the working copy is the same
    span of the original. Short texts (names, statuses, dates) repeat in a ledger and are
    remembered."""
    if text.isascii():
        return text
    return _normalise_short(text) if len(text) <= 32 else _normalise(text)


@lru_cache(maxsize=65536)
def _normalise_short(text: str) -> str:
    return _normalise(text)


def _normalise(text: str) -> str:
    # most cells are already in the form: checking is a twentieth of normalising a copy
    folded = text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)
    if len(folded) != len(text):
        folded = "".join(n if len(n := unicodedata.normalize("NFKC", c)) == 1 else c for c in text)
    folded = folded.replace("\u3000", " ")
    return folded if folded.isascii() else _simplified(folded)
