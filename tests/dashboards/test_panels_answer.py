"""Every panel and variable of every generated dashboard, sent as its plugin sends it,
gets a well-formed, non-empty answer from the app on seeded demo data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.archive.artifacts import ArtifactKeeper
from grafana_proxy.dashboards import names as n
from grafana_proxy.runtime import Runtime
from grafana_proxy.seeding.seeder import SeedOptions, seed_project
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.dashboards.grafana_requests import (
    Variables,
    infinity_body,
    simplejson_annotation,
    simplejson_query,
)
from tests.dashboards.walk import dashboard_files, load

PREFIX = n.ROUTE_PREFIX
PROJECT = "demo"
FILES = [f for f in dashboard_files() if "/provisioning/" in f]
HOURS = {"now-6h": 6, "now-24h": 24}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(db_url=None, data_dir=Path(tmp_path_factory.mktemp("demo")) / "data")
    stores = open_stores(settings)
    try:
        seed_project(stores, SeedOptions(project=PROJECT, endpoints=5, days=2, step_seconds=300, seed=11))
        # The seeder writes no artifacts (they come from applications such as Evidently's): keep one
        # report per endpoint for the Reports table, through the same keeper the controller uses.
        keeper = ArtifactKeeper(str(settings.data_dir / "archive"), stores.artifacts)
        end = int(time.time() * 1000) // 600_000 * 600_000
        for uid in stores.endpoints.uids(PROJECT):
            keeper.save(PROJECT, uid, "evidently-data-drift", end - 600_000, end, "r.html", b"<p>r</p>", "text/html")
        key = stores.keys.create("grafana", None, "read")[1]
        with TestClient(create_app(Runtime.build(settings, stores))) as http:
            yield http, {"X-V3io-Session-Key": key}
    finally:
        close_stores(stores)


def time_range(dash: dict[str, Any]) -> tuple[int, int]:
    end = int(time.time() * 1000)
    return end - HOURS[dash["time"]["from"]] * 3_600_000, end


def post(client: tuple[TestClient, dict[str, str]], path: str, body: Any) -> Any:
    http, headers = client
    response = http.post(PREFIX + path, json=body, headers=headers)
    assert response.status_code == 200, (path, body, response.text)
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def resolve_variables(client: tuple[TestClient, dict[str, str]], dash: dict[str, Any], flavour: str) -> Variables:
    """Fill the variables in order, as Grafana does on load: first option, or all for multi 'All'."""
    variables = Variables({})
    start, end = time_range(dash)
    for var in dash["templating"]["list"]:
        if flavour == "simplejson":
            answer = post(client, "/search", {"target": variables.regex(var["query"])})
            assert isinstance(answer, list) and answer, (var["name"], answer)
            # Strings, or {text, value} objects where the value reads badly (endpoint uids).
            options = [v["value"] if isinstance(v, dict) else v for v in answer]
            assert all(isinstance(v, str) and v for v in options)
        else:
            query = var["query"]["infinityQuery"]
            rows = post(client, query["url"], infinity_body(query, start, end, variables))
            assert isinstance(rows, list) and rows, (var["name"], rows)
            value_col = next(c["selector"] for c in query["columns"] if c["text"] == "__value")
            assert all(isinstance(row.get(value_col), str) and row[value_col] for row in rows), rows[:3]
            options = [row[value_col] for row in rows]
        variables.values[var["name"]] = options if var["multi"] else options[:1]
    return variables


def check_simplejson_frames(panel: dict[str, Any], frames: Any) -> int:
    """Validate SimpleJSON frames; return how many datapoints/rows they hold."""
    assert isinstance(frames, list)
    ref_ids = {t["refId"] for t in panel["targets"]}
    kinds = {t["refId"]: t["type"] for t in panel["targets"]}
    size = 0
    for frame in frames:
        assert frame.get("refId") in ref_ids
        if kinds[frame["refId"]] == "table":
            assert frame["type"] == "table"
            assert all(set(c) >= {"text", "type"} for c in frame["columns"])
            assert all(len(row) == len(frame["columns"]) for row in frame["rows"])
            names = {c["text"] for c in frame["columns"]}
            for override in panel["fieldConfig"]["overrides"]:
                assert override["matcher"]["options"] in names
            size += len(frame["rows"])
        else:
            assert isinstance(frame["target"], str)
            points = frame["datapoints"]
            assert all(
                len(p) == 2 and isinstance(p[1], int) and (p[0] is None or isinstance(p[0], int | float))
                for p in points
            )
            assert [p[1] for p in points] == sorted(p[1] for p in points)
            size += len(points)
    return size


def check_infinity_rows(query: dict[str, Any], rows: Any) -> int:
    assert isinstance(rows, list)
    for row in rows:
        for col in query["columns"]:
            value = row.get(col["selector"], None)
            assert col["selector"] in row, (col, row)
            if col["type"] == "timestamp_epoch":
                assert isinstance(value, int) and value > 1_000_000_000_000
            elif col["type"] == "number":
                assert value is None or (isinstance(value, int | float) and not isinstance(value, bool))
            else:
                assert value is None or isinstance(value, str)
    return len(rows)


def panel_answers(client: tuple[TestClient, dict[str, str]], rel: str) -> dict[str, int]:
    dash = load(rel)
    flavour = rel.split("/")[1]
    variables = resolve_variables(client, dash, flavour)
    start, end = time_range(dash)
    sizes: dict[str, int] = {}
    for panel in dash["panels"]:
        if panel["type"] == "row":  # a row header: no query
            continue
        if flavour == "simplejson":
            frames = post(client, "/query", simplejson_query(dash, panel, start, end, variables))
            sizes[panel["title"]] = sizes.get(panel["title"], 0) + check_simplejson_frames(panel, frames)
        else:
            total = 0
            for query in panel["targets"]:
                rows = post(client, query["url"], infinity_body(query, start, end, variables))
                total += check_infinity_rows(query, rows)
            sizes[panel["title"]] = sizes.get(panel["title"], 0) + total
    for annotation in dash["annotations"]["list"]:
        if "query" in annotation:
            raw = {"from": dash["time"]["from"], "to": dash["time"]["to"]}
            events = post(client, "/annotations", simplejson_annotation(annotation, start, end, raw, variables))
            assert isinstance(events, list)
            assert all(isinstance(e["time"], int) and e["title"] for e in events)
    return sizes


@pytest.mark.parametrize("rel", FILES)
def test_every_panel_answers(client: tuple[TestClient, dict[str, str]], rel: str) -> None:
    sizes = panel_answers(client, rel)
    empty = [p for p, size in sizes.items() if size == 0]
    assert not empty, f"{rel}: panels without data: {empty} ({json.dumps(sizes)})"
