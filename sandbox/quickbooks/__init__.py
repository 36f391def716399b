"""QuickBooks Online Accounting API emulator: a generated company whose Trial Balance agrees
with its transactions, rotating OAuth 2 tokens, the query language, CDC, throttling."""

from sandbox.quickbooks.app import QuickBooksSandbox, create_app
from sandbox.quickbooks.config import QuickBooksSandboxConfig

__all__ = ["QuickBooksSandbox", "QuickBooksSandboxConfig", "create_app"]
