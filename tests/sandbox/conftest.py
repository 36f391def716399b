"""Shared helpers for the Shopify sandbox tests: an in-process client and a GraphQL call."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.shopify import ShopifySandbox, ShopifySandboxConfig, create_app

with warnings.catch_warnings():
    # Starlette nudges towards httpx2 on import; the httpx-based client is what we have.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "shpat_sandbox_token"
GRAPHQL_PATH = "/admin/api/2025-01/graphql.json"
CONTROL_PATH = "/__sandbox/control"
STATS_PATH = "/__sandbox/stats"


class FakeClock:
    """A settable clock for `clock` (wall time) and `monotonic` (bucket refill)."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Shop:
    """A sandbox app with a client and shortcuts for GraphQL and control calls."""

    def __init__(self, **config: Any) -> None:
        self.app = create_app(ShopifySandboxConfig(**config))
        self.sandbox: ShopifySandbox = self.app.state.sandbox
        self.client = TestClient(self.app)

    def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {"X-Shopify-Access-Token": TOKEN})
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.client.post(GRAPHQL_PATH, json=body, headers=headers, **kwargs)

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.gql(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def control(self, **spec: Any) -> dict[str, Any]:
        response = self.client.post(CONTROL_PATH, json=spec)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self.client.get(STATS_PATH).json()


@pytest.fixture
def make_shop() -> Callable[..., Shop]:
    """Factory: make_shop(size=..., currency=...) -> Shop (unthrottled, no cost cap)."""

    def factory(**config: Any) -> Shop:
        config.setdefault("throttling", False)
        config.setdefault("max_query_cost", None)
        return Shop(**config)

    return factory
