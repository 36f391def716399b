"""PayPal REST emulator: OAuth client credentials, Transaction Search and balances over a
generated account history, with PayPal's limits (31-day range, 10,000 results, 3-hour lag)
and switchable faults."""

from sandbox.paypal.app import PayPalSandbox, create_app
from sandbox.paypal.config import PayPalSandboxConfig

__all__ = ["PayPalSandbox", "PayPalSandboxConfig", "create_app"]
