"""Expectations from expectations/ on a streaming table and a materialized view: Databricks's
warn/drop/fail/quarantine semantics with exact counts, the local event log, and the quality report
(terminal, HTML page in headless Chromium, and the databricks-sdk path against a local API server).

One module fixture runs three updates of tests/fixtures/quality:
1. landing/1.json: every action fires;   2. landing/2.json: fewer failures;
3. landing/3.json holds a poison value: the fail rule stops the update and nothing changes.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, cli, copy_fixture, rows, touch_later, write_json_lines
from fakes.databricks_api import FakeDatabricks, FakePipeline, api_events
from PIL import Image

ARTIFACTS = REPO / "build" / "test-artifacts"

QUALITY_QUERY = """
SELECT row_expectations.dataset AS dataset, row_expectations.name AS expectation,
       SUM(row_expectations.passed_records) AS passing_records,
       SUM(row_expectations.failed_records) AS failing_records
FROM (
  SELECT explode(from_json(get_json_object(details, '$.flow_progress.data_quality.expectations'),
         'array<struct<name: string, dataset: string, passed_records: int, failed_records: int>>'))
         row_expectations
  FROM {db}.event_log
  WHERE event_type = 'flow_progress' AND origin.update_id = '{update}'
)
GROUP BY row_expectations.dataset, row_expectations.name
ORDER BY dataset, expectation
"""


@dataclass
class Runs:
    folder: Path
    db: str
    storage: Path
    updates: list[str]                 # update ids, oldest first
    codes: list[int]
    fail_stderr: str
    before_fail: dict[str, list[tuple]]


def _run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(*argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def runs(spark_server, tmp_path_factory) -> Runs:
    spark = spark_server.session
    folder, db = copy_fixture("quality", tmp_path_factory.mktemp("quality"))
    storage = folder.parent / "storage"
    landing = folder / "landing"
    write_json_lines(landing / "1.json", [
        {"id": 1, "sensor": "a", "value": 10},
        {"id": 2, "sensor": "a", "value": 20},
        {"id": 3, "sensor": "a", "value": 150},      # warn: value_small
        {"id": 4, "sensor": "b", "value": None},     # drop: value_present (value_small fails on NULL too)
        {"id": 5, "sensor": "b", "value": 30},
        {"id": 0, "sensor": "c", "value": 40},       # quarantine: id_positive
        {"id": -1, "sensor": "c", "value": None},    # quarantine and drop
        {"id": 6, "sensor": "unknown", "value": 50},
        {"id": 7, "sensor": "unknown", "value": 60},
    ])
    codes = [_run("run", folder, "--storage", storage)[0]]
    touch_later(write_json_lines(landing / "2.json", [
        {"id": 10, "sensor": "b", "value": 5},
        {"id": 11, "sensor": "b", "value": 500},     # warn: value_small; makes b's total fail total_below_limit
        {"id": -5, "sensor": "a", "value": 1},       # quarantine: id_positive
    ]))
    codes.append(_run("run", folder, "--storage", storage)[0])
    before_fail = {t: rows(spark, f"SELECT * FROM {db}.{t} ORDER BY 1") for t in ("readings", "readings_by_sensor")}
    touch_later(write_json_lines(landing / "3.json", [
        {"id": 8, "sensor": "a", "value": 666}, {"id": 9, "sensor": "a", "value": 5}]), seconds=10)
    code, _, fail_stderr = _run("run", folder, "--storage", storage)
    codes.append(code)
    updates = [r[0] for r in rows(spark, f"SELECT origin.update_id FROM {db}.event_log "
                                         "WHERE event_type = 'create_update' ORDER BY timestamp")]
    return Runs(folder, db, storage, updates, codes, fail_stderr, before_fail)


def test_expectation_actions_counts_and_event_log(spark, runs):
    db = runs.db
    assert runs.codes == [0, 0, 1] and len(runs.updates) == 3
    first = runs.updates[0]
    # Databricks's documented data-quality query, with get_json_object for the `:` operator.
    assert rows(spark, QUALITY_QUERY.format(db=db, update=first)) == [
        ("readings", "id_positive", 7, 2),
        ("readings", "no_poison", 9, 0),
        ("readings", "value_present", 7, 2),
        ("readings", "value_small", 6, 3),
        ("readings_by_sensor", "enough_readings", 2, 1),
        ("readings_by_sensor", "sensor_known", 2, 1),
        ("readings_by_sensor", "total_below_limit", 3, 0),
    ]
    progress = dict(rows(spark, f"""
        SELECT origin.flow_name, get_json_object(details, '$.flow_progress') FROM {db}.event_log
        WHERE event_type = 'flow_progress' AND get_json_object(details, '$.flow_progress.status') = 'COMPLETED'
          AND origin.update_id = '{first}'"""))
    readings = json.loads(progress["readings"])
    assert readings["metrics"] == {"num_output_rows": 6}
    assert readings["data_quality"]["dropped_records"] == 3  # ids 4, 0, -1: each counted once
    assert json.loads(progress["readings_by_sensor"])["data_quality"]["dropped_records"] == 2
    assert json.loads(progress["readings_quarantine"])["metrics"] == {"num_output_rows": 2}
    # guarded_table computes each dataset once into a private table the dataset and its quarantine read
    assert json.loads(progress["readings_checked"])["metrics"] == {"num_output_rows": 9}
    assert set(progress) == {"readings", "readings_quarantine", "readings_by_sensor", "readings_by_sensor_quarantine",
                             "readings_checked", "readings_by_sensor_checked"}
    assert rows(spark, f"SELECT event_type, count(*) FROM {db}.event_log WHERE event_type <> 'flow_progress' "
                       f"AND origin.update_id = '{first}' GROUP BY 1 ORDER BY 1") == [
        ("create_update", 1), ("flow_definition", 6), ("update_progress", 2)]
    # The second update: only 2.json's rows, and the materialized view recomputed over all.
    assert rows(spark, QUALITY_QUERY.format(db=db, update=runs.updates[1])) == [
        ("readings", "id_positive", 2, 1),
        ("readings", "no_poison", 3, 0),
        ("readings", "value_present", 3, 0),
        ("readings", "value_small", 2, 1),
        ("readings_by_sensor", "enough_readings", 3, 0),
        ("readings_by_sensor", "sensor_known", 2, 1),
        ("readings_by_sensor", "total_below_limit", 2, 1),
    ]
    assert rows(spark, f"SELECT id FROM {db}.readings ORDER BY id") == [
        (1,), (2,), (3,), (5,), (6,), (7,), (10,), (11,)]
    assert rows(spark, f"SELECT id, _failed_rules FROM {db}.readings_quarantine ORDER BY id") == [
        (-5, ["id_positive"]), (-1, ["id_positive"]), (0, ["id_positive"])]
    assert rows(spark, f"SELECT sensor, readings, total FROM {db}.readings_by_sensor ORDER BY 1") == [
        ("a", 3, 180), ("b", 3, 535)]
    assert rows(spark, QUALITY_QUERY.format(db=db, update=runs.updates[2])) == []   # the failed update
    assert rows(spark, f"SELECT sensor, _failed_rules FROM {db}.readings_by_sensor_quarantine") == [
        ("unknown", ["sensor_known"])]


def test_fail_rule_stops_the_update_and_leaves_tables_unchanged(spark, runs):
    db = runs.db
    err = runs.fail_stderr
    assert "no_poison" in err and '"id":8' in err and '"value":666' in err
    for table, before in runs.before_fail.items():
        assert rows(spark, f"SELECT * FROM {db}.{table} ORDER BY 1") == before
    assert [r[0] for r in runs.before_fail["readings"]] == [1, 2, 3, 5, 6, 7, 10, 11]
    failed = rows(spark, f"""
        SELECT origin.flow_name, error.exceptions[0].message FROM {db}.event_log
        WHERE event_type = 'flow_progress' AND get_json_object(details, '$.flow_progress.status') = 'FAILED'""")
    # readings fails on the rule; a flow still running when the update stops may be reported too.
    assert "no_poison" in dict(failed)["readings"]
    assert rows(spark, f"""SELECT get_json_object(details, '$.update_progress.state') FROM {db}.event_log
        WHERE event_type = 'update_progress' ORDER BY timestamp""") == [
        ("RUNNING",), ("COMPLETED",), ("RUNNING",), ("COMPLETED",), ("RUNNING",), ("FAILED",)]


def _rule_line(output: str, rule: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.strip().startswith(rule + " "))
    return line.split()


def _quarantine_completed_in_failed_update(spark, runs) -> bool:
    """Whether readings_quarantine (0 new rows) completed before the failure stopped the update."""
    return bool(rows(spark, f"""SELECT 1 FROM {runs.db}.event_log WHERE origin.update_id = '{runs.updates[2]}'
        AND origin.flow_name = 'readings_quarantine' AND details LIKE '%COMPLETED%'"""))


def test_quality_summary_in_the_terminal(spark, runs):
    code, out, _ = _run("quality", runs.folder, "--storage", runs.storage)
    assert code == 0
    assert f"last update {runs.updates[2][:8]} FAILED" in out
    # rule, action, passed, failed, pass rate (newest update with counts), threshold ('!' when under
    # it), trend over the three updates. Thresholds: min_pass_rate in the rules files, 100 % for fail.
    assert _rule_line(out, "value_small") == ["value_small", "warn", "2", "1", "66.7%", "!", "90.0%", "▆▆·", "="]
    assert _rule_line(out, "id_positive") == ["id_positive", "quarantine", "2", "1", "66.7%", "-", "▇▆·", "-11.1",
                                              "pts"]
    assert _rule_line(out, "total_below_limit") == ["total_below_limit", "warn", "2", "1", "66.7%", "50.0%", "█▆·",
                                                    "-33.3", "pts"]
    assert _rule_line(out, "no_poison") == ["no_poison", "fail", "3", "0", "100.0%", "100.0%", "██·", "="]
    assert "1 rule(s) under their threshold: readings.value_small 66.7% < 90.0%" in out
    flows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  readings")
             and len(line.split()) == 3}
    quarantined = ["0", "0"] if _quarantine_completed_in_failed_update(spark, runs) else ["1", "0"]
    assert flows == {"readings": ["2", "1"], "readings_quarantine": quarantined, "readings_checked": ["2", "0"],
                     "readings_by_sensor": ["2", "1"], "readings_by_sensor_quarantine": ["1", "0"],
                     "readings_by_sensor_checked": ["3", "0"]}
    assert "Quarantined rows per update (oldest first): 3, 2, 0" in out


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("google-chrome")
    if path is None:
        pytest.fail("chromium is not installed; `make test` installs it (apt package chromium).")
    return path


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--virtual-time-budget=5000"]
    profile = ARTIFACTS / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    return subprocess.run([_chromium(), *flags, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def test_html_dashboard_renders_in_headless_chromium(spark, runs):
    page = ARTIFACTS / "quality-dashboard.html"
    code, out, _ = _run("quality", runs.folder, "--storage", runs.storage, "--html", page)
    assert code == 0 and f"Dashboard written to {page}" in out
    source = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", source), "the page must not load anything"
    dom = _browser("--dump-dom", page.as_uri()).stdout
    assert 'data-rendered="true"' in dom

    def circles(rule: str) -> list[tuple[str, str, str]]:
        chart = re.search(rf'<svg[^>]*data-chart="pass-rate"[^>]*data-rule="{re.escape(rule)}".*?</svg>', dom, re.S)
        assert chart, rule
        return re.findall(r'<circle[^>]*data-update="([^"]+)"[^>]*data-value="([^"]+)"[^>]*data-passed="(\d+)"',
                          chart.group())

    first, second, _ = runs.updates
    assert circles("readings.value_small") == [(first, "0.666667", "6"), (second, "0.666667", "2")]
    assert circles("readings_by_sensor.total_below_limit") == [(first, "1.000000", "3"), (second, "0.666667", "2")]
    assert len(re.findall(r'data-chart="pass-rate"', dom)) == 7
    # The pass-rate axis spans the data (value_small: 6 of 9, then 2 of 3), not 0-100 %.
    axis = re.search(r'data-rule="readings.value_small" data-axis-low="([\d.]+)" data-axis-high="([\d.]+)"', dom)
    assert axis and 0 < float(axis.group(1)) < 6 / 9 < float(axis.group(2)) < 1
    # A fail rule's threshold (100 %) is drawn; filters by dataset, rule and update are offered.
    no_poison = re.search(r'<svg[^>]*data-rule="readings.no_poison".*?</svg>', dom, re.S)
    assert no_poison and 'data-threshold="1"' in no_poison.group()
    # value_small's min_pass_rate (0.9) is drawn inside its axis, and the table flags it as under it.
    value_small = re.search(r'<svg[^>]*data-rule="readings.value_small".*?</svg>', dom, re.S)
    assert value_small and 'data-threshold="0.9"' in value_small.group()
    assert axis and float(axis.group(1)) < 0.9 < float(axis.group(2))
    threshold_cells = dict(re.findall(r'<tr data-rule="([a-z_]+)"[^>]*>(?:<td[^>]*>[^<]*</td>){6}'
                                      r'<td[^>]*>([^<]*)</td></tr>', dom))
    assert threshold_cells["value_small"] == "90.0% (below)" and threshold_cells["total_below_limit"] == "50.0%"
    assert threshold_cells["no_poison"] == "100.0%" and threshold_cells["id_positive"] == "-"
    updates = re.search(r'<select id="filter-update">(.*?)</select>', dom, re.S)
    assert updates and all(f'value="{u}"' in updates.group(1) for u in runs.updates)
    assert re.findall(r'<select id="filter-dataset">.*?</select>', dom, re.S)[0].count("<option") == 3
    _filters_in_playwright(page, runs.updates[0])

    def bars(chart: str, key: str) -> dict[str, int]:
        block = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', dom, re.S)
        assert block, chart
        return {k: int(v) for k, v in re.findall(rf'<rect[^>]*data-{key}="([^"]+)"[^>]*data-value="(\d+)"',
                                                  block.group())}

    # failed records summed over the three updates: readings 7 + 2, readings_by_sensor 2 + 2
    assert bars("failures-by-dataset", "dataset") == {"readings": 9, "readings_by_sensor": 4}
    assert list(bars("quarantine", "update").values()) == [3, 2, 0]
    quarantined = 0 if _quarantine_completed_in_failed_update(spark, runs) else 1
    assert bars("rows-per-flow", "flow") == {"readings": 2, "readings_quarantine": quarantined,
                                            "readings_by_sensor": 2, "readings_by_sensor_quarantine": 1,
                                            "readings_checked": 2, "readings_by_sensor_checked": 3}
    assert 'data-rule="readings.no_poison"' in dom and ">fail<" in dom

    shot = ARTIFACTS / "quality-dashboard.png"
    shot.unlink(missing_ok=True)
    _browser(f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 2000)
        colors = rgb.getcolors(maxcolors=1 << 20) or []
    red = sum(n for n, (r, g, b) in colors if r > 170 and g < 90 and b < 80)   # failure bars and dots
    blue = sum(n for n, (r, g, b) in colors if b > 150 and r < 90)             # row bars and lines
    assert red > 2000 and blue > 2000, (red, blue)


def _filters_in_playwright(page: Path, first_update: str) -> None:
    """The dashboard's filters, clicked in Chromium: one dataset's rules only; one update's counts."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            view = browser.new_page()
            view.goto(page.as_uri())
            view.select_option("#filter-dataset", "readings_by_sensor")
            visible = view.locator("#rules-table tbody tr:not(.hidden)")
            assert sorted(r.get_attribute("data-rule") or "" for r in visible.all()) == [
                "enough_readings", "sensor_known", "total_below_limit"]
            assert view.locator("#pass-rate .card:not(.hidden)").count() == 3
            view.select_option("#filter-dataset", "")
            view.select_option("#filter-rule", "value_small")
            view.select_option("#filter-update", first_update)
            row = view.locator("#rules-table tbody tr:not(.hidden)")
            assert row.count() == 1
            # the first update's counts for value_small: 6 of the 9 rows of landing/1.json passed
            assert [c.inner_text() for c in row.locator("td").all()][3:] == ["6", "3", "66.7%", "90.0% (below)"]
        finally:
            browser.close()


def test_report_from_a_deployed_pipeline_through_databricks_sdk(spark, runs, monkeypatch):
    local = _run("quality", runs.folder, "--storage", runs.storage)[1]
    events = api_events(spark, runs.db)
    pid = events[0]["origin"]["pipeline_id"]
    secret = f"dapi{uuid.uuid4().hex}"
    with FakeDatabricks(token=secret, pipelines={pid: FakePipeline(pid, "quality", events)}) as fake:
        monkeypatch.setenv("DATABRICKS_HOST", fake.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", secret)
        monkeypatch.delenv("DATABRICKS_CONFIG_PROFILE", raising=False)
        monkeypatch.setenv("PALINDROM_EXPECTATIONS_DIR", str(runs.folder / "expectations"))
        page = ARTIFACTS / "quality-dashboard-remote.html"
        code, remote, err = _run("quality", "--pipeline-id", pid, "--html", page)
        assert code == 0, err
        assert remote.splitlines()[:-2] == local.splitlines()   # the same report, from the API
        event_calls = [q for path, q in fake.requests if path.endswith("/events")]
        assert len(event_calls) > 3                              # it followed next_page_token
        assert all("order_by" not in q for q in event_calls[1:])

        # Only as many pages as the updates asked for: the newest update's events come first.
        fake.requests.clear()
        code, one, _ = _run("quality", "--pipeline-id", pid, "--updates", "1")
        assert code == 0 and "trend over 1 update(s)" in one
        assert len([p for p, _ in fake.requests if p.endswith("/events")]) < len(event_calls)

        code, _, err = _run("quality", "--pipeline-id", "no-such-pipeline")
        assert code == 1 and "no-such-pipeline" in err and "was not found" in err
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong-token")
        code, out, err = _run("quality", "--pipeline-id", pid)
        assert code == 1 and "Credential was not sent" in err
        assert secret not in out + err and "dapi-wrong-token" not in out + err


def test_expectations_check_names_file_rule_and_fix(runs, tmp_path):
    # The fixture's rules against the tables the pipeline wrote.
    code, out, _ = _run("expectations", "check", "--dir", runs.folder / "expectations",
                        "--storage", runs.storage, "--database", runs.db)
    assert code == 0, out
    assert f"columns from table {runs.db}.readings)" in out and "2 of 2 rules files valid" in out

    rules_dir, schemas = tmp_path / "expectations", tmp_path / "schemas"
    rules_dir.mkdir()
    schemas.mkdir()
    (schemas / "reading.avsc").write_text(json.dumps({
        "type": "record", "name": "Reading", "fields": [
            {"name": "id", "type": "long"}, {"name": "sensor", "type": ["null", "string"]},
            {"name": "tags", "type": {"type": "array", "items": "string"}}]}))
    cases = {
        "good": "exists(tags, t -> t = 'ok') AND sensor IS NOT NULL AND id > 0",
        "typo": "sensr IS NOT NULL",
        "not_boolean": "id + 1",
        "unparsable": "id >",
        "subquery": "id IN (SELECT id FROM other)",
        "random": "rand() < 0.5",
        "udf": "my_check(sensor)",
    }
    for name, constraint in cases.items():
        (rules_dir / f"{name}.yml").write_text(
            f"dataset: {name}\nschema: reading.avsc\nrules:\n  - name: r_{name}\n"
            f"    constraint: \"{constraint}\"\n    action: warn\n")
    # A registry artifact: the latest version's columns count (v2 adds `site`).
    for version, extra in ((1, []), (2, [{"name": "site", "type": ["null", "string"], "default": None}])):
        folder = schemas / "test.group" / "reading"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"v{version}.avsc").write_text(json.dumps({
            "type": "record", "name": "Reading", "fields": [{"name": "id", "type": "long"}, *extra]}))
    (rules_dir / "from_registry.yml").write_text(
        "schema: test.group/reading\nrules:\n  - {name: site_known, constraint: site IS NOT NULL AND id > 0, "
        "action: warn}\n")
    (rules_dir / "twice.yml").write_text("dataset: twice\nrules:\n  - {name: a, constraint: x > 1, action: warn}\n"
                                         "  - {name: a, constraint: x > 2, action: drop}\n")
    code, out, _ = _run("expectations", "check", "--dir", rules_dir, "--storage", runs.storage)
    assert code == 1
    lines = {re.search(r"/(\w+)\.yml", line)[1]: line for line in out.splitlines() if line.startswith(("ok", "FAIL"))}
    assert lines["good"].startswith("ok") and "columns from reading.avsc" in lines["good"]
    assert lines["from_registry"].startswith("ok") and "columns from test.group/reading" in lines["from_registry"]
    expected = {
        "typo": "`sensr` cannot be resolved. Did you mean one of the following? [`sensor`, `id`, `tags`]",
        "not_boolean": "is bigint, not a boolean",
        "unparsable": "does not parse as Spark SQL",
        "subquery": "subqueries are not allowed",
        "random": "rand() is non-deterministic",
        "udf": "my_check() is not a built-in Spark SQL function",
        "twice": "rule 'a': the name is used twice",
    }
    for name, message in expected.items():
        assert lines[name].startswith("FAIL") and message in lines[name], lines[name]
        if name != "twice":
            assert f"{name}.yml, rule 'r_{name}'" in lines[name]
    assert "2 of 9 rules files valid" in out

    # The repository's own rules pass the static checks (their columns are checked against the
    # local tables when a storage with the pipeline's tables is given).
    code, out, _ = _run("expectations", "check", "--storage", runs.storage)
    assert code == 0, out


def _widget_rows(spark, dashboard: dict, widget: dict, db: str) -> list[dict]:
    """Run a Lakeview widget the way the dashboard does: its fields over its dataset's query."""
    query = widget["queries"][0]["query"]
    dataset = next(d for d in dashboard["datasets"] if d["name"] == query["datasetName"])
    sql = re.sub(r"\bevent_log\b", f"{db}.event_log", "".join(dataset["queryLines"]))
    fields = query["fields"]
    select = ", ".join(f"{f['expression']} AS `{f['name']}`" for f in fields)
    plain = [f["expression"] for f in fields if "(" not in f["expression"]]
    group = "" if query["disaggregated"] or not plain else " GROUP BY " + ", ".join(plain)
    return [r.asDict() for r in spark.sql(f"SELECT {select} FROM ({sql}){group} ORDER BY 1, 2").collect()]


def test_lakeview_dashboard_widgets_show_the_event_log(spark, runs):
    # tests/test_bundle.py checks that every pipeline deploys this file over its own event log.
    dashboard = json.loads((REPO / "dashboards" / "pipeline_quality.lvdash.json").read_text())
    names = {d["name"] for d in dashboard["datasets"]}
    widgets = {item["widget"]["name"]: item["widget"] for page in dashboard["pages"] for item in page["layout"]}
    for widget in widgets.values():
        query = widget["queries"][0]["query"]
        assert query["datasetName"] in names
        assert {e["fieldName"] for e in widget["spec"]["encodings"].values()} <= {f["name"] for f in query["fields"]}

    # The same numbers as the report: pass rate per rule per update, failures, quarantine, rows.
    first, second, _ = runs.updates
    rates = {(r["dataset_rule"], r["update_started"]): r["pass_rate"]
             for r in _widget_rows(spark, dashboard, widgets["pass_rate_per_rule"], runs.db)}
    started = dict(rows(spark, f"SELECT origin.update_id, timestamp FROM {runs.db}.event_log "
                               "WHERE event_type = 'create_update'"))
    assert rates[("readings.value_small", started[first])] == pytest.approx(6 / 9)
    assert rates[("readings.value_small", started[second])] == pytest.approx(2 / 3)
    assert rates[("readings_by_sensor.total_below_limit", started[first])] == 1.0
    assert len(rates) == 14                                   # 7 rules x 2 updates with counts
    assert _widget_rows(spark, dashboard, widgets["failures_by_dataset"], runs.db) == [
        {"dataset": "readings", "sum(failed)": 9}, {"dataset": "readings_by_sensor", "sum(failed)": 4}]
    assert [r["sum(quarantined_rows)"] for r in _widget_rows(spark, dashboard, widgets["quarantine_volume"],
                                                             runs.db)] == [3, 2, 0]
    flows = _widget_rows(spark, dashboard, widgets["rows_per_flow"], runs.db)
    assert {(r["flow_name"], r["sum(rows_written)"]) for r in flows if r["update_started"] == started[first]} == {
        ("readings", 6), ("readings_quarantine", 2), ("readings_by_sensor", 1), ("readings_by_sensor_quarantine", 1),
        ("readings_checked", 9), ("readings_by_sensor_checked", 3)}


def test_fail_rule_on_a_materialized_view_keeps_its_previous_contents(spark, tmp_path):
    folder, db = copy_fixture("quality", tmp_path)
    storage = folder.parent / "storage"
    rules = folder / "expectations" / "readings_by_sensor.yml"
    rules.write_text(rules.read_text() + "  - name: total_sane\n    constraint: total < 10000\n    action: fail\n")
    write_json_lines(folder / "landing" / "1.json", [
        {"id": 1, "sensor": "a", "value": 10}, {"id": 2, "sensor": "a", "value": 20},
        {"id": 3, "sensor": "b", "value": 5}, {"id": 4, "sensor": "b", "value": 6}])
    assert _run("run", folder, "--storage", storage)[0] == 0
    before = rows(spark, f"SELECT sensor, readings, total FROM {db}.readings_by_sensor ORDER BY 1")
    assert before == [("a", 2, 30), ("b", 2, 11)]

    touch_later(write_json_lines(folder / "landing" / "2.json", [{"id": 5, "sensor": "a", "value": 20000}]))
    code, _, err = _run("run", folder, "--storage", storage)
    assert code == 1
    assert "total_sane" in err and '"sensor":"a"' in err and '"total":20030' in err
    assert "notice: 'readings_by_sensor' was not refreshed in this update and keeps its previous contents." in err
    # The view keeps the previous update's rows; its upstream streaming table committed its own
    # flow before the view failed, as each flow is its own transaction on Databricks too.
    assert rows(spark, f"SELECT sensor, readings, total FROM {db}.readings_by_sensor ORDER BY 1") == before
    assert rows(spark, f"SELECT id FROM {db}.readings ORDER BY id") == [(1,), (2,), (3,), (4,), (5,)]
    last = rows(spark, f"SELECT origin.update_id FROM {db}.event_log WHERE event_type = 'create_update' "
                       "ORDER BY timestamp DESC LIMIT 1")[0][0]
    statuses = dict(rows(spark, f"""
        SELECT origin.flow_name, get_json_object(details, '$.flow_progress.status') FROM {db}.event_log
        WHERE event_type = 'flow_progress' AND origin.update_id = '{last}'
          AND get_json_object(details, '$.flow_progress.status') IN ('COMPLETED', 'FAILED')"""))
    assert statuses["readings"] == "COMPLETED" and statuses["readings_by_sensor"] == "FAILED"
    assert rows(spark, f"""SELECT get_json_object(details, '$.update_progress.state') FROM {db}.event_log
        WHERE event_type = 'update_progress' AND origin.update_id = '{last}' ORDER BY timestamp""") == [
        ("RUNNING",), ("FAILED",)]
