"""Processes on this machine: whether a pid is still a live process. A claim or a
half-written file named for a dead process is abandoned, and may be taken back."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True
