"""Shopify Admin GraphQL API emulator: generated orders, query cost, throttling, faults."""

from sandbox.shopify.app import ShopifySandbox, create_app
from sandbox.shopify.config import ShopifySandboxConfig

__all__ = ["ShopifySandbox", "ShopifySandboxConfig", "create_app"]
