"""A large table's rows read by several processes at once: reading a 100,000-row 台账 is
Python's own work, a row at a time, and one process uses one processor.

The calling process reads chunks itself while helper processes (`rectify_core.fanout`)
read others; the results come back in the chunks' order, exactly as one process would
have made them, and a chunk a helper did not give back is read by the calling process,
which then meets any error itself. A small table or a machine with one processor is read
in the calling process alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from rectify_core import fanout
from rectify_core.errors import ConfigError

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")

PARALLEL_FROM = 20_000  # rows: below this, starting a process costs more than it saves
MOST = 4  # processes: past this the calling process is busy enough taking their results
ENV = "RECTIFY_IMPORT_PROCESSES"


def processes() -> int:
    """How many processes may read one table: RECTIFY_IMPORT_PROCESSES, else one for
    each processor this process may run on (up to MOST)."""
    raw = os.environ.get(ENV)
    if raw:
        try:
            count = int(raw)
        except ValueError:
            count = 0
        if count < 1:
            raise ConfigError(f"环境变量 {ENV}", "读取大表格的进程数", f"应为正整数，实际为 {raw!r}")
        return count
    return fanout.processors(MOST)


def map_chunks(read: Callable[..., Result], chunks: list[Chunk], size: int, *args: Any) -> list[Result]:
    """[read(chunk, *args) for chunk in chunks], shared with helper processes when the
    chunks hold `size` rows or more. `read` must be a module-level function and its
    arguments picklable. Each chunk is let go once it is read."""
    allowed = processes()  # a wrong setting is said whatever the table's size
    helpers = allowed - 1 if size >= PARALLEL_FROM else 0
    return fanout.share(read, chunks, helpers, *args, name="rectify-read")
