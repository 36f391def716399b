"""Identifiers: deterministic ones for imported rows, random ones for things users create.

A row imported from a platform gets an id derived from (integration, object type, external
id), so a re-run or a crashed-and-resumed batch computes the same ids and cannot duplicate.
"""

from __future__ import annotations

import hashlib
import secrets


def stable_id(prefix: str, *parts: object) -> str:
    """Deterministic id such as 'so_3f2a...' from the natural key of an imported row."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=12)
    return f"{prefix}_{digest.hexdigest()}"


def new_id(prefix: str) -> str:
    """A fresh random id such as 'sync_8c1f0a2b4d6e' for things users create."""
    return f"{prefix}_{secrets.token_hex(6)}"
