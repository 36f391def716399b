"""Every setting, read from BIGLEDGER_* environment variables (documented in the README)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BIGLEDGER_", extra="ignore")

    home: Path = Field(
        Path(".bigledger"), description="Folder for local state (SQLite ledger, key file)."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the ledger; default SQLite at $BIGLEDGER_HOME/ledger.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    api_key: SecretStr | None = Field(None, description="Bearer key every API call must present.")
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key encrypting stored credentials; default a key file "
        "$BIGLEDGER_HOME/secret.key created on first use (mode 600).",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    prefect_port: int = Field(4200, description="Port of the Prefect server `make demo` starts.")
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8765
    shopify_api_version: str = "2025-01"
    http_timeout_seconds: float = 30.0
    max_retry_seconds: float = Field(
        300.0, description="How long a connector keeps retrying 429/5xx before giving up."
    )
    max_body_bytes: int = Field(1_048_576, description="Largest request body the API accepts.")
    allow_insecure_http: bool = Field(
        False,
        description="Allow http:// platform base URLs that are not loopback "
        "(loopback is always allowed), and http:// webhook subscriber endpoints.",
    )
    allow_private_webhook_endpoints: bool = Field(
        False,
        description="Let webhook subscriptions deliver to loopback, private and link-local "
        "addresses (tests and closed networks only: it opens server-side request forgery).",
    )
    public_url: str | None = Field(
        None, description="Base URL at which platforms reach this API (e.g. "
        "https://integrations.example.com). When set, setting up Shopify, WooCommerce or "
        "Stripe registers their webhooks at <public_url>/v1/webhooks/<platform>/<id>.")
    shared_rate_limits: bool = Field(
        False, description="Also take each platform request's cost from a Prefect global rate "
        "limit per platform account (created by `bigledger limits`), so every worker together "
        "stays within the platform's limit.")
    shopify_bulk_threshold: int = Field(
        10_000, description="A range or first sync of at least this many Shopify orders uses a "
        "bulk operation instead of paging.")
    inventory_wait_seconds: float = Field(
        30.0, description="How long update-inventory waits for its flow run before answering "
        "with the syncId to poll instead of the per-item results.")
    deployment_suffix: str = Field(
        "default", description="Name of the Prefect deployment of each flow (flow-name/suffix)."
    )

    def resolved_database_url(self) -> str:
        """The ledger URL, defaulting to a SQLite file under home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'ledger.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings (cached; tests clear the cache after changing the environment)."""
    return Settings()
