"""Several workers loading the same records at once: no duplicate rows, no lost or doubled
adjustments, books balanced.

Each loader runs as the load tasks do under Prefect: the batch in one transaction, and a
failed transaction retried when `tasks.retry.retry_if_transient` says so (it does for the
IntegrityError a concurrent loader causes). The first loader holds its transaction open
until the second one has started and is blocked or refused, so the two truly overlap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prefect.states import Failed
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ledger.catalog import load_product_batch
from ledger.models import (
    ExternalRef,
    JournalEntry,
    Payment,
    Product,
    ProductVariant,
    SalesOrder,
    SalesOrderLine,
)
from ledger.orders import load_order_batch
from ledger.payments import load_payment_batch
from ledger.reports import trial_balance
from tasks.retry import retry_if_transient
from tests.ledger.helpers import docs, make_integration, order_with_id
from tests.ledger.test_catalog_loader import product, variant
from tests.ledger.test_payments_loader import charge, payout

SOURCE = "shopify.order"
HOLD_SECONDS = 0.6  # how long the first loader keeps its transaction open after loading


@dataclass
class Outcome:
    result: Any = None
    refused: list[BaseException] = field(default_factory=list)  # attempts retried
    error: BaseException | None = None
    started: float = 0.0  # when the first attempt began
    committed: float = 0.0  # when the successful attempt committed


def load_retrying(engine, load: Callable[[Any], Any], outcome: Outcome, *,
                  before_commit: Callable[[], None] = lambda: None, attempts: int = 4) -> None:
    """One load task: its batch in one transaction, retried as Prefect would retry it."""
    outcome.started = time.monotonic()
    try:
        for _ in range(attempts):
            try:
                with engine.begin() as conn:
                    result = load(conn)
                    before_commit()
                outcome.result, outcome.committed = result, time.monotonic()
                return
            except (IntegrityError, OperationalError) as exc:
                if not retry_if_transient(None, None, Failed(data=exc)):
                    raise
                outcome.refused.append(exc)
                time.sleep(0.05)
        raise RuntimeError(f"still refused after {attempts} attempts") from outcome.refused[-1]
    except BaseException as exc:  # noqa: BLE001 - reported to the test thread
        outcome.error = exc


def race(engine, first_load, second_load) -> tuple[Outcome, Outcome]:
    """Run two loaders so the second starts while the first's transaction is still open."""
    loaded = threading.Event()
    first, second = Outcome(), Outcome()

    def hold() -> None:
        loaded.set()
        time.sleep(HOLD_SECONDS)  # the second loader starts, and blocks or is refused

    def second_after_first() -> None:
        loaded.wait(10)
        load_retrying(engine, second_load, second)

    threads = [threading.Thread(target=load_retrying, args=(engine, first_load, first),
                                kwargs={"before_commit": hold}),
               threading.Thread(target=second_after_first)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a loader hung"
    for outcome in (first, second):
        if outcome.error is not None:
            raise outcome.error
    # They overlapped: the second began before the first had committed.
    assert second.started < first.committed
    return first, second


def collided(engine, outcome: Outcome) -> bool:
    """PostgreSQL blocks the second writer on the first one's unique keys and then refuses
    it, which the retry turns into a no-op; SQLite's single writer may instead queue it
    until the first commits (its reads then already see the first load)."""
    return bool(outcome.refused) or engine.dialect.name == "sqlite"


def count(conn, model, *where) -> int:
    return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def balanced(engine) -> bool:
    with engine.connect() as conn:
        return trial_balance(conn)["balanced"]


def positions(engine, integration_id: str) -> dict[tuple[str, str], int]:
    """Net debit per account and currency of one integration's journals."""
    with engine.connect() as conn:
        tb = trial_balance(conn, integration_id=integration_id)
    return {(row["account_id"], row["currency"]): row["balance_minor"] for row in tb["accounts"]}


def test_the_same_order_batch_loaded_by_two_workers_at_once(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
    batch = docs(*(order_with_id(n) for n in range(1, 6)))

    first, second = race(ledger_engine,
                         lambda conn: load_order_batch(conn, iid, SOURCE, batch),
                         lambda conn: load_order_batch(conn, iid, SOURCE, batch))

    assert first.result.created == 5
    # The second worker was refused by the unique keys, retried, and found nothing to do.
    assert collided(ledger_engine, second), "the second loader never collided with the first"
    assert (second.result.created, second.result.entries_posted) == (0, 0)
    with ledger_engine.connect() as conn:
        assert count(conn, SalesOrder) == 5
        assert count(conn, ExternalRef, ExternalRef.object_type == "order") == 5
        assert count(conn, JournalEntry) == 5
        assert count(conn, SalesOrderLine) == 5 * len(batch[0].sales_order.lines)
    assert balanced(ledger_engine)


REFUND_AT = "2024-02-03T09:00:00Z"


def refunded(n: int, amount: str, at: str = REFUND_AT) -> dict[str, Any]:
    money = {"shopMoney": {"amount": amount, "currencyCode": "MYR"}}
    return order_with_id(n, displayFinancialStatus="PARTIALLY_REFUNDED", updatedAt=at,
                         totalRefundedSet=money,
                         refunds=[{"id": f"gid://shopify/Refund/{n}", "createdAt": at,
                                   "note": None, "totalRefundedSet": money}])


def test_the_same_change_loaded_twice_at_once_posts_one_adjustment(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, SOURCE, docs(order_with_id(7)))
    change = docs(refunded(7, "20.00"))

    first, second = race(ledger_engine,
                         lambda conn: load_order_batch(conn, iid, SOURCE, change),
                         lambda conn: load_order_batch(conn, iid, SOURCE, change))

    assert first.result.updated == 1 and first.result.entries_posted == 1
    # The second either waited for the first's row locks and then saw its adjustment, or
    # was refused by the entry's unique sequence and retried: never a second adjustment.
    assert second.result.entries_posted == 0
    with ledger_engine.connect() as conn:
        kinds = conn.execute(select(JournalEntry.sequence, JournalEntry.kind)
                             .order_by(JournalEntry.sequence)).all()
        assert [tuple(k) for k in kinds] == [(0, "original"), (1, "adjustment")]
        assert conn.execute(select(SalesOrder.refunded_minor)).scalar_one() == 2000
    assert balanced(ledger_engine)


def test_two_different_changes_at_once_leave_the_books_at_the_newest(ledger_engine):
    """Worker 1 loads a 20.00 refund while worker 2 loads the later 50.00 one: the second
    adjustment is computed from what the first posted, not from the stale original."""
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, SOURCE, docs(order_with_id(8)))
    older = docs(refunded(8, "20.00", "2024-02-03T09:00:00Z"))
    newer = docs(refunded(8, "50.00", "2024-02-04T09:00:00Z"))

    first, second = race(ledger_engine,
                         lambda conn: load_order_batch(conn, iid, SOURCE, older),
                         lambda conn: load_order_batch(conn, iid, SOURCE, newer))
    assert second.result.updated == 1
    concurrent = positions(ledger_engine, iid)
    with ledger_engine.connect() as conn:
        assert conn.execute(select(SalesOrder.refunded_minor)).scalar_one() == 5000
        assert count(conn, JournalEntry) == 3  # original + one adjustment per change
    assert balanced(ledger_engine)

    # The same two changes loaded one after the other give the same books.
    with ledger_engine.begin() as conn:
        make_integration(conn, "int_sequential")
        load_order_batch(conn, "int_sequential", SOURCE, docs(order_with_id(8)))
        load_order_batch(conn, "int_sequential", SOURCE, older)
        load_order_batch(conn, "int_sequential", SOURCE, newer)
    assert positions(ledger_engine, "int_sequential") == concurrent


def test_the_same_product_batch_loaded_by_two_workers_at_once(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
    batch = [product(n, variant(10 * n + 1, f"W-{n}-S"), variant(10 * n + 2, f"W-{n}-L"),
                     stock=((f"ii{10 * n + 1}", "loc-a", n),))
             for n in range(1, 5)]

    first, second = race(ledger_engine,
                         lambda conn: load_product_batch(conn, iid, batch),
                         lambda conn: load_product_batch(conn, iid, batch))

    assert first.result.created == 4
    assert collided(ledger_engine, second) and second.result.created == 0
    with ledger_engine.connect() as conn:
        assert count(conn, Product) == 4
        assert count(conn, ProductVariant) == 8
        assert count(conn, ExternalRef, ExternalRef.object_type == "product") == 4


def test_the_same_payments_loaded_by_two_workers_at_once(ledger_engine):
    from ledger.integrations import create_integration

    with ledger_engine.begin() as conn:
        iid = create_integration(conn, "stripe", "Test", {"secretKey": "sk_test_x"}, {}, {},
                                 integration_id="int_stripe_race").id
    batch = [charge("txn_1"), charge("txn_2", 5_000, 175), payout("po_1", 14_505)]

    first, second = race(ledger_engine,
                         lambda conn: load_payment_batch(conn, iid, "stripe.payment", batch),
                         lambda conn: load_payment_batch(conn, iid, "stripe.payment", batch))

    assert first.result.created == 3
    assert collided(ledger_engine, second) and second.result.created == 0
    with ledger_engine.connect() as conn:
        assert count(conn, Payment) == 3
        assert count(conn, JournalEntry) == 3
    assert balanced(ledger_engine)


def test_an_older_version_loaded_after_a_newer_one_changes_nothing(ledger_engine):
    """A slow worker (or a late webhook) loading the 20.00 refund after another has loaded the
    later 50.00 one must not take the order and its books back in time."""
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, SOURCE, docs(order_with_id(9)))
        load_order_batch(conn, iid, SOURCE, docs(refunded(9, "50.00", "2024-02-04T09:00:00Z")))
        late = load_order_batch(conn, iid, SOURCE,
                                docs(refunded(9, "20.00", "2024-02-03T09:00:00Z")))
        assert late.entries_posted == 0
        assert conn.execute(select(SalesOrder.refunded_minor)).scalar_one() == 5000
