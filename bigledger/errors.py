"""The spec's error codes and the exception hierarchy every layer raises.

Each error knows its code, whether retrying can help, and the HTTP status the API answers
with. Connectors, flows and the API all speak these, so a platform 401 surfaces to the
user as AUTH_FAILED no matter where it happened.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    AUTH_FAILED = "AUTH_FAILED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    WEBHOOK_VERIFICATION_FAILED = "WEBHOOK_VERIFICATION_FAILED"
    DATA_MAPPING_ERROR = "DATA_MAPPING_ERROR"
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    # Codes the spec's table does not list but every API needs.
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHORIZED = "UNAUTHORIZED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    PLATFORM_UNAVAILABLE = "PLATFORM_UNAVAILABLE"
    PLATFORM_ERROR = "PLATFORM_ERROR"
    UNBALANCED_ENTRY = "UNBALANCED_ENTRY"
    ORCHESTRATOR_UNAVAILABLE = "ORCHESTRATOR_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class IntegrationError(Exception):
    """Base of every error we raise on purpose."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    retryable: bool = False
    http_status: int = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        # The code leads, so a Prefect state message or a log line names it.
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The spec's error object: code, message, details."""
        return {"code": str(self.code), "message": self.message, "details": self.details}


class AuthFailed(IntegrationError):
    """The platform refused our token (401/403)."""

    code = ErrorCode.AUTH_FAILED
    http_status = 401


class InvalidCredentials(IntegrationError):
    """Credentials missing, malformed, or of the wrong kind for the platform."""

    code = ErrorCode.INVALID_CREDENTIALS
    http_status = 400


class RateLimitExceeded(IntegrationError):
    """The platform throttled us and our patience (retry budget) ran out."""

    code = ErrorCode.RATE_LIMIT_EXCEEDED
    retryable = True
    http_status = 429

    def __init__(self, message: str, *, retry_after: float | None = None, details: Any = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class PlatformUnavailable(IntegrationError):
    """5xx, timeouts, connection errors: transient on the platform's side."""

    code = ErrorCode.PLATFORM_UNAVAILABLE
    retryable = True
    http_status = 502


class PlatformError(IntegrationError):
    """The platform answered, but with something we cannot use (4xx, garbage, GraphQL errors)."""

    code = ErrorCode.PLATFORM_ERROR
    http_status = 502


class DataMappingError(IntegrationError):
    """A platform record cannot be mapped to ledger documents."""

    code = ErrorCode.DATA_MAPPING_ERROR
    http_status = 422


class DuplicateRecord(IntegrationError):
    code = ErrorCode.DUPLICATE_RECORD
    http_status = 409


class ValidationFailed(IntegrationError):
    code = ErrorCode.VALIDATION_ERROR
    http_status = 422


class NotFound(IntegrationError):
    code = ErrorCode.NOT_FOUND
    http_status = 404


class UnbalancedEntry(IntegrationError):
    """The posting engine refused a journal entry whose debits and credits differ."""

    code = ErrorCode.UNBALANCED_ENTRY
    http_status = 422


class OrchestratorUnavailable(IntegrationError):
    """Prefect could not be reached to start a run."""

    code = ErrorCode.ORCHESTRATOR_UNAVAILABLE
    retryable = True
    http_status = 503


class WebhookVerificationFailed(IntegrationError):
    """A webhook delivery whose signature is missing, malformed, wrong or stale."""

    code = ErrorCode.WEBHOOK_VERIFICATION_FAILED
    http_status = 401
