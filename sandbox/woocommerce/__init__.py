"""WooCommerce REST API v3 emulator: generated orders, WordPress paging headers, faults."""

from sandbox.woocommerce.app import WooCommerceSandbox, create_app
from sandbox.woocommerce.config import WooCommerceSandboxConfig

__all__ = ["WooCommerceSandbox", "WooCommerceSandboxConfig", "create_app"]
