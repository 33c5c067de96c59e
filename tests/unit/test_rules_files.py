"""Rules files: the pass-rate threshold a rule may carry, and how reports take it up."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from palindrom.quality import history
from palindrom.quality.rules import RuleError, configured, load_file


def _write(folder: Path, rules: str) -> Path:
    path = folder / "orders.yml"
    path.write_text("dataset: orders\nrules:\n" + rules)
    return path


def test_thresholds_as_shares_or_percentages(tmp_path: Path) -> None:
    loaded = load_file(_write(tmp_path, """
  - {name: a, constraint: x > 0, action: warn, min_pass_rate: 0.995}
  - {name: b, constraint: x > 0, action: drop, min_pass_rate: "99.5%"}
  - {name: c, constraint: x > 0, action: quarantine, min_pass_rate: 1}
  - {name: d, constraint: x > 0, action: warn}
  - {name: e, constraint: x > 0, action: fail}
  - {name: f, constraint: x > 0, action: fail, min_pass_rate: "100%"}
"""))
    assert [r.threshold for r in loaded.rules] == [0.995, pytest.approx(0.995), 1.0, None, 1.0, 1.0]


@pytest.mark.parametrize(("value", "says"), [
    ("1.5", "between 0 and 1"), ("-0.1", "between 0 and 1"), ('"120%"', "between 0 and 1"),
    ('"high"', "between 0 and 1"), ("true", "between 0 and 1"), ('"99,5%"', "between 0 and 1")])
def test_a_threshold_that_is_not_a_share_names_the_rule(tmp_path: Path, value: str, says: str) -> None:
    path = _write(tmp_path, f"  - {{name: a, constraint: x > 0, action: warn, min_pass_rate: {value}}}\n")
    with pytest.raises(RuleError) as raised:
        load_file(path)
    assert str(raised.value).startswith(f"{path}, rule 'a': 'min_pass_rate'") and says in str(raised.value)


def test_a_fail_rule_takes_no_lower_threshold(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - {name: a, constraint: x > 0, action: fail, min_pass_rate: 0.99}\n")
    with pytest.raises(RuleError, match="a fail rule stops the update at the first failing row"):
        load_file(path)


@given(st.integers(min_value=0, max_value=10_000))
def test_percent_and_share_spellings_agree(basis_points: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        share = load_file(_write(Path(folder), f"  - {{name: a, constraint: x > 0, action: warn, "
                                               f"min_pass_rate: {basis_points / 10_000}}}\n")).rules[0]
        percent = load_file(_write(Path(folder), f"  - {{name: a, constraint: x > 0, action: warn, "
                                                 f"min_pass_rate: \"{basis_points / 100}%\"}}\n")).rules[0]
    assert share.threshold == pytest.approx(percent.threshold)


def test_reports_take_actions_and_thresholds_from_the_rules_files(tmp_path: Path) -> None:
    _write(tmp_path, """
  - {name: small, constraint: x < 100, action: warn, min_pass_rate: 0.9}
  - {name: known, constraint: k <> 'unknown', action: quarantine, min_pass_rate: "50%"}
  - {name: sane, constraint: x <> 666, action: fail}
  - {name: unseen, constraint: x > 0, action: warn, min_pass_rate: 0.5}
""")
    update = history.UpdateQuality("u1", "2026-01-01T00:00:00Z", "COMPLETED", {
        ("orders", "small"): history.Counts(8, 2), ("orders", "known"): history.Counts(1, 1),
        ("orders", "sane"): history.Counts(10, 0), ("orders", "other"): history.Counts(0, 3)})
    # The event log runs a quarantine rule as a drop expectation and knows no thresholds.
    report = history.QualityReport("p", [update], {("orders", "known"): "drop", ("orders", "sane"): "fail"})
    report.adopt(configured(tmp_path))
    assert report.actions[("orders", "known")] == "quarantine"
    # 8 of 10 = 80 % < 90 %; 1 of 2 = 50 % is not under 50 %; a fail rule at 100 % is not under it;
    # a rule without a threshold is never under one; a rule the report has not seen is not added.
    assert {key[1]: report.threshold(key) for key in report.rules} == {
        "small": 0.9, "known": 0.5, "sane": 1.0, "other": None}
    assert [key[1] for key in report.rules if report.below_threshold(key)] == ["small"]
    assert [(r["rule"], r["threshold"]) for r in report.to_json()["rules"]] == [
        ("known", 0.5), ("other", None), ("sane", 1.0), ("small", 0.9)]
