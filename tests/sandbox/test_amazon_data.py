"""The Amazon sandbox's generated data: deterministic, orders that add up, and settlement
reports consistent with the orders they pay out (rows by header, totals that tie out)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from sandbox.amazon.config import AmazonSandboxConfig
from sandbox.amazon.data import (
    MAX_REFUND_LAG,
    MAX_UPDATE_LAG,
    SETTLEMENT_COLUMNS,
    AmazonDataset,
)


def dataset(**config) -> AmazonDataset:
    config.setdefault("size", 1500)
    return AmazonDataset(AmazonSandboxConfig(**config))


def rows_of(data: AmazonDataset, k: int) -> list[dict[str, str]]:
    """Settlement k's file as dicts by header (the summary row first)."""
    lines = data.settlement_text(k).splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def test_same_seed_same_data_and_a_smaller_dataset_is_a_prefix():
    a, b = dataset(seed=4), dataset(seed=4)
    assert [a.order_json(a.order(i)) for i in range(50)] == [
        b.order_json(b.order(i)) for i in range(50)]  # fmt: skip
    assert a.settlement_text(1) == b.settlement_text(1)
    assert a.settlement_document(1, compress=True) == b.settlement_document(1, compress=True)
    small = dataset(seed=4, size=100)
    assert [small.items_json(small.order(i)) for i in range(100)] == [
        a.items_json(a.order(i)) for i in range(100)]  # fmt: skip
    other = dataset(seed=5)
    assert other.order_id(0) != a.order_id(0)
    assert dataset(seed=4, marketplace_id="A1PA6795UKMFR9").order_id(0) != a.order_id(0)


def test_order_ids_round_trip_and_statuses_are_mixed():
    data = dataset()
    ids = [data.order_id(i) for i in range(data.size)]
    assert len(set(ids)) == data.size
    assert all(data.index_of(order_id) == i for i, order_id in enumerate(ids[:300]))
    assert data.index_of("111-0000000-0000000") is None and data.index_of("garbage") is None
    statuses = Counter(data.header(i).status for i in range(data.size))
    assert set(statuses) == {"Shipped", "Unshipped", "Pending", "Canceled"}
    assert statuses["Shipped"] > 0.7 * data.size
    channels = Counter(data.header(i).channel for i in range(data.size))
    assert channels["AFN"] > channels["MFN"] > 0
    created = [data.created_ts(i) for i in range(data.size)]
    assert created == sorted(created) and len(set(created)) == data.size


def test_order_totals_add_up_from_their_items():
    data = dataset()
    for i in range(400):
        order = data.order(i)
        body = data.order_json(order)
        assert body["LastUpdateDate"] >= body["PurchaseDate"]
        h = order.header
        assert h.updated - h.created <= MAX_UPDATE_LAG
        if not order.has_total:
            assert "OrderTotal" not in body
            continue
        items = data.items_json(order)
        total = Decimal(0)
        for item in items:
            money = {k: Decimal(v["Amount"]) for k, v in item.items() if isinstance(v, dict)
                     and "Amount" in v}  # fmt: skip
            total += (money["ItemPrice"] + money["ItemTax"] + money["ShippingPrice"]
                      + money["ShippingTax"] - money["PromotionDiscount"]
                      - money["ShippingDiscount"])  # fmt: skip
        assert Decimal(body["OrderTotal"]["Amount"]) == total


@pytest.mark.parametrize("marketplace", ["ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1VC38T7YXB528"])
def test_settlements_are_consistent_with_the_orders(marketplace):
    data = dataset(marketplace_id=marketplace, seed=2, mismatch_settlements=(1,))
    count = data.settlement_count()
    assert count >= 3
    paid: Counter[str] = Counter()
    for k in range(count):
        rows = rows_of(data, k)
        summary, details = rows[0], rows[1:]
        assert list(summary) == list(SETTLEMENT_COLUMNS)
        assert summary["transaction-type"] == "" and summary["currency"] == data.currency
        reported = amount(summary["total-amount"])
        assert all(r["total-amount"] == "" and r["settlement-id"] == summary["settlement-id"]
                   for r in details)  # fmt: skip
        rows_total = sum(amount(r["amount"]) for r in details)
        off = Decimal(1).scaleb(-data.exponent) if k == 1 else 0
        assert reported == rows_total + off  # total-amount = sum of the rows (or a cent off)
        per_order: dict[str, Decimal] = {}
        for r in details:
            if r["transaction-type"] == "Order" and r["amount-type"] in ("ItemPrice", "Promotion"):
                per_order[r["order-id"]] = per_order.get(r["order-id"], 0) + amount(r["amount"])
        settlement = data.settlement(k)
        assert set(per_order) == settlement.order_ids
        for order_id, charged in per_order.items():
            order = data.order(data.index_of(order_id))
            assert order.header.status == "Shipped"
            start, end = data.period(k)
            assert start <= order.header.shipped < end
            # principal + tax + shipping + shipping tax − promotions = what the order charged
            assert charged == Decimal(data.order_json(order)["OrderTotal"]["Amount"])
            paid[order_id] += 1
    shipped = [data.order_id(i) for i in range(data.size) if data.header(i).status == "Shipped"]
    assert sorted(paid) == sorted(shipped) and set(paid.values()) == {1}  # each exactly once


def test_settlement_rows_follow_amazon_conventions():
    data = dataset(seed=7)
    kinds: Counter[tuple[str, str, str]] = Counter()
    for k in range(data.settlement_count()):
        for r in rows_of(data, k)[1:]:
            kinds[(r["transaction-type"], r["amount-type"], r["amount-description"])] += 1
            value = amount(r["amount"])
            key = (r["transaction-type"], r["amount-type"], r["amount-description"])
            if key[0] == "Order" and key[1] in ("ItemFees", "ItemWithheldTax", "Promotion"):
                assert value < 0, key
            if key == ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"):
                assert r["fulfillment-id"] == "AFN"
            if key[0] == "Refund":
                expected = {"Principal": -1, "Tax": -1, "Commission": 1, "RefundCommission": -1}
                sign = expected.get(key[2])
                if sign is not None and key[1] in ("ItemPrice", "ItemFees"):
                    assert value * sign > 0, key
    for needed in [("Order", "ItemPrice", "Principal"), ("Order", "ItemPrice", "Tax"),
                   ("Order", "ItemPrice", "Shipping"), ("Order", "Promotion", "Principal"),
                   ("Order", "ItemFees", "Commission"),
                   ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"),
                   ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"),
                   ("Refund", "ItemPrice", "Principal"), ("Refund", "ItemFees", "RefundCommission"),
                   ("other-transaction", "other-transaction", "Storage Fee"),
                   ("other-transaction", "other-transaction", "Subscription Fee"),
                   ("other-transaction", "other-transaction", "Current Reserve Amount"),
                   ("other-transaction", "other-transaction", "Previous Reserve Amount Balance")]:
        assert kinds[needed] > 0, needed


def test_reserves_are_held_then_released():
    data = dataset(seed=3)
    held = None
    for k in range(data.settlement_count()):
        rows = {r["amount-description"]: amount(r["amount"]) for r in rows_of(data, k)[1:]
                if "Reserve" in r["amount-description"]}  # fmt: skip
        assert rows["Current Reserve Amount"] < 0
        if held is None:
            assert "Previous Reserve Amount Balance" not in rows
        else:
            assert rows["Previous Reserve Amount Balance"] == -held
        held = rows["Current Reserve Amount"]


def test_local_formats_per_marketplace():
    de = rows_of(dataset(marketplace_id="A1PA6795UKMFR9", seed=2), 0)
    assert de[0]["currency"] == "EUR" and "," in de[0]["total-amount"]
    assert de[0]["settlement-start-date"] == "01.01.2024 00:00:00 UTC"
    assert all("," in r["amount"] and "." not in r["amount"] for r in de[1:])
    assert de[1]["posted-date"].count(".") == 2 and de[1]["marketplace-name"] == "Amazon.de"
    us = rows_of(dataset(seed=2), 0)
    assert us[0]["settlement-start-date"] == "2024-01-01 00:00:00 UTC"
    assert all("." in r["amount"] for r in us[1:]) and us[1]["posted-date"].count("/") == 2
    jp = rows_of(dataset(marketplace_id="A1VC38T7YXB528", seed=2), 0)
    assert jp[0]["currency"] == "JPY" and all(r["amount"].lstrip("-").isdigit() for r in jp[1:])
    # No withheld tax outside the US marketplace-facilitator regime.
    assert not any(r["amount-type"] == "ItemWithheldTax" for r in de + jp)


def test_settlement_periods_cover_every_event():
    data = dataset(size=200)
    last_event = data.created_ts(199) + MAX_UPDATE_LAG + MAX_REFUND_LAG
    start, end = data.period(data.settlement_count() - 1)
    assert start < last_event <= end
    assert dataset(size=0).settlement_count() == 0
