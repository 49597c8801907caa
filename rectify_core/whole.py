"""Files written whole: a file rectify writes for a person (a document, an exported list, the
calendar in their config) is written beside its target and put in its place once complete,
so a failure half-way (a full disk, a lost database connection while a bulletin is made, a
character the encoding cannot hold) leaves the file of that name as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A scratch path beside `path` to write the file to: put in `path`'s place once whole,
    removed if writing fails (a file of that name written before stays as it was)."""
    scratch = path.with_name(f".{path.name}.part")
    try:
        yield scratch
        scratch.replace(path)
    finally:
        scratch.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """`text` as `path`'s UTF-8 content, in its place once whole."""
    with replacing(path) as scratch:
        scratch.write_text(text, encoding="utf-8")
