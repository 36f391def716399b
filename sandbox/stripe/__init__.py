"""Stripe API emulator: a generated balance history (charges, refunds, disputes, fees,
automatic payouts), Stripe's list rules, keys, rate limits, errors and faults."""

from sandbox.stripe.app import StripeSandbox, create_app
from sandbox.stripe.config import StripeSandboxConfig

__all__ = ["StripeSandbox", "StripeSandboxConfig", "create_app"]
