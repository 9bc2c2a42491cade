"""The generated dashboards: up to date with the build, and sane for Grafana and for the contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.render import build_files, stale_files
from grafana_proxy.targets.params import check_keys, parse_target
from grafana_proxy.targets.registry import load_registry
from tests.dashboards import contract
from tests.dashboards.walk import ROOT, dashboard_files, load, panel_targets, resolve_macros, target_string

ALLOWED_PANELS = {"timeseries", "table", "stat", "heatmap", "bargauge", "state-timeline", "piechart", "row"}
FILES = dashboard_files()


def flavour_of(rel: str) -> str:
    return rel.split("/")[1]


def test_committed_files_equal_the_build() -> None:
    assert stale_files(ROOT) == [], "run `grafana-proxy dashboards build` and commit the result"
    assert len(FILES) == 16


def test_build_check_cli_detects_a_stale_file(tmp_path: Path) -> None:
    from grafana_proxy.cli.dashboards import app

    runner = CliRunner()
    assert runner.invoke(app, ["build", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["build", "--out", str(tmp_path), "--check"]).exit_code == 0
    victim = tmp_path / next(iter(build_files()))
    victim.write_text(victim.read_text() + " ")
    result = runner.invoke(app, ["build", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 1


@pytest.mark.parametrize("rel", FILES)
def test_dashboard_shape(rel: str) -> None:
    dash = load(rel)
    idents = {d.uid: d for d in n.ALL_DASHBOARDS}
    assert dash["uid"] in idents and dash["title"] == idents[dash["uid"]].title
    assert Path(rel).stem == idents[dash["uid"]].slug
    assert dash["schemaVersion"] == 39
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    titles = [p["title"] for p in dash["panels"]]
    assert len(titles) == len(set(titles))
    for panel in dash["panels"]:
        assert panel["type"] in ALLOWED_PANELS, panel["type"]
        pos = panel["gridPos"]
        assert 1 <= pos["w"] <= 24 and 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0
        assert panel["title"] and panel["description"]
    names = [v["name"] for v in dash["templating"]["list"]]
    assert names[0] == "PROJECT" and set(names) <= {"PROJECT", "MODELENDPOINT", "APPLICATION", "METRIC"}
    # every variable a target uses is defined on the dashboard
    used = set(re.findall(r"\$([A-Z]+)", json.dumps([t for _, t in panel_targets(dash)])))
    assert used <= set(names), used - set(names)


@pytest.mark.parametrize("rel", FILES)
def test_datasource_refs(rel: str) -> None:
    text = (ROOT / rel).read_text()
    dash = json.loads(text)
    ds = n.DATASOURCES[flavour_of(rel)]  # type: ignore[index]
    want_uid = ds.uid if "/provisioning/" in rel else "${DS_MODEL_MONITORING}"
    if "/provisioning/" in rel:
        assert "${DS_" not in text and "__inputs" not in dash
    else:
        assert dash["__inputs"][0]["name"] == "DS_MODEL_MONITORING"
        assert dash["__inputs"][0]["pluginId"] == ds.plugin_id
        assert {"type": "datasource", "id": ds.plugin_id} in [
            {k: r[k] for k in ("type", "id")} for r in dash["__requires"]
        ]
    refs = [p["datasource"] for p in dash["panels"]]
    refs += [t["datasource"] for _, t in panel_targets(dash)]
    refs += [v["datasource"] for v in dash["templating"]["list"]]
    refs += [a["datasource"] for a in dash["annotations"]["list"] if not a.get("builtIn")]
    assert refs and all(r == {"type": ds.plugin_id, "uid": want_uid} for r in refs), refs


def _check_target(text: str, kinds: dict[str, tuple[str, ...]]) -> None:
    params = parse_target(text)
    name = params["target_endpoint"]
    assert name in kinds, f"{text!r}: {name} is not a contract target of this kind"
    unknown = set(params) - set(kinds[name]) - set(contract.COMMON)
    assert not unknown, f"{text!r}: keys {unknown} not in the contract"


@pytest.mark.parametrize("rel", FILES)
def test_every_target_string_is_in_the_contract(rel: str) -> None:
    dash = load(rel)
    registry = load_registry()
    for _panel, query in panel_targets(dash):
        text = target_string(query)
        _check_target(text, contract.QUERY_TARGETS)
        params = parse_target(text)
        check_keys(params, registry.get(params["target_endpoint"], "query").params, params["target_endpoint"])
    for var in dash["templating"]["list"]:
        text = var["definition"]
        _check_target(text, contract.SEARCH_TARGETS)
    for ann in dash["annotations"]["list"]:
        if "query" in ann:
            _check_target(ann["query"], contract.ANNOTATION_TARGETS)


@pytest.mark.parametrize("rel", [f for f in FILES if "/simplejson/" in f])
def test_simplejson_targets(rel: str) -> None:
    dash = load(rel)
    for _panel, target in panel_targets(dash):
        assert set(target) == {"datasource", "refId", "target", "type"}
        assert target["type"] in ("timeserie", "table")
    for var in dash["templating"]["list"]:
        assert var["query"] == var["definition"]  # the /search target string


@pytest.mark.parametrize("rel", [f for f in FILES if "/infinity/" in f])
def test_infinity_queries(rel: str) -> None:
    dash = load(rel)
    queries = [t for _, t in panel_targets(dash)]
    queries += [v["query"]["infinityQuery"] for v in dash["templating"]["list"]]
    for query in queries:
        assert query["type"] == "json" and query["source"] == "url" and query["parser"] == "backend"
        assert query["url"] == "/rows" and query["format"] in ("table", "timeseries")
        opts = query["url_options"]
        assert opts["method"] == "POST" and opts["body_content_type"] == "application/json"
        body = json.loads(
            resolve_macros(
                opts["data"], variables={"PROJECT": "p", "MODELENDPOINT": "e", "APPLICATION": "a", "METRIC": "m"}
            )
        )
        assert body["from"] == 1_700_000_000_000 and body["to"] == 1_700_003_600_000
        assert query["columns"] and all(c["type"] in ("string", "number", "timestamp_epoch") for c in query["columns"])
        if query["format"] == "timeseries":
            assert {"selector": "time", "text": "Time", "type": "timestamp_epoch"} in query["columns"]
        name = parse_target(body["target"])["target_endpoint"]
        if name in contract.TABLE_COLUMNS:
            assert {c["selector"] for c in query["columns"]} <= set(contract.TABLE_COLUMNS[name])
    for var in dash["templating"]["list"]:
        assert var["query"]["queryType"] == "infinity"
        assert "__value" in {c["text"] for c in var["query"]["infinityQuery"]["columns"]}


def _overrides(panel: dict[str, object]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for o in panel["fieldConfig"]["overrides"]:  # type: ignore[index]
        out[o["matcher"]["options"]] = {p["id"]: p["value"] for p in o["properties"]}
    return out


@pytest.mark.parametrize("flavour", n.FLAVOURS)
def test_mlrun_faults_are_fixed(flavour: str) -> None:
    overview = load(f"dashboards/{flavour}/provisioning/model-monitoring-overview.json")
    details = load(f"dashboards/{flavour}/provisioning/model-monitoring-details.json")
    models = next(p for p in overview["panels"] if p["title"] == "Models")
    links = _overrides(models)["endpoint_id"]["links"]
    for link in links:  # drill-down carries the right variable names and the time range
        assert "var-MODELENDPOINT=" in link["url"] and "${PROJECT:queryparam}" in link["url"]
        assert "${__url_time_range}" in link["url"] and "\ufeff" not in link["url"]
        assert "var-MODEL=" not in link["url"]
    drift = _overrides(models)["drift_status"]["mappings"][0]["options"]
    assert {k: (v["text"], v["color"]) for k, v in drift.items()} == {
        "0": ("Stable", "green"),
        "1": ("Potential Drift", "orange"),
        "2": ("Detected", "red"),
        "-1": ("N/A", "text"),
    }
    features = next(p for p in details["panels"] if p["title"] == "Features analysis")
    names = {k: v.get("displayName") for k, v in _overrides(features).items()}
    assert names["expected_min"] == "Expected Min" and names["expected_max"] == "Expected Max"
    errors = next(p for p in overview["panels"] if p["title"] == "Errors over time" and p["type"] == "timeseries")
    assert "select metric" not in json.dumps(errors) and "error_count" in json.dumps(errors["targets"])
    kpis = [target_string(t) for p in overview["panels"] if p["type"] in ("stat", "heatmap") for t in p["targets"]]
    assert all("project_summary" in k or "filter_router=true" in k for k in kpis)
    latency_units = [p["fieldConfig"]["defaults"].get("unit") for p in overview["panels"] if "atency" in p["title"]]
    assert latency_units and set(latency_units) == {"µs"}
    for dash in (overview, details):
        links = dash["links"]
        assert len(links) == 3 and all(link["includeVars"] and link["keepTime"] for link in links)
    assert not any(p["type"] == "graph" for p in overview["panels"] + details["panels"])
