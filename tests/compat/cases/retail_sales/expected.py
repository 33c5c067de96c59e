"""The retail tables computed in plain Python. Each update joins its new orders to customers.csv as it is at
that update (a stream-static join); orders of batch 1 were all joined in update 1."""

import datetime as dt
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("retail_sales_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

CUSTOMER_FIELDS = ["state", "city", "lon", "lat", "units_purchased", "loyalty_segment"]


def _cleaned(batches: int) -> list[dict]:
    rows = []
    for b in range(1, batches + 1):
        customers = {(int(c["customer_id"]), c["customer_name"]): c for c in data.customers(b)}
        for o in data.ORDERS[b]:
            if o["order_number"] is None:
                continue
            customer = customers.get((o["customer_id"], o["customer_name"]), {})
            when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(o["order_datetime"]))
            rows.append({"customer_id": o["customer_id"], "customer_name": o["customer_name"],
                         "number_of_line_items": o["number_of_line_items"], "order_datetime": when,
                         "order_date": when.date(), "order_number": o["order_number"],
                         "ordered_products": o["ordered_products"],
                         **{f: customer.get(f) for f in CUSTOMER_FIELDS}})
    return rows


def _city_sales(cleaned: list[dict], city: str) -> list[dict]:
    totals: dict = {}
    for o in cleaned:
        if o["city"] != city:
            continue
        for p in o["ordered_products"]:
            key = (o["order_date"], city, o["customer_id"], o["customer_name"], p["curr"])
            sales, qty = totals.get(key, (0, 0))
            totals[key] = (sales + p["price"], qty + p["qty"])
    return [{"order_date": d, "city": c, "customer_id": i, "customer_name": n, "currency": cur, "sales": s,
             "quantity": q} for (d, c, i, n, cur), (s, q) in totals.items()]


def expected(batches: int) -> dict[str, list[dict]]:
    cleaned = _cleaned(batches)
    return {
        "sales_orders_raw": data.orders(batches),
        "sales_orders_cleaned": cleaned,
        "sales_order_in_la": _city_sales(cleaned, "Los Angeles"),
        "sales_order_in_chicago": _city_sales(cleaned, "Chicago"),
    }
