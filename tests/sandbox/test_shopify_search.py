"""Shopify search syntax: parsing and time intervals."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from sandbox.shopify.config import ShopifySandboxConfig
from sandbox.shopify.search import And, Not, Or, Term, parse, time_interval
from sandbox.shopify.store import OrderStore


def test_terms_are_anded_and_or_binds_looser():
    assert parse("a:1 b:2 OR c:3") == Or(
        (And((Term("a", ":", "1"), Term("b", ":", "2"))), Term("c", ":", "3"))
    )
    assert parse("a:1 AND (b:2 OR c:3)") == And(
        (Term("a", ":", "1"), Or((Term("b", ":", "2"), Term("c", ":", "3"))))
    )


def test_operators_quotes_and_negation():
    assert parse("created_at:>='2024-01-01T00:00:00Z'") == Term(
        "created_at", ">=", "2024-01-01T00:00:00Z"
    )
    assert parse('updated_at:<"2024-02-01 10:00:00"') == Term(
        "updated_at", "<", "2024-02-01 10:00:00"
    )
    assert parse("-financial_status:paid") == Not(Term("financial_status", ":", "paid"))
    assert parse("NOT tag:vip") == Not(Term("tag", ":", "vip"))
    assert parse("-(a:1 OR b:2)") == Not(Or((Term("a", ":", "1"), Term("b", ":", "2"))))
    assert parse("'quoted:colon'") == Term(None, ":", "quoted:colon")
    assert parse("Financial_Status:PAID") == Term("financial_status", ":", "PAID")


def test_sloppy_input_is_tolerated():
    assert parse("") is None and parse("   ") is None
    assert parse("(a:1") == Term("a", ":", "1")
    assert parse("a:1)") == Term("a", ":", "1")
    assert parse("a:1 OR") == Term("a", ":", "1")


def test_time_intervals():
    kl = ZoneInfo("Asia/Kuala_Lumpur")
    day_start = 1704038400 * 1_000_000  # 2024-01-01T00:00+08:00
    day_end = day_start + 86_400 * 1_000_000
    assert time_interval(">=", "2024-01-01", kl) == (day_start, None)
    assert time_interval("<=", "2024-01-01", kl) == (None, day_end)
    assert time_interval(">", "2024-01-01", kl) == (day_end, None)
    assert time_interval(":", "2024-01-01", kl) == (day_start, day_end)
    assert time_interval(">", "2024-01-01T00:00:00Z", UTC) == (1704067200 * 1_000_000 + 1, None)
    assert time_interval(">=", "2024-01-01T08:00:00+08:00", UTC) == (1704067200 * 1_000_000, None)
    assert time_interval(">=", "yesterday", UTC) is None


def test_time_ranges_map_to_index_ranges():
    store = OrderStore(ShopifySandboxConfig(size=5000, interval_seconds=7))
    dataset = store.dataset
    for i in (0, 1, 17, 2500, 4998, 4999):
        ts = dataset.created_ts(i) * 1_000_000
        assert dataset.first_index_at_or_after(dataset.created_ts, ts) == i
        assert dataset.first_index_at_or_after(dataset.created_ts, ts + 1) == i + 1
    assert store.time_index_range("updated", None, None) == (0, 5000)
    assert store.time_index_range("created", 0, 1) == (0, 0)
    assert store.time_index_range("created", 10**18, None) == (5000, 5000)
