"""Legacy ERP emulator for custom connectors: the spec's /api/orders with an API key, plus
endpoints exercising every pagination style and auth kind a definition can describe."""

from sandbox.legacy_erp.app import LegacyErpSandbox, create_app
from sandbox.legacy_erp.config import LegacyErpSandboxConfig

__all__ = ["LegacyErpSandbox", "LegacyErpSandboxConfig", "create_app"]
