"""prefect.yaml declares a deployment for every flow the API starts, and each one builds."""

from __future__ import annotations

import re
from pathlib import Path

from flows.serve import build_deployments, declared_deployments

ROOT = Path(__file__).resolve().parents[2]


def test_every_flow_the_api_starts_has_a_deployment_that_builds():
    started = set()
    for source in (ROOT / "api").rglob("*.py"):
        started |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', source.read_text()))
    built = {f"{d.flow_name}/{d.name}" for d in build_deployments()}
    assert len(built) == len(declared_deployments())
    api_flows = {name for name in started if f"{name}/default" in built}
    assert {"shopify-sync-orders", "shopify-sync-products", "shopify-sync-customers",
            "shopify-update-inventory", "woocommerce-sync-orders", "woocommerce-sync-catalog",
            "inventory-fan-out", "amazon-sync-orders", "amazon-sync-fees",
            "stripe-sync-payments", "paypal-sync-transactions", "quickbooks-export-coa",
            "quickbooks-migrate-customers", "quickbooks-migrate-transactions",
            "xero-full-migration", "custom-sync"} <= api_flows
