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
    "amazon": ("sellerId", "marketplaceId", "clientId", "clientSecret", "refreshToken"),
    "stripe": ("secretKey",),
    "paypal": ("clientId", "clientSecret"),
    "quickbooks": ("realmId", "clientId", "clientSecret", "refreshToken"),
    "xero": ("clientId", "clientSecret", "refreshToken"),
}
# Platforms whose refresh tokens rotate: the newest must be stored the moment it arrives.
ROTATING_TOKENS = {"quickbooks", "xero"}
# Fields a platform used to need and no longer accepts; never stored.
RETIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "amazon": ("mwsAccessKey", "mwsSecretKey", "mwsAuthToken"),
}


def check_credentials(platform: str, credentials: dict[str, Any]) -> None:
    """Raise InvalidCredentials naming every missing or empty field."""
    if platform == "custom":
        return  # a custom connector's definition names its fields; the connector checks them
    if platform not in REQUIRED_CREDENTIALS:
        raise InvalidCredentials(f"platform {platform!r} has no connector yet")
    if platform == "amazon":
        from connectors.amazon import check_amazon_credentials

        check_amazon_credentials(credentials)  # names SP-API's fields when MWS keys come
    missing = [f for f in REQUIRED_CREDENTIALS[platform]
               if not isinstance(credentials.get(f), str) or not credentials[f].strip()]
    if missing:
        raise InvalidCredentials(
            f"{platform} credentials need {', '.join(missing)}", details={"missing": missing}
        )


def storable_credentials(platform: str, credentials: dict[str, Any]) -> dict[str, Any]:
    """The credentials without retired fields (old MWS keys are not kept)."""
    retired = RETIRED_CREDENTIALS.get(platform, ())
    return {k: v for k, v in credentials.items() if k not in retired}


def merge_tokens(credentials: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
    """The credentials with a token response's rotated refresh token and current access
    token (and its expiry, epoch seconds) folded in."""
    merged = dict(credentials)
    if tokens.get("refresh_token"):
        merged["refreshToken"] = tokens["refresh_token"]
    if tokens.get("access_token"):
        merged["accessToken"] = tokens["access_token"]
        merged["accessTokenExpiresAt"] = tokens.get("expires_at")
    return merged


def build_connector(platform: str, credentials: dict[str, Any], settings: dict[str, Any],
                    on_tokens: Any = None):
    """A connector instance for the platform; `settings.baseUrl` points it at a sandbox.
    `on_tokens(tokens)` receives every token response of a platform whose refresh tokens
    rotate, synchronously, before the new token is used (the caller stores it)."""
    check_credentials(platform, credentials)
    if platform == "custom":
        from connectors.custom import CustomConnector, load_definition

        # settings: the connector's definition (the version the integration was set up
        # with) and baseUrl
        return CustomConnector(load_definition(settings["definition"]), credentials,
                               base_url=settings.get("baseUrl"))
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
    if platform == "amazon":
        from connectors.amazon import AmazonConnector

        # settings: baseUrl (a sandbox), tokenUrl, region for marketplaces not in the table
        return AmazonConnector.from_credentials(credentials, settings)
    if platform == "quickbooks":
        from connectors.quickbooks import SANDBOX_BASE_URL as QBO_SANDBOX
        from connectors.quickbooks import QuickBooksConnector

        base = settings.get("baseUrl") or (
            QBO_SANDBOX if settings.get("environment") == "sandbox" else None)
        return QuickBooksConnector(
            credentials["realmId"].strip(), credentials["clientId"].strip(),
            credentials["clientSecret"].strip(), credentials["refreshToken"].strip(),
            access_token=credentials.get("accessToken"),
            access_token_expires_at=credentials.get("accessTokenExpiresAt"),
            base_url=base, token_url=settings.get("tokenUrl"), on_tokens=on_tokens)
    if platform == "xero":
        from connectors.xero import XeroConnector

        return XeroConnector(
            credentials["clientId"].strip(), credentials["clientSecret"].strip(),
            credentials["refreshToken"].strip(), tenant_id=settings.get("tenantId"),
            access_token=credentials.get("accessToken"),
            access_token_expires_at=credentials.get("accessTokenExpiresAt"),
            base_url=settings.get("baseUrl"), identity_url=settings.get("identityUrl"),
            on_tokens=on_tokens)
    if platform == "stripe":
        from connectors.stripe import StripeConnector

        return StripeConnector(credentials["secretKey"].strip(),
                               base_url=settings.get("baseUrl"),
                               api_version=settings.get("apiVersion"),
                               stripe_account=settings.get("stripeAccount"))
    if platform == "paypal":
        from connectors.paypal import SANDBOX_BASE_URL, PayPalConnector

        # settings.environment "sandbox" is PayPal's own sandbox; baseUrl any emulator.
        base = settings.get("baseUrl") or (
            SANDBOX_BASE_URL if settings.get("environment") == "sandbox" else None)
        return PayPalConnector(client_id=credentials["clientId"].strip(),
                               client_secret=credentials["clientSecret"].strip(),
                               base_url=base)
    raise InvalidCredentials(f"platform {platform!r} has no connector yet")


def check_connection(connector: Any) -> dict[str, Any]:
    """One cheap authenticated call proving the credentials work (AuthFailed otherwise);
    returns what the platform says about the account."""
    if connector.platform == "shopify":
        return connector.shop_info()
    return connector.check_connection()
