"""Bearer API-key authentication for every /v1 route."""

from __future__ import annotations

import hmac

from fastapi import Request

from bigledger.errors import IntegrationError
from bigledger.settings import get_settings


class Unauthorized(IntegrationError):
    code = "UNAUTHORIZED"  # type: ignore[assignment]
    http_status = 401


def require_api_key(request: Request) -> None:
    """FastAPI dependency: the Authorization header must carry `Bearer <BIGLEDGER_API_KEY>`."""
    expected = get_settings().api_key
    if expected is None:
        raise Unauthorized("the server has no API key configured (set BIGLEDGER_API_KEY)")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <API key>'")
    if not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
        raise Unauthorized("invalid API key")
