"""The spec's response envelope: {"success": true, "data": ...} or {"success": false, "error"}."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from fastapi.responses import JSONResponse

from bigledger.errors import ErrorCode


def ok(data: Any) -> dict[str, Any]:
    """A success envelope."""
    return {"success": True, "data": data}


def error_response(status: int, code: ErrorCode | str, message: str,
                   details: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error envelope with the spec's code."""
    return JSONResponse(
        status_code=status,
        content={"success": False,
                 "error": {"code": str(code), "message": message, "details": details}},
        headers=headers,
    )


class ExactNumber(str):
    """A decimal amount the answer shows as a JSON number with exactly its digits
    ("totalAmount": 125000.50), never through a float. It travels through FastAPI's
    encoder as a marked string and ExactJSONResponse unquotes it."""

    MARK = "\x00num:"

    def __new__(cls, value: Decimal | str) -> ExactNumber:
        text = format(Decimal(value), "f")
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"not a finite decimal: {value!r}")
        return super().__new__(cls, cls.MARK + text)


class ExactJSONResponse(JSONResponse):
    """JSONResponse that writes ExactNumber values as bare JSON numbers."""

    def render(self, content: Any) -> bytes:
        body = super().render(content)
        if b"\\u0000num:" not in body:
            return body
        return _MARKED.sub(rb"\1", body)


_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_MARKED = re.compile(rb'"\\u0000num:(-?\d+(?:\.\d+)?)"')
