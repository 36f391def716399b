"""Build a platform connector from an integration's credentials and settings.

Knows nothing of the ledger: callers pass plain dicts (decrypted credentials, settings).
"""

from __future__ import annotations

from typing import Any

from bigledger.errors import InvalidCredentials

# platform -> credential fields it needs
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "shopify": ("shopDomain", "accessToken"),
    "woocommerce": ("siteUrl", "consumerKey", "consumerSecret"),
}


def check_credentials(platform: str, credentials: dict[str, Any]) -> None:
    """Raise InvalidCredentials naming every missing or empty field."""
    if platform not in REQUIRED_CREDENTIALS:
        raise InvalidCredentials(f"platform {platform!r} has no connector yet")
    missing = [f for f in REQUIRED_CREDENTIALS[platform]
               if not isinstance(credentials.get(f), str) or not credentials[f].strip()]
    if missing:
        raise InvalidCredentials(
            f"{platform} credentials need {', '.join(missing)}", details={"missing": missing}
        )


def build_connector(platform: str, credentials: dict[str, Any], settings: dict[str, Any]):
    """A connector instance for the platform; `settings.baseUrl` points it at a sandbox."""
    check_credentials(platform, credentials)
    if platform == "shopify":
        from connectors.shopify import ShopifyConnector

        return ShopifyConnector(
            shop_domain=credentials["shopDomain"].strip(),
            access_token=credentials["accessToken"].strip(),
            base_url=settings.get("baseUrl"),
            **({"api_version": settings["apiVersion"]} if settings.get("apiVersion") else {}),
        )
    if platform == "woocommerce":
        from connectors.woocommerce import WooCommerceConnector

        return WooCommerceConnector(
            site_url=credentials["siteUrl"].strip(),
            consumer_key=credentials["consumerKey"].strip(),
            consumer_secret=credentials["consumerSecret"].strip(),
            base_url=settings.get("baseUrl"),
        )
    raise InvalidCredentials(f"platform {platform!r} has no connector yet")


def check_connection(connector: Any) -> dict[str, Any]:
    """One cheap authenticated call proving the credentials work (AuthFailed otherwise);
    returns what the platform says about the account."""
    if connector.platform == "shopify":
        return connector.shop_info()
    return connector.check_connection()
