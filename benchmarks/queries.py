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
POSTGRES_GOAL_RATIO = 1.5  # Q1-Q3 on PostgreSQL vs Prometheus; Q4 vs its absolute goal
Q4_GOAL_MS = 50.0
MIN_INTERVAL_MS = 60_000
QUERY_PATH = "/api/grafana-proxy/model-endpoints/query"


@dataclass(frozen=True)
class Servers:
    ours: httpx.Client  # base_url set, key header set
    prometheus: httpx.Client | None
    prometheus_url: str
    prometheus_missing: str  # why there is no Prometheus ("not installed"), when prometheus is None
    postgres: httpx.Client | None = None  # our api role on the PostgreSQL copy (base_url, key set)
    postgres_missing: str = "not measured"


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
    goal_p99_ratio: float | None = None  # ours' p99 <= this x Prometheus' p99, too


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
    if spec.goal_p99_ratio is not None:
        goal += f", p99 <= {spec.goal_p99_ratio:g}x Prometheus' p99"
    row = Row(spec.id, spec.title, "ms", goal)
    body = grafana_body(spec.target, start_ms, end_ms, step_ms, spec.max_points)
    ours = _post(servers.ours, body)
    answer = ours()
    series, points = count_ours(answer)
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
    postgres = _postgres_call(servers, body, answer, row)
    if postgres is not None:
        calls.append(postgres)
    timings = interleave(calls, runs, warmup)
    row.ours = timings[0].median
    row.details["ours"] = timings[0].summary()
    if servers.prometheus is not None:
        theirs_t = timings[1]
        row.theirs, row.theirs_label = theirs_t.median, "Prometheus"
        row.details["prometheus"] = theirs_t.summary()
        assert row.ratio is not None
        row.met = row.ratio <= spec.goal_ratio
        if spec.goal_p99_ratio is not None:
            row.details["p99_ratio"] = round(timings[0].p99 / theirs_t.p99, 3)
            row.met = row.met and timings[0].p99 <= spec.goal_p99_ratio * theirs_t.p99
    else:
        row.theirs_label = servers.prometheus_missing
    if postgres is not None:
        row.postgres = timings[-1].median
        row.details["postgres"] = timings[-1].summary()
        if row.postgres_ratio is not None:
            row.postgres_met = row.postgres_ratio <= POSTGRES_GOAL_RATIO
    return row


def _postgres_call(servers: Servers, body: bytes, answer: bytes, row: Row) -> Callable[[], bytes] | None:
    """The same request to our api role on PostgreSQL, when there is one; its answer must be the
    SQLite one byte for byte (same samples, same code), or the row says how they differ."""
    if servers.postgres is None:
        row.postgres_label = servers.postgres_missing
        return None
    call = _post(servers.postgres, body)
    other = call()
    row.details["postgres_identical"] = other == answer
    if other != answer:
        row.postgres_label = f"answers differ ({len(other)} vs {len(answer)} bytes)"
    return call


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
            2.0,
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
            2.0,
        ),
        QuerySpec(
            "Q3",
            "all endpoints' latency series in 1 request, 7 days, 500 points",
            7 * DAY_MS,
            500,
            every,
            f"avg_over_time({selector_all}[{{step}}])",
            0.7,
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
    row = Row("Q4", "list_endpoints table (one request)", "ms", f"<= {Q4_GOAL_MS:g} ms")
    target = f"target_endpoint=list_endpoints;project={project}"
    body = grafana_body(target, end_ms - 3_600_000, end_ms, MIN_INTERVAL_MS, 1000)
    ours = _post(servers.ours, body)
    answer = ours()
    frames: Any = orjson.loads(answer)
    bare = BareSelect(db_path, project)
    calls: list[Callable[[], object]] = [ours, bare]
    postgres = _postgres_call(servers, body, answer, row)
    if postgres is not None:
        calls.append(postgres)
    try:
        rows_bare = len(orjson.loads(bare()))
        timings = interleave(calls, runs, warmup)
    finally:
        bare.close()
    ours_t, bare_t = timings[0], timings[1]
    row.ours, row.theirs, row.theirs_label = ours_t.median, bare_t.median, "bare SELECT+orjson, in-process"
    rows_ours = len(frames[0]["rows"]) if frames else 0
    row.details.update(
        {"rows_ours": rows_ours, "rows_bare": rows_bare, "ours": ours_t.summary(), "bare": bare_t.summary()}
    )
    row.met = row.ours <= Q4_GOAL_MS
    if postgres is not None:
        row.postgres = timings[-1].median
        row.details["postgres"] = timings[-1].summary()
        # No Prometheus equivalent: PostgreSQL is held to 1.5x the absolute goal.
        row.postgres_met = row.postgres <= POSTGRES_GOAL_RATIO * Q4_GOAL_MS
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
