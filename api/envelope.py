"""The spec's response envelope: {"success": true, "data": ...} or {"success": false, "error"}."""

from __future__ import annotations

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
