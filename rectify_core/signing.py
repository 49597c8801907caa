"""One signer: every token rectify hands out and takes back (a person's link, the clerk's
session cookie, a form's CSRF token) is signed here, with HMAC-SHA256 over the web secret.

Each use signs under its own purpose, which is part of what is signed (as datasette's
namespaced signer does): a token made for one purpose never verifies for another, however
alike the payloads. The purposes are a closed list, none a prefix of another's payload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

LINK: Final = "rectify-link.v1"  # a person's personal link (the bytes signed since links began)
SESSION: Final = "admin"  # the clerk's signed-in session cookie
CSRF: Final = "csrf"  # a form's token, bound to the browser's cookie and the page
PURPOSES: Final = frozenset({LINK, SESSION, CSRF})


def b64(raw: bytes) -> str:
    """URL-safe base64 without padding: what tokens are written in."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, purpose: str, payload: str) -> str:
    """The signature of `payload` for `purpose`."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown signing purpose {purpose!r}")
    return b64(hmac.digest(secret, f"{purpose}.{payload}".encode(), hashlib.sha256))


def verify(secret: bytes, purpose: str, payload: str, signature: str) -> bool:
    """Whether `signature` is ours for `payload` under `purpose` (compared in constant time)."""
    return hmac.compare_digest(sign(secret, purpose, payload).encode(), signature.encode("utf-8", "replace"))


def same(given: bytes, expected: bytes) -> bool:
    """Two secrets compared in constant time (a password hash, a bootstrap token)."""
    return hmac.compare_digest(given, expected)
