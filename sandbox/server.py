"""One ASGI app serving every platform sandbox on loopback, and a uvicorn runner for it.

Each platform contributes routes with absolute paths that cannot collide with the others
(Shopify: /admin/api/..., control under /__sandbox/...; WooCommerce: /wp-json/...,
control under /__sandbox/woocommerce/...), so they are listed side by side.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bigledger.money import ISO_4217
from sandbox.amazon import AmazonSandbox, AmazonSandboxConfig
from sandbox.legacy_erp import LegacyErpSandbox, LegacyErpSandboxConfig
from sandbox.paypal import PayPalSandbox, PayPalSandboxConfig
from sandbox.quickbooks import QuickBooksSandbox, QuickBooksSandboxConfig
from sandbox.shopify import ShopifySandbox, ShopifySandboxConfig
from sandbox.stripe import StripeSandbox, StripeSandboxConfig
from sandbox.woocommerce import WooCommerceSandbox, WooCommerceSandboxConfig
from sandbox.xero import XeroSandbox, XeroSandboxConfig


def create_sandbox_app(
    shopify: ShopifySandboxConfig | None = None,
    *,
    woocommerce: WooCommerceSandboxConfig | None = None,
    paypal: PayPalSandboxConfig | None = None,
    stripe: StripeSandboxConfig | None = None,
    amazon: AmazonSandboxConfig | None = None,
    quickbooks: QuickBooksSandboxConfig | None = None,
    xero: XeroSandboxConfig | None = None,
    legacy_erp: LegacyErpSandboxConfig | None = None,
    **shopify_overrides: Any,
) -> Starlette:
    """The composite sandbox app; `app.state.<platform>` is each platform sandbox's state."""
    config = shopify or ShopifySandboxConfig()
    if shopify_overrides:
        config = config.with_changes(**shopify_overrides)
    shopify_sandbox = ShopifySandbox(config)
    woo_sandbox = WooCommerceSandbox(woocommerce)
    platforms = {"shopify": shopify_sandbox, "woocommerce": woo_sandbox,
                 "paypal": PayPalSandbox(paypal), "stripe": StripeSandbox(stripe),
                 "amazon": AmazonSandbox(amazon), "quickbooks": QuickBooksSandbox(quickbooks),
                 "xero": XeroSandbox(xero), "legacy_erp": LegacyErpSandbox(legacy_erp)}

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "platforms": list(platforms)})

    app = Starlette(
        routes=[
            Route("/__sandbox/health", health, methods=["GET"]),
            *(route for sandbox in platforms.values() for route in sandbox.routes()),
        ]
    )
    for name, sandbox in platforms.items():
        setattr(app.state, name, sandbox)
    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    seed: int = 1,
    size: int = 10_000,
    currency: str = "MYR",
    no_throttle: bool = False,
    throttle: bool | None = None,
    log_level: str = "warning",
    **config: Any,
) -> None:
    """Run the sandbox with uvicorn until interrupted. `no_throttle=True` (or
    `throttle=False`) keeps the cost bucket full; extra keywords are ShopifySandboxConfig
    fields (start, interval_seconds, max_query_cost, access_tokens, ...)."""
    import uvicorn

    throttling = (not no_throttle) if throttle is None else throttle
    shopify = ShopifySandboxConfig(
        seed=seed, size=size, currency=currency, throttling=throttling, **config
    )
    # Shopify also trades in non-ISO codes (USDC) that a WooCommerce store cannot.
    woo_currency = currency.upper() if currency.upper() in ISO_4217 else "USD"
    woocommerce = WooCommerceSandboxConfig(seed=seed, size=size, currency=woo_currency)
    # Payment histories lie in the recent past (PayPal keeps three years and publishes with
    # a lag; Amazon keeps reports 90 days), with their refunds and payouts all done.
    def days_ago(days: int) -> datetime:
        return datetime.combine(date.today() - timedelta(days=days), time.min, UTC)

    paypal = PayPalSandboxConfig(seed=seed, size=min(size, 2_000), start=days_ago(100),
                                 days=60)
    # Stripe's history (charges, then refunds, disputes and payouts a few days later) ends
    # in the past too.
    stripe = StripeSandboxConfig(seed=seed, size=min(size, 2_000), days=60,
                                 start=days_ago(70))
    # Amazon's published limits allow one getOrders call a minute after a burst of 20; the
    # sandbox seller has a plan 50 times faster (stated in x-amzn-RateLimit-Limit) so a
    # demo's orders take seconds, still paced by the connector.
    amazon_orders = min(size, 2_000)
    amazon = AmazonSandboxConfig(seed=seed, size=amazon_orders, throttling=throttling,
                                 rate_multiplier=50, start=days_ago(85),
                                 interval_seconds=max(4, 60 * 86_400 // max(amazon_orders, 1)))
    quickbooks = QuickBooksSandboxConfig(seed=seed, size=min(size, 2_000))
    xero = XeroSandboxConfig(seed=seed, size=min(size, 2_000), throttling=throttling)
    legacy_erp = LegacyErpSandboxConfig(seed=seed, size=min(size, 2_000))
    app = create_sandbox_app(shopify, woocommerce=woocommerce, paypal=paypal, stripe=stripe,
                             amazon=amazon, quickbooks=quickbooks, xero=xero,
                             legacy_erp=legacy_erp)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def main(argv: list[str] | None = None) -> None:
    """`python -m sandbox.server --port 8765 --size 100000 --no-throttle`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--currency", default="MYR")
    parser.add_argument("--no-throttle", action="store_true")
    parser.add_argument("--max-cost", type=int, default=1000, help="0 lifts the limit")
    args = parser.parse_args(argv)
    serve(
        args.host,
        args.port,
        seed=args.seed,
        size=args.size,
        currency=args.currency,
        no_throttle=args.no_throttle,
        max_query_cost=args.max_cost or None,
    )


if __name__ == "__main__":
    main()
