"""佐证材料: how evidence given on the command line is recorded."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def evidence_record(value: str) -> dict[str, Any]:
    """A file is recorded by name, size and SHA-256; anything else as text."""
    path = Path(value)
    if path.is_file():
        data = path.read_bytes()
        return {"kind": "file", "name": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return {"kind": "text", "text": value.strip()}
