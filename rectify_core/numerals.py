"""Counts in Chinese numerals, as headings, tables and Word's chineseCounting write them."""

from __future__ import annotations

CN = "一二三四五六七八九十"


_PLACES = (("千", 1000), ("百", 100), ("十", 10), ("", 1))


def _below_10000(n: int, leading: bool) -> str:
    """1–9999 in words: one 零 for each run of zeros between digits; 十 alone for 10–19
    when nothing stands before it (十二, but 一百一十二)."""
    out, gap = "", False
    for name, value in _PLACES:
        digit = n // value % 10
        if digit == 0:
            gap = gap or bool(out)
            continue
        if gap:
            out += "零"
        out += ("" if digit == 1 and name == "十" and not out and leading else CN[digit - 1]) + name
        gap = False
    return out


def cn_number(n: int) -> str:
    """A positive count in Chinese numerals, as headings and tables write it: 1 -> 一,
    12 -> 十二, 110 -> 一百一十, 1005 -> 一千零五, 10010 -> 一万零一十."""
    if n < 1:
        raise ValueError(f"not a positive count: {n}")
    if n < 10000:
        return _below_10000(n, leading=True)
    high, low = divmod(n, 10000)
    text = cn_number(high) + "万"
    if low:
        text += ("零" if low < 1000 else "") + _below_10000(low, leading=False)
    return text
