"""A drifting endpoint end to end: training file -> ``reference set`` (statistics and kept rows) ->
archived windows (one like the training data, one drifted with missing and out-of-range values) ->
the controller with data-quality, outliers and evidently-data-drift -> the Details dashboard's Data
quality panels, queried as SimpleJSON and Infinity send them -> the Evidently report through the link
of the Reports table, with a read key, refused without one and with another project's key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from grafana_proxy.app import create_app
from grafana_proxy.cli import monitor
from grafana_proxy.dashboards import names as n
from grafana_proxy.model import ResultStatus, TimeRange
from grafana_proxy.monitoring.build import build_controller
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.dashboards.grafana_requests import Variables, infinity_body, simplejson_query
from tests.dashboards.walk import load
from tests.monitoring.conftest import PERIOD, T0, event_row, write_archive

PROJECT, UID = "shop", "churn-model"
APPS = ["data-quality", "outliers", "evidently-data-drift"]
rng = np.random.default_rng(21)
TRAIN = pd.DataFrame({"tenure": rng.normal(24, 6, 4000), "spend": rng.normal(80, 15, 4000)})


def _rows(frame: pd.DataFrame, start: int, tag: str) -> list[dict[str, Any]]:
    step = PERIOD // (len(frame) + 1)
    return [
        event_row(start + (i + 1) * step, f"{tag}{i}", {k: (None if pd.isna(v) else float(v)) for k, v in row.items()})
        for i, row in enumerate(frame.to_dict("records"))
    ]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Stores, dict[str, str]]]:
    data = tmp_path / "data"
    monkeypatch.setenv("GRAFANA_PROXY_DATA_DIR", str(data))
    TRAIN.to_csv(tmp_path / "train.csv", index=False)
    cli = typer.Typer()
    cli.add_typer(monitor.reference_app, name="reference")
    args = [
        "reference",
        "set",
        "--project",
        PROJECT,
        "--endpoint",
        UID,
        "--from-file",
        str(tmp_path / "train.csv"),
        "--create",
    ]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0 and "4000 rows kept" in done.output, done.output
    clean = TRAIN.sample(600, random_state=2).reset_index(drop=True)
    drifted = pd.DataFrame({"tenure": rng.normal(40, 6, 600), "spend": rng.normal(80, 15, 600)})
    drifted.loc[:89, "spend"] = None  # 15% missing
    drifted.loc[90:149, "spend"] = 1_000.0  # 10% far outside the training range
    archive = str((data / "archive").resolve())
    write_archive(archive, PROJECT, UID, _rows(clean, T0, "c") + _rows(drifted, T0 + PERIOD, "d"))
    settings = Settings(
        data_dir=data, monitoring_applications=APPS, monitoring_window_delay_seconds=60, controller_in_serve=False
    )
    stores = open_stores(settings)
    try:
        stores.endpoints.upsert(PROJECT, UID, {"name": "churn", "first_request": T0})
        summary = build_controller(Runtime.build(settings, stores)).run_once(T0 + 2 * PERIOD + 120_000)
        assert summary.failures == [] and summary.artifacts == 2, summary
        keys = {
            "read": stores.keys.create("grafana", [PROJECT], "read")[1],
            "other": stores.keys.create("other", ["elsewhere"], "read")[1],
        }
        with TestClient(create_app(Runtime.build(settings, stores))) as http:
            yield http, stores, keys
    finally:
        close_stores(stores)


def panel(dash: dict[str, Any], title: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in dash["panels"] if p["title"] == title)
    return found


def ask(http: TestClient, key: str, flavour: str, dash: dict[str, Any], title: str) -> list[dict[str, Any]]:
    """The panel's query as the plugin sends it; rows as objects keyed by column name."""
    variables = Variables({"PROJECT": [PROJECT], "MODELENDPOINT": [UID]})
    start, end = T0 - 3_600_000, T0 + 3 * PERIOD
    headers = {"X-V3io-Session-Key": key}
    p = panel(dash, title)
    if flavour == "simplejson":
        body = simplejson_query(dash, p, start, end, variables)
        answer = http.post(n.ROUTE_PREFIX + "/query", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = []
        for frame in answer.json():
            if frame.get("type") == "table":
                names = [c["text"] for c in frame["columns"]]
                rows += [dict(zip(names, r, strict=True)) for r in frame["rows"]]
            else:
                rows += [{"series": frame["target"], "time": t, "value": v} for v, t in frame["datapoints"]]
        return rows
    query = p["targets"][0]
    answer = http.post(n.ROUTE_PREFIX + query["url"], json=infinity_body(query, start, end, variables), headers=headers)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


@pytest.mark.parametrize("flavour", n.FLAVOURS)
def test_quality_outliers_and_report_link_on_the_details_dashboard(
    served: tuple[TestClient, Stores, dict[str, str]], flavour: str
) -> None:
    http, stores, keys = served
    dash = load(f"dashboards/{flavour}/provisioning/model-monitoring-details.json")
    assert panel(dash, "Data quality")["type"] == "row"

    per_feature = {r["feature_name"]: r for r in ask(http, keys["read"], flavour, dash, "Data quality per feature")}
    assert set(per_feature) == {"tenure", "spend"}
    assert per_feature["spend"]["missing_share"] == pytest.approx(0.15)
    assert per_feature["spend"]["out_of_range_share"] == pytest.approx(60 / 510)  # of the present values
    assert per_feature["spend"]["outlier_share"] == pytest.approx(0.1)
    assert per_feature["tenure"]["out_of_range_share"] > 0.1  # the shifted feature leaves the training range
    assert per_feature["tenure"]["time"] == T0 + 2 * PERIOD

    statuses = ask(http, keys["read"], flavour, dash, "Data quality status")
    newest = {r["series"]: r["value"] for r in statuses if r["time"] == T0 + 2 * PERIOD}
    assert newest["data-quality missing_share"] == ResultStatus.potential_detection
    assert newest["data-quality out_of_range_share"] == ResultStatus.potential_detection  # tenure: 0.05 to 0.2
    outliers = ask(http, keys["read"], flavour, dash, "Outlier share")
    assert [round(r["value"], 3) for r in sorted(outliers, key=lambda r: r["time"])][-1] >= 0.1

    reports = ask(http, keys["read"], flavour, dash, "Reports")
    assert [(r["application"], r["name"], r["time"]) for r in reports] == [
        ("evidently-data-drift", "evidently-report.html", T0 + 2 * PERIOD),
        ("evidently-data-drift", "evidently-report.html", T0 + PERIOD),
    ]
    # The data link: Grafana's data proxy maps /api/datasources/proxy/uid/<ds>/<link> to <datasource URL>/<link>.
    link = panel(dash, "Reports")["fieldConfig"]["overrides"]
    url = next(p["value"][0]["url"] for o in link for p in o["properties"] if p["id"] == "links")
    assert url == f"/api/datasources/proxy/uid/{n.DATASOURCES[flavour].uid}/${{__data.fields.link}}"
    # The field the link reads stays in the frame (hidden by an override, not excluded by a transformation).
    excluded = panel(dash, "Reports")["transformations"][0]["options"]["excludeByName"]
    assert "link" not in excluded
    path = f"{n.ROUTE_PREFIX}/{reports[0]['link']}"
    opened = http.get(path, headers={"X-V3io-Session-Key": keys["read"]})
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/html")
    assert opened.headers["content-encoding"] == "gzip"  # stored compressed, sent as stored
    plain = http.get(path, headers={"X-V3io-Session-Key": keys["read"], "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == opened.content
    assert opened.headers["content-security-policy"].startswith("sandbox")
    assert b"Drifted" in opened.content and b"tenure" in opened.content and len(opened.content) == reports[0]["size"]
    assert http.get(path).status_code == 401
    refused = http.get(path, headers={"X-V3io-Session-Key": keys["other"]})
    assert refused.status_code == 403 and "message" in refused.json()


def test_the_stable_api_url_and_the_drift_verdicts(served: tuple[TestClient, Stores, dict[str, str]]) -> None:
    http, stores, keys = served
    listed = http.get(
        f"/api/v1/projects/{PROJECT}/model-endpoints/{UID}/artifacts", headers={"X-V3io-Session-Key": keys["read"]}
    )
    assert listed.status_code == 200
    newest = listed.json()[0]
    assert newest["end_infer_time"] == T0 + 2 * PERIOD
    good = http.get(newest["url"], headers={"Authorization": f"Bearer {keys['read']}"})
    assert good.status_code == 200 and good.content.lstrip().lower().startswith(b"<!doctype html")
    assert http.get(newest["url"]).status_code == 401
    assert http.get(newest["url"], headers={"X-V3io-Session-Key": keys["other"]}).status_code == 403
    # Another project's path with this artifact's id finds nothing, even with an all-projects key.
    admin = stores.keys.create("admin", None, "read")[1]
    elsewhere = f"/api/v1/projects/elsewhere/model-endpoints/{UID}/artifacts/{newest['id']}"
    assert http.get(elsewhere, headers={"X-V3io-Session-Key": admin}).status_code == 404
    bad = http.get(
        f"/api/v1/projects/{PROJECT}/model-endpoints/{UID}/artifacts/..%2Fx", headers={"X-V3io-Session-Key": admin}
    )
    assert bad.status_code in (404, 422) and "message" in bad.json()
    latest = {(r.application, r.name): r for r in stores.results.latest(PROJECT, [UID])}
    assert latest[("evidently-data-drift", "drifted_columns_share")].status == ResultStatus.detected
    assert latest[("outliers", "outlier_share")].status == ResultStatus.detected
    first_window = stores.results.query(PROJECT, TimeRange(T0, T0 + PERIOD + 1), [UID], "evidently-data-drift")
    assert [r.status for r in first_window] == [ResultStatus.no_detection]


def test_quality_and_artifact_targets_name_what_is_wrong(served: tuple[TestClient, Stores, dict[str, str]]) -> None:
    http, _, keys = served
    headers = {"X-V3io-Session-Key": keys["read"]}
    for target, status, words in (
        (f"target_endpoint=data_quality;project={PROJECT}", 400, "endpoint_id"),
        (f"target_endpoint=data_quality;project={PROJECT};endpoint_id=nope", 404, "nope"),
        (f"target_endpoint=list_artifacts;project={PROJECT};endpoint_id=nope", 404, "nope"),
        ("target_endpoint=list_artifacts;project=elsewhere", 403, "elsewhere"),
    ):
        answer = http.post(f"{n.ROUTE_PREFIX}/rows", json={"target": target}, headers=headers)
        assert answer.status_code == status, (target, answer.text)
        assert words in answer.json()["message"], answer.json()
    # Outside the analysed windows the tables are empty, not an error.
    quiet = {"target": f"target_endpoint=list_artifacts;project={PROJECT};endpoint_id={UID}", "from": 0, "to": 1000}
    assert http.post(f"{n.ROUTE_PREFIX}/rows", json=quiet, headers=headers).json() == []
