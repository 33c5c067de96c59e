"""The starter pipeline's transformations, on mock inputs (the `pipeline` fixture: docs/testing.md).

Expected values are computed here in plain Python from the rules in expectations/starter_orders_silver.yml
and the documented transformations, never by the pipeline's code."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import defaultdict
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SILVER = "starter_orders_silver"
DAY = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def order(order_id: str, customer: str | None, amount: float | None, hour: int, quantity: int = 1) -> dict[str, object]:
    return {"order_id": order_id, "customer_id": customer, "amount": amount, "quantity": quantity,
            "ordered_at": (DAY + dt.timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%S")}


def _order_key(row: dict[str, object]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in ("order_id", "customer_id", "amount", "quantity", "ordered_at"))


def expected_silver(orders: list[dict[str, object]]) -> list[dict[str, object]]:
    """Ids trimmed, timestamps parsed; amount > 0 kept (NULL fails a rule, as on Databricks)."""
    kept = [o for o in orders if o["amount"] is not None and float(o["amount"]) > 0]  # type: ignore[arg-type]
    return sorted(({"order_id": str(o["order_id"]).strip(),
                    "customer_id": None if o["customer_id"] is None else str(o["customer_id"]).strip(),
                    "amount": o["amount"], "quantity": o["quantity"],
                    "ordered_at": dt.datetime.strptime(str(o["ordered_at"]), "%Y-%m-%dT%H:%M:%S")}
                   for o in kept), key=_order_key)


orders_strategy = st.lists(st.builds(
    order,
    order_id=st.sampled_from(["o1", " o2", "o3 ", " o4 ", "o5"]),
    customer=st.sampled_from([None, "c1", " c2 "]),
    amount=st.sampled_from([None, -3.5, 0.0, 0.01, 12.5, 99.99]),
    hour=st.integers(min_value=0, max_value=71),
), min_size=1, max_size=25)


@settings(max_examples=2, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(orders=orders_strategy)
def test_silver_keeps_positive_amounts_trims_ids_and_counts_rules(pipeline, orders):
    run = pipeline("starter").given("starter_orders_bronze", rows=orders).run(select=[SILVER])
    got = sorted(run.rows(SILVER), key=_order_key)
    assert got == expected_silver(orders)
    non_positive = sum(1 for o in orders if o["amount"] is None or float(o["amount"]) <= 0)  # type: ignore[arg-type]
    no_customer = sum(1 for o in orders if o["customer_id"] is None)
    positive = run.expectation(SILVER, "positive_amount")
    assert (positive.passed, positive.failed, positive.dropped) == (len(orders) - non_positive, non_positive,
                                                                     non_positive)
    has_customer = run.expectation(SILVER, "has_customer")  # warn: counted, kept
    assert (has_customer.failed, has_customer.dropped) == (no_customer, 0)
    assert run.dropped(SILVER) == non_positive


def _land(folder: Path, name: str, orders: list[dict[str, object]], later: float) -> None:
    path = folder / name
    path.write_text("".join(json.dumps(o) + "\n" for o in orders))
    os.utime(path, (time.time() + later, time.time() + later))


def test_two_batches_from_landed_files_are_processed_incrementally(pipeline):
    """Bronze reads real JSON files (landing path pointed at the test's folder); the second update
    reads only the new file, silver only the new rows; the daily gold aggregate covers both."""
    starter = pipeline("starter")
    landing = starter.folder("landing")
    starter.configure(**{"palindrom.starter.landing_path": str(landing)})
    first = [order("a", "c1", 10.0, 1), order("b", None, 5.5, 2), order("c", "c3", -1.0, 30)]
    second = [order("d", "c4", 2.25, 3), order("e", "c5", 0.0, 50), order("f", "c1", 7.0, 49)]
    _land(landing, "orders-1.json", first, 0)
    run = starter.run()
    assert run.flows["starter_orders_bronze"].rows == 3
    assert run.flows[SILVER].rows == 2
    _land(landing, "orders-2.json", second, 5)
    run = starter.run()
    assert run.flows["starter_orders_bronze"].rows == 3      # the new file only
    assert run.flows[SILVER].rows == 2                        # d and f; e dropped
    assert [r["order_id"] for r in run.rows(SILVER)] == ["a", "b", "d", "f"]
    assert run.expectation(SILVER, "positive_amount").failed == 1  # this update's rows only
    daily: dict[dt.date, list[float]] = defaultdict(list)
    for o in expected_silver(first + second):
        daily[o["ordered_at"].date()].append(float(o["amount"]))  # type: ignore[union-attr, arg-type]
    assert run.rows("starter_revenue_daily_gold") == [
        {"order_date": day, "orders": len(amounts), "revenue": round(sum(amounts), 2)}
        for day, amounts in sorted(daily.items())]
    bronze_files = {r["source_file"].rsplit("/", 1)[-1] for r in run.rows("starter_orders_bronze")}
    assert bronze_files == {"orders-1.json", "orders-2.json"}


def test_gold_revenue_per_day_from_mocked_silver(pipeline):
    silver = [{"order_id": f"o{i}", "customer_id": "c", "amount": amount, "quantity": 1,
               "ordered_at": DAY.replace(tzinfo=None) + dt.timedelta(hours=hours)}
              for i, (amount, hours) in enumerate([(1.25, 1), (2.5, 23), (3.25, 24), (10.0, 47), (0.5, 48)])]
    run = pipeline("starter").given(SILVER, rows=silver).run(select=["starter_revenue_daily_gold"])
    by_day: dict[dt.date, list[float]] = defaultdict(list)
    for row in silver:
        by_day[row["ordered_at"].date()].append(float(row["amount"]))  # type: ignore[attr-defined, arg-type]
    assert run.rows("starter_revenue_daily_gold") == [
        {"order_date": day, "orders": len(v), "revenue": round(sum(v), 2)} for day, v in sorted(by_day.items())]
    assert "starter_orders_bronze" not in {n for n, f in run.flows.items() if f.state == "completed"}
