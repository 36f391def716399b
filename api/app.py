"""The FastAPI application: routes, bearer auth, the spec's envelope for every error."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import require_api_key
from api.envelope import ExactJSONResponse, error_response
from api.routes import (
    amazon,
    custom,
    inbound,
    integrations,
    inventory,
    ledger,
    monitoring,
    payments,
    quickbooks,
    recovery,
    schedules,
    shopify,
    transform,
    webhooks,
    woocommerce,
    xero,
)
from bigledger.errors import ErrorCode, IntegrationError
from bigledger.settings import get_settings
from ledger.migrate import ensure_schema

log = logging.getLogger("bigledger.api")


class BodySizeLimit:
    """Refuse bodies above the limit with 413 before reading them whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, ErrorCode.PAYLOAD_TOO_LARGE,
                                  f"request body larger than {self.max_bytes} bytes")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # pydantic echoes the offending input; for a credentials field that would be a secret,
    # so only the location, message and type are returned.
    return [{"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
             "message": err.get("msg"), "type": err.get("type")} for err in exc.errors()]


def create_server_app() -> FastAPI:
    """The app as `bigledger api` serves it: one per process, for the process's lifetime."""
    return create_app(freeze_gc=True)


def create_app(freeze_gc: bool = False) -> FastAPI:
    """Build the API app (schema upgraded on start).

    With freeze_gc, what is alive once started (imports included) is moved out of the
    garbage collector's sight: a full collection otherwise walks Prefect's and pydantic's
    millions of long-lived objects, a ~150 ms pause in the middle of a webhook burst. Only
    for a serving process: frozen objects are never freed (tests build many apps)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        ensure_schema()
        if freeze_gc:
            import prefect.deployments  # noqa: F401 - imported before the freeze

            gc.freeze()
        yield

    app = FastAPI(
        title="BigLedger Integrations API",
        version="0.1.0",
        description="Integrations of the BigLedger ledger: setup, syncs as Prefect flow runs, "
        "status, and read-only ledger views. Authenticate with `Authorization: Bearer <key>`.",
        lifespan=lifespan,
        default_response_class=ExactJSONResponse,
    )
    # Platforms sign their deliveries; they cannot send our API key. First in the route
    # table: a burst of deliveries should not be matched against every other route first.
    app.include_router(inbound.router)
    protected = [Depends(require_api_key)]
    for router in (inventory.router, custom.router, monitoring.router, integrations.router,
                   shopify.router,
                   woocommerce.router, amazon.router, payments.stripe_router,
                   payments.paypal_router, quickbooks.router, xero.router, transform.router,
                   webhooks.router, schedules.router, recovery.router,
                   ledger.router):
        app.include_router(router, dependencies=protected)

    @app.exception_handler(IntegrationError)
    async def integration_error(_request: Request, exc: IntegrationError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # a platform's 429 passed on: say when to come back
            headers["Retry-After"] = str(max(1, round(retry_after)))
        return error_response(exc.http_status, exc.code, exc.message, exc.details,
                              headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(400, ErrorCode.VALIDATION_ERROR,
                                  "request body is not valid JSON", details)
        return error_response(422, ErrorCode.VALIDATION_ERROR, "request validation failed",
                              details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        code = ErrorCode.NOT_FOUND if exc.status_code in (404, 405) else ErrorCode.VALIDATION_ERROR
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return error_response(500, ErrorCode.INTERNAL_ERROR,
                              f"internal error ({type(exc).__name__})")

    app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_body_bytes)
    return app
