"""Amazon Selling Partner API emulator: LWA tokens, Orders v0, Reports 2021-06-30 with
settlement reports that tie out to the orders, token-bucket rate limits and faults."""

from sandbox.amazon.app import AmazonSandbox, create_app
from sandbox.amazon.config import AmazonSandboxConfig

__all__ = ["AmazonSandbox", "AmazonSandboxConfig", "create_app"]
