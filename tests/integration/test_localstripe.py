"""Our Stripe connector and transform against localstripe, an independent fake Stripe.

localstripe (PyPI) is a stateful Stripe emulator written by others: objects created
through its API are read back through StripeConnector and mapped by the transform, so our
parsing is checked against a Stripe we did not write. It covers charges, refunds and
balance transactions (charge and refund only, fee 0, `exchange_rate` a JSON float) and
manual EUR payouts; it has no `/v1/account`, no `created`/`type`/`payout` filters on
balance transactions, no rate limits and accepts any `sk_...` key.

It runs as a subprocess on a free loopback port. Its server binds every interface and
pickles its store to /tmp/localstripe.pickle on every write, so the launcher below serves
its app on 127.0.0.1 only and turns the pickling off. Skipped when it is not installed.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest

from connectors.stripe import StripeConnector
from transforms.documents import PaymentAccounts
from transforms.stripe_payments import balance_transactions_to_payments

if importlib.util.find_spec("localstripe") is None:
    pytest.skip("localstripe is not installed (`uv pip install localstripe` to run these "
                "tests against an independent fake Stripe)", allow_module_level=True)

KEY = "sk_test_localstripe0000000000"
LAUNCHER = """
import sys
import localstripe.resources as resources
resources.Store.dump_to_disk = lambda self: None  # no /tmp/localstripe.pickle
from aiohttp import web
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory):
    """Base URL of a fresh localstripe on loopback; stopped after the module."""
    port = _free_port()
    log = tmp_path_factory.mktemp("localstripe") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=log.parent)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(f"{url}/v1/balance", auth=(KEY, ""), timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"localstripe did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _post(url: str, path: str, **form) -> dict:
    response = httpx.post(f"{url}{path}", data=form, auth=(KEY, ""), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def scenario(localstripe) -> dict:
    """Two card charges (USD with an order id, JPY), a partial refund and a manual payout."""
    card = _post(localstripe, "/v1/payment_methods", type="card",
                 **{"card[number]": "4242424242424242", "card[exp_month]": "12",
                    "card[exp_year]": "2030", "card[cvc]": "123"})  # fmt: skip
    usd = _post(localstripe, "/v1/charges", amount="2000", currency="usd",
                source=card["id"], **{"metadata[order_id]": "55"})  # fmt: skip
    jpy = _post(localstripe, "/v1/charges", amount="5000", currency="jpy", source=card["id"])
    refund = _post(localstripe, "/v1/refunds", charge=usd["id"], amount="500")
    payout = _post(localstripe, "/v1/payouts", amount="1000", currency="eur")
    return {"usd": usd, "jpy": jpy, "refund": refund, "payout": payout}


def connector(url: str) -> StripeConnector:
    return StripeConnector(KEY, base_url=url, budget_seconds=10.0)


def test_balance_transactions_read_back_page_by_page(localstripe, scenario):
    with connector(localstripe) as stripe:
        pages = list(stripe.iter_balance_transaction_pages(limit=1))
    records = [r for p in pages for r in p.records]
    expected = {scenario["usd"]["balance_transaction"], scenario["jpy"]["balance_transaction"],
                scenario["refund"]["balance_transaction"]}  # fmt: skip
    assert {r["id"] for r in records} == expected and len(records) == 3
    assert [p.has_next_page for p in pages] == [True, True, False]
    by_type = {(r["type"], r["currency"]): r for r in records}
    charge = by_type[("charge", "usd")]
    assert (charge["amount"], charge["fee"], charge["net"]) == (2000, 0, 2000)
    assert type(charge["amount"]) is int
    # localstripe writes exchange_rate as a JSON float: it must arrive as an exact Decimal.
    assert charge["exchange_rate"] == Decimal("1.0")
    assert isinstance(charge["exchange_rate"], Decimal)
    assert charge["source"]["id"] == scenario["usd"]["id"]  # expand[]=data.source honoured
    assert charge["source"]["metadata"] == {"order_id": "55"}
    refund = by_type[("refund", "usd")]
    assert (refund["amount"], refund["source"]["id"]) == (-500, scenario["refund"]["id"])


def test_transform_maps_what_localstripe_recorded(localstripe, scenario):
    with connector(localstripe) as stripe:
        records = [r for p in stripe.iter_balance_transaction_pages() for r in p.records]
    docs = {d.source_id: d for d in balance_transactions_to_payments(
        records, PaymentAccounts(clearing_account="acc_stripe"))}  # fmt: skip
    usd, jpy, refund = (docs[scenario[k]["id"]] for k in ("usd", "jpy", "refund"))
    assert (usd.kind, usd.currency, usd.amount_minor, usd.order_ref) == ("charge", "USD", 2000,
                                                                         "55")
    assert (jpy.currency, jpy.amount_minor, jpy.net_minor) == ("JPY", 5000, 5000)
    assert (refund.kind, refund.amount_minor) == ("refund", -500)
    for doc in docs.values():
        assert doc.journal.is_balanced()
        assert doc.journal.net_by_account()["acc_stripe"] == doc.net_minor


def test_manual_payouts_list(localstripe, scenario):
    with connector(localstripe) as stripe:
        payouts = [p for page in stripe.iter_payout_pages() for p in page.records]
    assert [p["id"] for p in payouts] == [scenario["payout"]["id"]]
    assert (payouts[0]["amount"], payouts[0]["currency"], payouts[0]["automatic"]) == (
        1000, "eur", False)  # fmt: skip
