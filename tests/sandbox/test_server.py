"""The composite sandbox app and its uvicorn runner (uvicorn itself is not started)."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from sandbox import server


@pytest.fixture
def captured(monkeypatch) -> dict[str, Any]:
    calls: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls["app"], calls["kwargs"] = app, kwargs

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_takes_the_cli_flags(captured):
    server.serve("127.0.0.1", 9999, seed=3, size=42, currency="jpy", no_throttle=True)
    config = captured["app"].state.shopify.config
    assert (config.seed, config.size, config.currency, config.throttling) == (3, 42, "JPY", False)
    assert captured["kwargs"]["port"] == 9999


def test_serve_accepts_throttle_and_config_fields(captured):
    server.serve(port=9998, throttle=False, max_query_cost=None, interval_seconds=60)
    config = captured["app"].state.shopify.config
    assert config.throttling is False
    assert config.max_query_cost is None and config.interval_seconds == 60
    server.serve(port=9998)
    assert captured["app"].state.shopify.config.throttling is True


def test_module_entry_point(captured):
    server.main(["--port", "9997", "--size", "10", "--no-throttle", "--max-cost", "0"])
    config = captured["app"].state.shopify.config
    assert config.size == 10 and config.throttling is False and config.max_query_cost is None


def test_unknown_config_is_refused():
    with pytest.raises(TypeError):
        server.serve(port=1, colour="blue")
