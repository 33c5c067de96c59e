"""``pipelines ui`` in headless Chromium (Playwright driving the system chromium), over a storage that
two real updates of tests/fixtures/quality wrote:

1. landing/1.json: every rule action fires (warn, drop, quarantine), the update completes;
2. landing/2.json holds a poison value: the fail rule stops the update, which fails.

The UI runs as the real command in a subprocess, attached to the suite's Spark server; every expected
number below is computed from the input rows in plain Python.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, cli, copy_fixture, touch_later, write_json_lines
from playwright.sync_api import Browser, Page, sync_playwright

from palindrom.runtime import lock, server

ARTIFACTS = REPO / "build" / "test-artifacts"

ROWS = [
    {"id": 1, "sensor": "a", "value": 10},
    {"id": 2, "sensor": "a", "value": 20},
    {"id": 3, "sensor": "a", "value": 150},
    {"id": 4, "sensor": "b", "value": None},
    {"id": 5, "sensor": "b", "value": 30},
    {"id": 0, "sensor": "c", "value": 40},
    {"id": -1, "sensor": "c", "value": None},
    {"id": 6, "sensor": "unknown", "value": 50},
    {"id": 7, "sensor": "unknown", "value": 60},
]
POISON = [{"id": 8, "sensor": "a", "value": 666}, {"id": 9, "sensor": "a", "value": 5}]


def _holds(value: object) -> bool:
    """A SQL boolean as an expectation counts it: NULL does not pass."""
    return value is True


# The fixture's rules (tests/fixtures/quality/expectations), as plain Python predicates.
READINGS_RULES = {
    "value_small": ("warn", lambda r: None if r["value"] is None else r["value"] < 100),
    "value_present": ("drop", lambda r: r["value"] is not None),
    "id_positive": ("quarantine", lambda r: r["id"] > 0),
    "no_poison": ("fail", lambda r: (r["value"] or 0) != 666),
}
THRESHOLDS = {"value_small": 0.9, "no_poison": 1.0}  # min_pass_rate in the rules file; 100 % for a fail rule
BY_SENSOR_RULES = {
    "total_below_limit": ("warn", lambda r: r["total"] < 500),
    "enough_readings": ("drop", lambda r: r["readings"] >= 2),
    "sensor_known": ("quarantine", lambda r: r["sensor"] != "unknown"),
}


def _counts(rules: dict, rows: list[dict]) -> dict[str, tuple[str, int, int]]:
    return {name: (action, sum(_holds(check(r)) for r in rows), sum(not _holds(check(r)) for r in rows))
            for name, (action, check) in rules.items()}


def _kept(rules: dict, rows: list[dict]) -> list[dict]:
    removing = [check for action, check in rules.values() if action in ("drop", "quarantine")]
    return [r for r in rows if all(_holds(check(r)) for check in removing)]


def _by_sensor(rows: list[dict]) -> list[dict]:
    sensors = sorted({r["sensor"] for r in rows})
    return [{"sensor": s, "readings": sum(r["sensor"] == s for r in rows),
             "total": sum(r["value"] for r in rows if r["sensor"] == s)} for s in sensors]


@dataclass
class Served:
    url: str
    storage: Path
    folder: Path


def _wait_listening(port: int, process: subprocess.Popen[str]) -> None:
    """Until the UI accepts connections (it attaches to Spark first); fails if the command exits."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pipelines ui exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail("pipelines ui did not start listening")


@pytest.fixture(scope="module")
def served(spark_server: server.Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder, _ = copy_fixture("quality", tmp_path_factory.mktemp("ui"))
    storage = folder.parent / "storage"
    write_json_lines(folder / "landing" / "1.json", ROWS)
    assert cli("run", folder, "--storage", storage) == 0
    touch_later(write_json_lines(folder / "landing" / "2.json", POISON))
    assert cli("run", folder, "--storage", storage) == 1
    port = server.free_port()
    env = {**os.environ, server.REMOTE_ENV: spark_server.url}
    process = subprocess.Popen([sys.executable, "-m", "palindrom.cli.main", "ui", str(folder), "--storage",
                                str(storage), "--port", str(port)], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_listening(port, process)
        yield Served(f"http://127.0.0.1:{port}", storage, folder)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed; `make browser` installs it (apt package chromium).")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    yield opened
    context.close()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_graph_shows_datasets_kinds_edges_and_the_failed_update(served: Served, page: Page) -> None:
    page.goto(served.url + "/")
    nodes = {n.get_attribute("data-name"): n.get_attribute("data-kind")
             for n in page.locator("svg.graph g.node").all()}
    # guarded_table: <dataset>_checked (private) feeds the dataset and its quarantine table;
    # readings is a streaming table (readStream), readings_by_sensor a materialized view (dlt.read).
    # The Auto Loader read upstream is a source node, with its format and folder.
    source = f"Auto Loader (json): {(served.folder / 'landing').resolve()}"
    assert nodes == {source: "source", "readings_checked": "streaming_table", "readings": "streaming_table",
                     "readings_quarantine": "streaming_table", "readings_by_sensor_checked": "materialized_view",
                     "readings_by_sensor": "materialized_view", "readings_by_sensor_quarantine": "materialized_view"}
    edges = {(e.get_attribute("data-from"), e.get_attribute("data-to"))
             for e in page.locator("svg.graph path.edge").all()}
    assert edges == {(source, "readings_checked"),
                     ("readings_checked", "readings"), ("readings_checked", "readings_quarantine"),
                     ("readings", "readings_by_sensor_checked"),
                     ("readings_by_sensor_checked", "readings_by_sensor"),
                     ("readings_by_sensor_checked", "readings_by_sensor_quarantine")}
    updates = page.locator("#updates tr.update")
    assert updates.count() == 2
    newest, oldest = updates.nth(0), updates.nth(1)
    assert [newest.get_attribute("data-state"), oldest.get_attribute("data-state")] == ["FAILED", "COMPLETED"]
    error = newest.locator("td.error").inner_text()
    assert "readings:" in error and "no_poison" in error
    assert oldest.locator("td.error").inner_text() == ""
    # The graph shows the newest (failed) update: readings failed on its fail rule.
    assert page.locator('g.node[data-name="readings"]').get_attribute("data-state") == "FAILED"
    _shot(page, "ui-graph-failed-update.png")

    # The completed update: rows written and dropped per dataset, computed from the input rows.
    page.locator("#updates tr.update").nth(1).locator("a").first.click()
    kept = _kept(READINGS_RULES, ROWS)
    node = page.locator('g.node[data-name="readings"]')
    assert node.get_attribute("data-state") == "COMPLETED"
    text = node.text_content() or ""
    assert f"{len(kept)} written · {len(ROWS) - len(kept)} dropped" in text
    lowest = min(p / (p + f) for _, p, f in _counts(READINGS_RULES, ROWS).values())
    assert f"lowest pass rate {lowest * 100:.1f} %" in text
    _shot(page, "ui-graph.png")  # docs/images/ui.png is a copy of this one


def test_failed_update_log_filters_by_level_flow_and_type(served: Served, page: Page) -> None:
    page.goto(served.url + "/")
    page.locator("#updates tr.update").nth(0).locator("a", has_text="event log").click()
    assert page.locator("#update-state").inner_text() == "FAILED"
    assert "no_poison" in page.locator("#update-error").inner_text()
    total = page.locator("#events tr.event").count()
    page.select_option("select[name=level]", "ERROR")
    page.click("button[type=submit]")
    errors = page.locator("#events tr.event")
    assert 0 < errors.count() < total
    assert {e.get_attribute("data-level") for e in errors.all()} == {"ERROR"}
    # the failed flow and the failed update each log an ERROR event
    assert "readings" in {e.get_attribute("data-flow") for e in errors.all()}
    assert "update_progress" in {e.get_attribute("data-type") for e in errors.all()}
    page.select_option("select[name=level]", "")
    page.select_option("select[name=flow]", "readings")
    page.select_option("select[name=event_type]", "flow_definition")
    page.click("button[type=submit]")
    shown = page.locator("#events tr.event")
    assert shown.count() == 1
    assert shown.first.get_attribute("data-flow") == "readings"
    _shot(page, "ui-update-log.png")


def test_dataset_page_shows_rule_counts_rows_and_quarantine(served: Served, page: Page) -> None:
    page.goto(served.url + "/datasets/readings")
    kept = _kept(READINGS_RULES, ROWS)
    assert page.locator("#row-count").inner_text() == str(len(kept))
    assert [c.inner_text() for c in page.locator("#schema tr td:first-child").all()] == ["id", "sensor", "value"]
    shown = {r.get_attribute("data-rule"): (r.locator("td").nth(1).inner_text(), int(r.locator(".passed").inner_text()),
                                            int(r.locator(".failed").inner_text()))
             for r in page.locator("#expectations tr.rule").all()}
    # The failed update evaluated nothing: the latest counts are the first update's.
    assert shown == _counts(READINGS_RULES, ROWS)
    for rule, (action, _, failed) in shown.items():
        dropped = int(page.locator(f'#expectations tr[data-rule="{rule}"] .dropped').inner_text())
        assert dropped == (failed if action in ("drop", "quarantine") else 0)
    # Charts: the pass-rate axis spans the data, not 0-100 %.
    chart = page.locator('svg.chart[data-rule="value_small"]')
    rate = _counts(READINGS_RULES, ROWS)["value_small"][1] / len(ROWS)
    low, high = float(chart.get_attribute("data-axis-low") or 0), float(chart.get_attribute("data-axis-high") or 0)
    assert 0 < low < rate < high <= 1
    assert page.locator('svg.chart[data-rule="no_poison"] line.threshold').count() == 1
    # Thresholds: drawn inside the axis, shown in the table, and a rule under its own is marked.
    assert chart.locator("line.threshold").get_attribute("data-threshold") == "0.9" and low < 0.9 < high
    for rule, (_, passed, failed) in _counts(READINGS_RULES, ROWS).items():
        row = page.locator(f'#expectations tr[data-rule="{rule}"]')
        threshold = THRESHOLDS.get(rule)
        below = threshold is not None and passed / (passed + failed) < threshold
        assert ("below" in (row.get_attribute("class") or "").split()) == below, rule
        expected = "-" if threshold is None else f"{threshold * 100:.2f} %" + (" (below)" if below else "")
        assert row.locator(".threshold").inner_text() == expected, rule
    quarantined = sorted(int(c.inner_text()) for c in page.locator("#quarantine tr td:first-child").all())
    assert quarantined == sorted(r["id"] for r in ROWS if not _holds(READINGS_RULES["id_positive"][1](r)))
    _shot(page, "ui-dataset-readings.png")

    page.goto(served.url + "/datasets/readings_by_sensor")
    groups = _by_sensor(kept)
    assert page.locator("#row-count").inner_text() == str(len(_kept(BY_SENSOR_RULES, groups)))
    shown = {r.get_attribute("data-rule"): (r.locator("td").nth(1).inner_text(), int(r.locator(".passed").inner_text()),
                                            int(r.locator(".failed").inner_text()))
             for r in page.locator("#expectations tr.rule").all()}
    assert shown == _counts(BY_SENSOR_RULES, groups)


def test_live_page_and_busy_storage(served: Served, page: Page) -> None:
    page.goto(served.url + "/live")
    page.wait_for_selector("#live-status[data-loaded=true]")
    flows = {r.get_attribute("data-flow"): r for r in page.locator("#live-flows tbody tr").all()}
    # streaming flows' triggers, from the Spark event log: readings_checked read every input row
    assert "readings_checked" in flows
    total_read = int(flows["readings_checked"].locator("td").nth(4).inner_text())
    assert total_read == len(ROWS) + len(POISON)
    assert "no run holds the storage" in page.locator("#live-status").inner_text()
    # While a run holds the storage every page still works (the UI reads files, no catalog) and
    # says who holds it.
    with lock.exclusive(served.storage.resolve(), "quality"):
        response = page.goto(served.url + "/")
        assert response is not None and response.status == 200
        banner = page.locator("#busy").inner_text()
        assert "is in use by a running update of 'quality'" in banner and f"pid {os.getpid()}" in banner
        assert page.locator("svg.graph g.node").count() == 7
        assert page.locator("#updates tr.update").count() == 2
        response = page.goto(served.url + "/datasets/readings")
        assert response is not None and response.status == 200
        assert page.locator("#row-count").inner_text() == str(len(_kept(READINGS_RULES, ROWS)))
        _shot(page, "ui-storage-busy.png")
        page.goto(served.url + "/live")
        page.wait_for_selector("#live-status[data-loaded=true]")
        assert "in progress" in page.locator("#live-status").inner_text()
    page.goto(served.url + "/")
    assert page.locator("#updates tr.update").count() == 2
