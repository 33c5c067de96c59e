"""Synthetic retail-org files: customers.csv (header, every value text) rewritten by each batch, and one JSON
lines file of sales orders per batch (order_datetime as unix seconds in a string, number_of_line_items as text,
ordered_products an array of {curr, id, name, price, qty, unit})."""

import csv
import io
import json
from pathlib import Path

CUSTOMER_COLUMNS = ["customer_id", "tax_id", "customer_name", "state", "city", "postcode", "lon", "lat",
                    "units_purchased", "loyalty_segment"]
CUSTOMERS = {
    1: [("1001", "T-1", "ACME LTD", "CA", "Los Angeles", "90001", "-118.24", "34.05", "120", "3"),
        ("1002", "T-2", "BOLT INC", "IL", "Chicago", "60601", "-87.62", "41.88", "45", "1"),
        ("1003", "T-3", "CRANE CO", "NY", "New York", "10001", "-74.00", "40.71", "300", "2")],
}
CUSTOMERS[2] = [*CUSTOMERS[1], ("1004", "T-4", "DYNAMO LLC", "CA", "Los Angeles", "90012", "-118.25", "34.06", "7", "0")]


def _product(curr, pid, name, price, qty):
    return {"curr": curr, "id": pid, "name": name, "price": price, "qty": qty, "unit": "pcs"}


def _order(number, customer_id, customer_name, seconds, products):
    return {"customer_id": customer_id, "customer_name": customer_name, "number_of_line_items": str(len(products)),
            "order_datetime": str(seconds), "order_number": number, "ordered_products": products}


DAY1, DAY2 = 1577880000, 1577966400  # 2020-01-01 12:00 and 2020-01-02 12:00 UTC
ORDERS = {
    1: [
        _order(5001, 1001, "ACME LTD", DAY1, [_product("USD", "p1", "Opal Cup", 120, 2),
                                              _product("USD", "p2", "Slate Mug", 80, 1)]),
        _order(5002, 1002, "BOLT INC", DAY1, [_product("USD", "p3", "Birch Board", 300, 1)]),
        _order(5003, 1001, "ACME LTD", DAY1 + 3600, [_product("USD", "p1", "Opal Cup", 120, 1),
                                                     _product("EUR", "p4", "Flint Lamp", 95, 3)]),
        _order(5004, 1003, "CRANE CO", DAY1, [_product("USD", "p5", "Reed Basket", 40, 5)]),
    ],
    2: [
        _order(5005, 1001, "ACME LTD", DAY2, [_product("USD", "p2", "Slate Mug", 80, 4)]),
        _order(5006, 1004, "DYNAMO LLC", DAY2, [_product("USD", "p3", "Birch Board", 300, 2)]),  # new customer
        _order(None, 1002, "BOLT INC", DAY2, [_product("USD", "p1", "Opal Cup", 120, 9)]),  # dropped
        _order(5007, 1002, "BOLT INC", DAY1 + 7200, [_product("USD", "p5", "Reed Basket", 40, 2)]),  # late order
        _order(5008, 1999, "NOBODY", DAY2, [_product("USD", "p5", "Reed Basket", 40, 1)]),  # unknown customer
    ],
}


def orders(batches: int) -> list[dict]:
    return [o for b in range(1, batches + 1) for o in ORDERS[b]]


def customers(batch: int) -> list[dict]:
    return [dict(zip(CUSTOMER_COLUMNS, c, strict=True)) for c in CUSTOMERS[batch]]


def write_batch(batch: int, landing: Path) -> None:
    root = landing / "retail-org"
    (root / "customers").mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CUSTOMER_COLUMNS)
    writer.writerows(CUSTOMERS[batch])
    (root / "customers" / "customers.csv").write_text(out.getvalue())
    (root / "sales_orders").mkdir(parents=True, exist_ok=True)
    (root / "sales_orders" / f"part-{batch:05d}.json").write_text(
        "".join(json.dumps(o) + "\n" for o in ORDERS[batch]))
