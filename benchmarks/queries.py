"""Q1–Q4: Grafana-shaped requests to our server and the equivalent PromQL to Prometheus, interleaved
on keep-alive connections; Q4 against a bare SELECT + orjson on the same SQLite file.

Resolution: both sides get the step Grafana would ask for, ``max(min interval, range / maxDataPoints)``
with the min interval = the data's 1-minute spacing. Our server receives it as ``intervalMs`` with the
panel's ``maxDataPoints``; Prometheus as ``step``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks.prometheus import count_prometheus, query_range
from benchmarks.report import Row
from benchmarks.timing import interleave

DAY_MS = 86_400_000
MIN_INTERVAL_MS = 60_000
QUERY_PATH = "/api/grafana-proxy/model-endpoints/query"


@dataclass(frozen=True)
class Servers:
    ours: httpx.Client  # base_url set, key header set
    prometheus: httpx.Client | None
    prometheus_url: str
    prometheus_missing: str  # why there is no Prometheus ("not installed"), when prometheus is None


@dataclass(frozen=True)
class QuerySpec:
    id: str
    title: str
    range_ms: int
    max_points: int
    target: str
    promql: str  # "{step}" is replaced by the step as a PromQL duration
    goal_ratio: float
    promql_note: str


def grafana_step_ms(range_ms: int, max_points: int) -> int:
    return max(MIN_INTERVAL_MS, -(-range_ms // max_points))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def grafana_body(target: str, start_ms: int, end_ms: int, step_ms: int, max_points: int) -> bytes:
    """A /query body as Grafana's SimpleJSON/simPod plugins send it (absolute range plus raw range)."""
    body: dict[str, Any] = {
        "app": "dashboard",
        "panelId": 2,
        "range": {"from": _iso(start_ms), "to": _iso(end_ms), "raw": {"from": _iso(start_ms), "to": _iso(end_ms)}},
        "rangeRaw": {"from": _iso(start_ms), "to": _iso(end_ms)},
        "interval": f"{step_ms}ms",
        "intervalMs": step_ms,
        "maxDataPoints": max_points,
        "targets": [{"target": target, "refId": "A", "type": "timeserie", "datasource": {"type": "simpod"}}],
        "format": "json",
        "adhocFilters": [],
    }
    return orjson.dumps(body)


def count_ours(body: bytes) -> tuple[int, int]:
    frames: Any = orjson.loads(body)
    series = [f for f in frames if "datapoints" in f]
    return len(series), sum(len(f["datapoints"]) for f in series)


def _post(client: httpx.Client, body: bytes) -> Callable[[], bytes]:
    def call() -> bytes:
        response = client.post(QUERY_PATH, content=body, headers={"content-type": "application/json"})
        response.raise_for_status()
        return response.content

    return call


def measure_query(servers: Servers, spec: QuerySpec, end_ms: int, runs: int, warmup: int) -> Row:
    start_ms = end_ms - spec.range_ms
    step_ms = grafana_step_ms(spec.range_ms, spec.max_points)
    promql = spec.promql.replace("{step}", f"{step_ms}ms")
    goal = f"<= {spec.goal_ratio:g}x Prometheus"
    row = Row(spec.id, spec.title, "ms", goal)
    ours = _post(servers.ours, grafana_body(spec.target, start_ms, end_ms, step_ms, spec.max_points))
    series, points = count_ours(ours())
    row.details = {
        "step_ms": step_ms,
        "max_data_points": spec.max_points,
        "range_ms": spec.range_ms,
        "target": spec.target,
        "promql": promql,
        "promql_note": spec.promql_note,
        "ours_series": series,
        "ours_points": points,
    }
    calls: list[Callable[[], object]] = [ours]
    if servers.prometheus is not None:
        client, url = servers.prometheus, servers.prometheus_url

        def theirs() -> bytes:
            return query_range(client, url, promql, start_ms, end_ms, step_ms / 1000)

        row.details["prometheus_series"], row.details["prometheus_points"] = count_prometheus(theirs())
        calls.append(theirs)
    timings = interleave(calls, runs, warmup)
    row.ours = timings[0].median
    row.details["ours"] = timings[0].summary()
    if len(timings) > 1:
        row.theirs, row.theirs_label = timings[1].median, "Prometheus"
        row.details["prometheus"] = timings[1].summary()
        assert row.ratio is not None
        row.met = row.ratio <= spec.goal_ratio
    else:
        row.theirs_label = servers.prometheus_missing
    return row


def query_specs(project: str, uid: str, metric: str) -> list[QuerySpec]:
    one = f"target_endpoint=metrics;project={project};endpoint_id={uid};metric={metric}"
    every = f"target_endpoint=metrics;project={project};metric={metric}"
    selector_one = f'{metric}{{project="{project}",endpoint_id="{uid}"}}'
    selector_all = f'{metric}{{project="{project}"}}'
    return [
        QuerySpec(
            "Q1",
            "1 series, 24 h of 1-min points, maxDataPoints 1000",
            DAY_MS,
            1000,
            one,
            selector_one,
            1.0,
            "plain selector, as Grafana's Prometheus editor sends it (no avg_over_time)",
        ),
        QuerySpec(
            "Q2",
            "1 series, 30 days, maxDataPoints 1000",
            30 * DAY_MS,
            1000,
            one,
            f"avg_over_time({selector_one}[{{step}}])",
            0.5,
            "avg_over_time over one step: the equivalent of our per-bucket average",
        ),
        QuerySpec(
            "Q3",
            "all endpoints' latency series in 1 request, 7 days, 500 points",
            7 * DAY_MS,
            500,
            every,
            f"avg_over_time({selector_all}[{{step}}])",
            1.0,
            "one PromQL query for every endpoint of the project, avg_over_time over one step",
        ),
    ]


class BareSelect:
    """The floor for Q4: the same rows and columns straight from sqlite3, encoded by orjson, in-process
    on a connection kept open (like our server's pool)."""

    SQL = (
        "SELECT uid, name, function_uri, model, model_class, first_request, last_request, accuracy, "
        "error_count, drift_status, predictions_per_second, latency_avg_1h, sampling_percentage "
        "FROM endpoints WHERE project = ? ORDER BY uid"
    )

    def __init__(self, db_path: Path, project: str) -> None:
        self.conn = sqlite3.connect(str(db_path))
        self.project = project

    def __call__(self) -> bytes:
        return orjson.dumps(self.conn.execute(self.SQL, (self.project,)).fetchall())

    def close(self) -> None:
        self.conn.close()


def measure_table(servers: Servers, db_path: Path, project: str, end_ms: int, runs: int, warmup: int) -> Row:
    row = Row("Q4", "list_endpoints table (one request)", "ms", "<= 100 ms and <= 2x bare SELECT+orjson")
    target = f"target_endpoint=list_endpoints;project={project}"
    ours = _post(servers.ours, grafana_body(target, end_ms - 3_600_000, end_ms, MIN_INTERVAL_MS, 1000))
    frames: Any = orjson.loads(ours())
    bare = BareSelect(db_path, project)
    try:
        rows_bare = len(orjson.loads(bare()))
        ours_t, bare_t = interleave([ours, bare], runs, warmup)
    finally:
        bare.close()
    row.ours, row.theirs, row.theirs_label = ours_t.median, bare_t.median, "bare SELECT+orjson, in-process"
    rows_ours = len(frames[0]["rows"]) if frames else 0
    row.details = {"rows_ours": rows_ours, "rows_bare": rows_bare, "ours": ours_t.summary(), "bare": bare_t.summary()}
    assert row.ratio is not None
    row.met = row.ours <= 100.0 and row.ratio <= 2.0
    return row


def sanity(row: Row) -> None:
    """Both sides must have answered with data, or the timing compares nothing."""
    details = row.details
    if (
        details.get("ours_points", 1) == 0
        or details.get("prometheus_points", 1) == 0
        or details.get("rows_ours", 1) == 0
    ):
        row.status, row.met = "failed: an empty answer (see details)", False
