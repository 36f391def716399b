"""Locate a value inside a parsed JSON body by key path ("data[-1].id") or JSONPath ("$..id").

Paginators and rate-limit policies are configured with these strings, so a connector for a
new platform is a matter of naming where its cursor, totals or cost live.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")

_MISSING = object()


@lru_cache(maxsize=256)
def _compile_key_path(path: str) -> tuple[str | int, ...]:
    steps: list[str | int] = []
    for key, index in _SEGMENT.findall(path):
        steps.append(int(index) if index else key)
    return tuple(steps)


@lru_cache(maxsize=64)
def _compile_jsonpath(path: str) -> Any:
    # Imported lazily: most paths are plain key paths and need no parser.
    from jsonpath_ng.ext import parse

    return parse(path)


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """Value at `path` in `data`, or `default` when any step is missing.

    Key paths use dots and `[n]` (negative n counts from the end); a path starting with `$`
    is JSONPath (first match wins).
    """
    if not path:
        return data
    if path.startswith("$"):
        matches = _compile_jsonpath(path).find(data)
        return matches[0].value if matches else default
    current: Any = data
    for step in _compile_key_path(path):
        current = _step(current, step)
        if current is _MISSING:
            return default
    return current


def _step(current: Any, step: str | int) -> Any:
    if isinstance(step, int):
        if isinstance(current, list) and -len(current) <= step < len(current):
            return current[step]
        return _MISSING
    if isinstance(current, Mapping):
        return current.get(step, _MISSING)
    # A numeric segment written with dots ("data.0.id") also indexes a list.
    if isinstance(current, list) and re.fullmatch(r"-?\d+", step):
        return _step(current, int(step))
    return _MISSING
