"""`make demo`'s walk-through, run as it is against the e2e stack (API, worker, Prefect,
sandbox): every step must work, and the books must balance at the end; then the spec's two
client examples against the same stack."""

from __future__ import annotations

import re

import httpx
import pytest

from bigledger import demo
from tests.client.examples_check import check_the_spec_examples
from tests.conftest import TEST_API_KEY
from tests.e2e.test_http_path import stack  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def sqlite_only(ledger_url):
    """The demo's ledger is SQLite; once is enough on a shared 2-core machine."""
    if not ledger_url.startswith("sqlite"):
        pytest.skip("the demo runs on SQLite")


class _Processes:
    """What the walk-through checks between polls: the worker is alive."""

    def __init__(self, worker) -> None:
        self.worker = worker

    def check(self) -> None:
        assert self.worker.poll() is None, "the worker died"


def test_the_demo_walks_through_every_step(sqlite_only, stack, prefect_api,  # noqa: F811
                                           capsys, monkeypatch):
    sandbox = stack["sandbox"]
    r = httpx.post(f"{sandbox.url}/__sandbox/woocommerce/control",
                   json={"dataset": {"seed": 5, "size": 120}, "clear_faults": True})
    assert r.status_code == 200, r.text
    processes = _Processes(stack["worker"])
    demo._wait_deployments(prefect_api, processes)  # every deployment, not only the first

    demo._walkthrough(str(stack["api"].base_url).rstrip("/"), TEST_API_KEY, sandbox.url,
                      processes, "http://prefect.invalid")

    out = capsys.readouterr().out
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", out, re.MULTILINE)]
    # a step function prints one numbered step, or two (a sync run twice, or two syncs)
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > len(demo.STEPS), out
    for path in ("shopify/sync-orders", "shopify/sync-products", "shopify/sync-customers",
                 "shopify/update-inventory", "woocommerce/sync-orders",
                 "woocommerce/sync-products", "/v1/integrations/inventory-sync",
                 "amazon/sync-orders", "amazon/sync-fees", "stripe/sync-payments",
                 "paypal/sync-transactions", "quickbooks/export-coa",
                 "quickbooks/migrate-transactions", "xero/full-migration",
                 "custom/create-connector", "transform-data",
                 "/v1/ledger/trial-balance"):
        assert path in out, (path, out)
    assert "orders processed 300, created 0, updated 0, failed 0" in out, out  # the re-run
    assert "NO-SUCH-SKU    -> UNKNOWN_SKU" in out, out
    assert re.search(r"woocommerce completed: .*= 42", out), out
    assert "@amazon_warehouse_456 NO_CHANNEL" in out, out
    assert "INVALID_CREDENTIALS" in out and "MWS" in out, out
    assert re.search(r"settlements posted [1-9]\d*, flagged 1", out), out
    assert re.search(r"Stripe clearing once every payout is in: JPY 0, KWD 0\.000, USD 0\.00",
                     out), out
    assert "PayPal clearing once every withdrawal is in: USD 0.00" in out, out
    assert out.count("accounts match to the cent (matched)") == 2, out  # QuickBooks, Xero
    assert "nothing written" in out, out
    assert "orders processed 120, created 120" in out, out  # the custom connector's
    assert "2 rows transformed, 1 refused, 2 customers loaded" in out, out
    assert "-> 200 kept, 200 duplicate=True, forged -> 401 WEBHOOK_VERIFICATION_FAILED" in out, out
    assert "balanced: True" in out, out
    assert "BigLedger-Signature verified" in out, out  # the webhook order reached the subscriber
    assert "syncFrequency hourly" in out, out

    # Then, on the same stack (one worker start for both), the spec's two examples written
    # in Python with the client.
    check_the_spec_examples(stack, monkeypatch, capsys)
