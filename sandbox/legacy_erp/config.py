"""Settings of one legacy ERP sandbox: its generated data and the credentials it accepts."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from bigledger.money import normalize_currency
from sandbox.shopify.config import parse_start

DEFAULT_API_KEY = "erp_sandbox_key_0123456789abcdef"
DEFAULT_CLIENT_ID = "erp-client"
DEFAULT_CLIENT_SECRET = "erp_client_secret_0123456789"
DEFAULT_USERNAME = "erp-user"
DEFAULT_PASSWORD = "erp_password_0123456789"


@dataclass(frozen=True)
class LegacyErpSandboxConfig:
    """Everything that shapes one sandbox ERP. Record i depends only on (seed, i), so a
    smaller data set is a prefix of a larger one."""

    seed: int = 1
    size: int = 250  # orders
    customers: int = 120
    products: int = 75
    currency: str = "MYR"
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    interval_seconds: int = 3_600
    default_page_size: int = 50
    max_page_size: int = 200
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    # OAuth 2 client credentials for /oauth/token (Basic or form body).
    clients: tuple[tuple[str, str], ...] = ((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),)
    token_ttl_seconds: int = 3_600
    # HTTP Basic users of /api/basic/orders.
    users: tuple[tuple[str, str], ...] = ((DEFAULT_USERNAME, DEFAULT_PASSWORD),)
    # Query parameter carrying the key on /api/query/orders.
    query_key_param: str = "api_key"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_start(self.start))
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        object.__setattr__(self, "api_keys", tuple(str(k) for k in self.api_keys))
        object.__setattr__(self, "clients", tuple((str(a), str(b)) for a, b in self.clients))
        object.__setattr__(self, "users", tuple((str(a), str(b)) for a, b in self.users))
        for name in ("size", "customers", "products"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.customers < 1 or self.products < 1:
            raise ValueError("customers and products must be >= 1")
        if self.interval_seconds < 1:
            raise ValueError("interval_seconds must be >= 1")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ValueError("default_page_size must be between 1 and max_page_size")

    def with_changes(self, **changes: Any) -> LegacyErpSandboxConfig:
        """A copy with some fields replaced (validated like a new config)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return replace(self, **changes)
