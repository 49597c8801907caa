"""Reading a Word document's formatting in tests: python-docx leaves these typed as
optional, and a test wants the value or a clear failure."""

from __future__ import annotations

from typing import Any

from docx.oxml.ns import qn


def east_asia(run: Any, name: str = "w:eastAsia") -> str | None:
    """The East Asian font a run names (what Word prints Chinese in)."""
    fonts = run._element.rPr.rFonts
    assert fonts is not None, "the run names no fonts"
    value = fonts.get(qn(name))
    return None if value is None else str(value)


def mm(length: Any) -> float:
    """A docx length in millimetres (a length the document leaves unset fails here)."""
    assert length is not None, "length not set in the document"
    return float(length.mm)
