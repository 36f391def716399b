"""Xero Accounting API 2.0 emulator: OAuth 2 with single-use refresh-token rotation, two
connected organisations, paged documents, Xero's journals and Trial Balance report, rate
limits with their headers, and switchable faults."""

from sandbox.xero.app import XeroSandbox, create_app
from sandbox.xero.config import XeroSandboxConfig

__all__ = ["XeroSandbox", "XeroSandboxConfig", "create_app"]
