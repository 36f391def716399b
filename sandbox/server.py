"""One ASGI app serving every platform sandbox on loopback, and a uvicorn runner for it.

Each platform contributes routes with absolute paths that cannot collide with the others
(Shopify: /admin/api/..., control under /__sandbox/...; WooCommerce: /wp-json/...,
control under /__sandbox/woocommerce/...), so they are listed side by side.
"""

from __future__ import annotations

import argparse
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bigledger.money import ISO_4217
from sandbox.shopify import ShopifySandbox, ShopifySandboxConfig
from sandbox.woocommerce import WooCommerceSandbox, WooCommerceSandboxConfig


def create_sandbox_app(
    shopify: ShopifySandboxConfig | None = None,
    *,
    woocommerce: WooCommerceSandboxConfig | None = None,
    **shopify_overrides: Any,
) -> Starlette:
    """The composite sandbox app; `app.state.shopify` and `app.state.woocommerce` are the
    platform sandboxes' states."""
    config = shopify or ShopifySandboxConfig()
    if shopify_overrides:
        config = config.with_changes(**shopify_overrides)
    shopify_sandbox = ShopifySandbox(config)
    woo_sandbox = WooCommerceSandbox(woocommerce)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "platforms": ["shopify", "woocommerce"]})

    app = Starlette(
        routes=[
            Route("/__sandbox/health", health, methods=["GET"]),
            *shopify_sandbox.routes(),
            *woo_sandbox.routes(),
        ]
    )
    app.state.shopify = shopify_sandbox
    app.state.woocommerce = woo_sandbox
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
    app = create_sandbox_app(shopify, woocommerce=woocommerce)
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
