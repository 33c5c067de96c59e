"""The loans tables computed in plain Python from data.py's records."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("loans_dbdemos_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

TREATMENT = dict(data.TREATMENTS)


def _sum_by(rows: list[dict], key: str, value: str) -> dict:
    totals: dict = {}
    for r in rows:
        totals[r[key]] = totals.get(r[key], 0) + r[value]
    return totals


def expected(batches: int) -> dict[str, list[dict]]:
    txs = data.transactions(batches)
    assert all(t["cost_center_code"] is not None for t in txs), "the fail expectation would stop the update"
    joined = [{**t, "accounting_treatment": TREATMENT[t["accounting_treatment_id"]]}
              for t in txs if t["accounting_treatment_id"] in TREATMENT]
    cleaned = [t for t in joined if t["balance"] > 0 and t["arrears_balance"] > 0]
    quarantined = [t for t in joined if t["balance"] <= 0 or t["arrears_balance"] <= 0]
    loans = data.loans(batches)
    historical = [{**loan, "accounting_treatment": TREATMENT[loan["accounting_treatment_id"]]}
                  for loan in loans
                  if loan["accounting_treatment_id"] in TREATMENT and loan["recoveries"] is not None]
    balances = [{"location_code": k, "bal": v} for k, v in _sum_by(historical, "addr_state", "revol_bal").items()]
    balances += [{"location_code": k, "bal": v} for k, v in _sum_by(cleaned, "country_code", "balance").items()]
    return {
        "raw_txs": txs,
        "ref_accounting_treatment": [{"id": i, "accounting_treatment": name} for i, name in data.TREATMENTS],
        "raw_historical_loans": loans,
        "cleaned_new_txs": cleaned,
        "quarantine_bad_txs": quarantined,
        "historical_txs": historical,
        "total_loan_balances": balances,
        "new_loan_balances_by_cost_center": [{"cost_center_code": k, "sum_balance": v}
                                             for k, v in _sum_by(cleaned, "cost_center_code", "balance").items()],
        "new_loan_balances_by_country": [{"country_code": k, "sum_count": v}
                                         for k, v in _sum_by(cleaned, "country_code", "count").items()],
    }
