"""The pipeline's tables from data.py's TPC-H rows: the raw_* and clean_* materialized views copy the
source tables; the gold views are LEFT JOINs computed here; the calendar is every day of 1990-2029
(Spark's dayofweek: 1 = Sunday; weekday: 0 = Monday; weekofyear: ISO 8601 week)."""

import calendar
import datetime as dt
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("tpch_mixed_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _calendar() -> list[dict]:
    rows, day = [], dt.date(1990, 1, 1)
    while day <= dt.date(2029, 12, 31):
        month_end = calendar.monthrange(day.year, day.month)[1]
        rows.append({
            "calendar_id": day.year * 10000 + day.month * 100 + day.day, "calendar_key": day,
            "calendar_year": day.year, "calendar_month_of_year": day.month,
            "calendar_month_name": day.strftime("%B"), "calendar_day_of_month": day.day,
            "calendar_day_of_week": day.isoweekday() % 7 + 1, "calendar_day_name": day.strftime("%A"),
            "calendar_is_week_day": "Y" if day.weekday() < 5 else "N",
            "calendar_is_last_day_of_month": "Y" if day.day == month_end else "N",
            "calendar_day_of_year": day.timetuple().tm_yday, "calendar_week_of_year_iso": day.isocalendar()[1],
            "calendar_quarter_of_year": (day.month - 1) // 3 + 1})
        day += dt.timedelta(days=1)
    return rows


def _place(nation_key: int, nations: dict, regions: dict) -> tuple[str, str]:
    nation = nations.get(nation_key)
    region = regions.get(nation["n_regionkey"]) if nation else None
    return (nation["n_name"] if nation else "Unknown", region["r_name"] if region else "Unknown")


def _ymd(day: dt.date) -> int:
    return int(day.strftime("%Y%m%d"))


def expected(batches: int) -> dict[str, list[dict]]:
    t = {name: data.table(name, batches) for name in data.COLUMNS}
    nations = {n["n_nationkey"]: n for n in t["nation"]}
    regions = {r["r_regionkey"]: r for r in t["region"]}
    orders = {o["o_orderkey"]: o for o in t["orders"]}
    costs = {(p["ps_partkey"], p["ps_suppkey"]): p["ps_supplycost"] for p in t["partsupp"]}
    out: dict[str, list[dict]] = {}
    for name, rows in t.items():
        out[f"raw_{name}"] = rows
        out[f"clean_{name}"] = rows
    out["customer_dim"] = [
        {"customer_key": c["c_custkey"], "customer_name": c["c_name"], "customer_address": c["c_address"],
         "customer_phone": c["c_phone"], "customer_segment": c["c_mktsegment"],
         **dict(zip(("customer_nation", "customer_region"), _place(c["c_nationkey"], nations, regions), strict=True))}
        for c in t["customer"]]
    out["supplier_dim"] = [
        {"supplier_key": s["s_suppkey"], "supplier_name": s["s_name"], "supplier_address": s["s_address"],
         "supplier_phone": s["s_phone"],
         **dict(zip(("supplier_nation", "supplier_region"), _place(s["s_nationkey"], nations, regions), strict=True))}
        for s in t["supplier"]]
    out["part_dim"] = [
        {"part_key": p["p_partkey"], "part_mfgr": p["p_mfgr"], "part_brand": p["p_brand"], "part_type": p["p_type"],
         "part_size": p["p_size"], "part_container": p["p_container"], "part_retailprice": p["p_retailprice"]}
        for p in t["part"]]
    facts = []
    for li in t["lineitem"]:
        o = orders[li["l_orderkey"]]
        facts.append({
            "calendar_order_id": _ymd(o["o_orderdate"]), "calendar_commit_id": _ymd(li["l_commitdate"]),
            "calendar_receipt_id": _ymd(li["l_receiptdate"]), "calendar_ship_id": _ymd(li["l_shipdate"]),
            "customer_key": o["o_custkey"], "part_key": li["l_partkey"], "supplier_key": li["l_suppkey"],
            "order_header_code": li["l_orderkey"], "order_line_code": li["l_linenumber"],
            "order_quantity": li["l_quantity"], "order_extended_price_usd": li["l_extendedprice"],
            "order_discount_usd": li["l_discount"], "order_tax_usd": li["l_tax"],
            "part_supply_cost_usd": costs.get((li["l_partkey"], li["l_suppkey"])),
            "order_commit_lag_days": (li["l_commitdate"] - o["o_orderdate"]).days,
            "order_receipt_lag_days": (li["l_receiptdate"] - o["o_orderdate"]).days,
            "order_ship_lag_days": (li["l_shipdate"] - o["o_orderdate"]).days})
    out["sales_fact"] = facts
    out["calendar_dim"] = _calendar()
    return out
