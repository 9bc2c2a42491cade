"""Hostile identifiers and events on SQLite, PostgreSQL and MariaDB, through the real app (events API with
its ingest pipeline, write API, ground truth):

- identifiers with path syntax, whitespace, control and invisible characters, or too long are refused at
  every entry point with a 4xx naming the field, and nothing lands outside the archive root;
- events the stores could not fold (times outside any calendar, numbers beyond the magnitude limit, deep
  nesting, too many rows) are refused at the edge with a 400 naming the event index and the field;
- after all of it, a valid event is still folded: nothing stalls the pipeline;
- identifiers compare exactly on every backend ("alpha " is not "alpha", MariaDB included)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grafana_proxy.app import create_app
from grafana_proxy.model import SeriesKind
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Point, Stores
from tests.http_fixtures import fold_here, ingest_of
from tests.security.conftest import Secrets, seed_hostile

NOW = int(time.time() * 1000)
BAD_KEYS = ["../beta", "..", ".", "a/b", "a\\b", "ep 1", " ep1", "ep1 ", "ep1\x00", "ep\x7f", "é", "-x", "x" * 129]
BAD_NAMES = [" lat", "lat ", "la\x00t", "la\nt", "la\u202et", "la\u200bt", "\ud800", "", "x" * 256]
BAD_TIMES: list[Any] = [
    1e20,
    -1e14,
    1e300,
    -1e300,
    -1,
    4_102_444_800_000,
    "9999-12-31T00:00:00Z",
    "1969-12-31T23:00:00Z",
]


@pytest.fixture
def served(stores: Stores, tmp_path: Path) -> Iterator[tuple[TestClient, Secrets, Path]]:
    secrets = seed_hostile(stores)
    data = tmp_path / "data"
    runtime = Runtime.build(Settings(data_dir=data), stores)
    pipeline = fold_here(runtime)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, secrets, data
    pipeline.stop()


def _event(**fields: Any) -> dict[str, Any]:
    return {"endpoint_id": "ep1", "timestamp": NOW - 1000, "request_id": "r-ok", "inputs": [[1.0, 2.0]]} | fields


def _post_events(client: TestClient, key: str, events: list[dict[str, Any]], project: str = "alpha") -> Any:
    body = json.dumps(events, ensure_ascii=True).encode()  # lone surrogates travel as \\ud800 escapes
    path = f"/api/v1/projects/{quote(project, safe='')}/events"
    return client.post(path, content=body, headers={"X-V3io-Session-Key": key, "Content-Type": "application/json"})


def _refused(reply: Any, index: int, field: str) -> str | None:
    """None when the reply is the 400 naming event ``index`` and ``field``; else what it was."""
    body = reply.json()
    if reply.status_code == 400 and body.get("index") == index and str(body.get("field", "")).startswith(field):
        assert body["message"].startswith(f"event {index}: field '{field}")
        return None
    return f"{reply.status_code} {reply.text[:200]}"


def test_events_with_hostile_fields_are_refused_naming_index_and_field(
    served: tuple[TestClient, Secrets, Path], stores: Stores
) -> None:
    client, secrets, data = served
    key = secrets.alpha_write
    cases: list[tuple[str, dict[str, Any]]] = [("endpoint_id", {"endpoint_id": v}) for v in [*BAD_KEYS, "x" * 65]]
    cases += [("timestamp", {"timestamp": v}) for v in BAD_TIMES]
    cases += [("request_id", {"request_id": v}) for v in ["r\x01", " r", "r\u2028", "r\x00"]]
    # (A lone surrogate never reaches the fields: the events API's JSON parser refuses the body.)
    names = [v for v in BAD_NAMES if v and v != "\ud800"]
    cases += [("feature_names", {"feature_names": [v, "b"]}) for v in names]
    cases += [("inputs", {"inputs": {v: 1.0}}) for v in names]
    cases += [("latency", {"latency": v}) for v in [1e308, 1e19, -1.0]]
    cases += [("inputs", {"inputs": [[v, 1.0]]}) for v in [1e300, -1e19, "a\x00b"]]
    cases += [("inputs", {"inputs": [[1.0]] * 10_001})]
    cases += [("outputs", {"outputs": json.loads("[" * 300 + "]" * 300)})]
    cases += [("labels", {"labels": {"team": "a\x00"}})]
    cases += [("function_uri", {"endpoint_id": None, "function_uri": "f\x00", "model": "m"})]
    failures = []
    for field, fields in cases:
        # The hostile event second, so the 400 must name index 1.
        reply = _post_events(client, key, [_event(request_id="r-first"), _event(**fields)])
        problem = _refused(reply, 1, field)
        if problem is not None:
            failures.append(f"{field}={str(fields)[:60]}: {problem}")
    assert not failures, "\n".join(failures)

    # Nothing was spooled, and the pipeline folds what comes next.
    assert _post_events(client, key, [_event(request_id="r-after", endpoint_id="ep-after")]).status_code == 202
    pipeline = ingest_of(client)
    pipeline.drain()
    assert pipeline.backlog_records() == 0 and pipeline.dead_lettered() == 0
    assert stores.endpoints.get("alpha", "ep-after") is not None
    assert stores.endpoints.uids("beta") == ["ep9"]
    # Every archive file is inside the archive root, in a partition of the project that wrote it.
    files = list(data.rglob("*.parquet"))
    assert files and all(p.is_relative_to(data / "archive" / "project=alpha") for p in files), files
    assert not list(data.parent.glob("*.parquet")) and not (data.parent / "beta").exists()


def test_write_api_and_ground_truth_refuse_hostile_identifiers(served: tuple[TestClient, Secrets, Path]) -> None:
    client, secrets, _ = served
    header = {"X-V3io-Session-Key": secrets.all_write, "Content-Type": "application/json"}
    base = "/api/v1/projects"
    requests: list[tuple[str, str, Any, str]] = []
    for value in BAD_KEYS:
        quoted = quote(value, safe="")
        if value not in ("..", "."):  # an HTTP client resolves dot segments before sending
            requests.append(("PUT", f"{base}/alpha/model-endpoints/{quoted}", {"name": "x"}, "uid"))
            requests.append(("GET", f"{base}/{quoted}/model-endpoints", None, "project"))
        requests.append(
            (
                "POST",
                f"{base}/alpha/ground-truth",
                {"labels": [{"request_id": "r", "value": 1, "endpoint_id": value}]},
                "endpoint_id",
            )
        )
        result = {
            "application": value,
            "name": "r",
            "kind": 0,
            "status": 0,
            "value": 1.0,
            "start_infer_time": NOW - 10,
            "end_infer_time": NOW,
        }
        requests.append(("POST", f"{base}/alpha/model-endpoints/ep1/results", {"results": [result]}, "application"))
    for value in BAD_NAMES:
        point = {"name": value, "timestamp": NOW, "value": 1.0}
        requests.append(("POST", f"{base}/alpha/model-endpoints/ep1/metrics", {"points": [point]}, "name"))
        sample = {"timestamp": NOW, "values": {value: 1.0}}
        requests.append(("POST", f"{base}/alpha/model-endpoints/ep1/features", {"samples": [sample]}, "values"))
        requests.append(("PUT", f"{base}/alpha/model-endpoints/ep1", {"feature_names": [value]}, "feature_names"))
        result = {
            "application": "app",
            "name": value,
            "kind": 0,
            "status": 0,
            "value": 1.0,
            "start_infer_time": NOW - 10,
            "end_infer_time": NOW,
        }
        requests.append(("POST", f"{base}/alpha/model-endpoints/ep1/results", {"results": [result]}, "name"))
    for value in [1e300, -1e19]:
        point = {"name": "lat", "timestamp": NOW, "value": value}
        requests.append(("POST", f"{base}/alpha/model-endpoints/ep1/metrics", {"points": [point]}, "value"))
    for value in BAD_TIMES:
        point = {"name": "lat", "timestamp": value, "value": 1.0}
        requests.append(("POST", f"{base}/alpha/model-endpoints/ep1/metrics", {"points": [point]}, "timestamp"))
    failures = []
    for method, path, body, field in requests:
        content = None if body is None else json.dumps(body, ensure_ascii=True).encode()
        reply = client.request(method, path, content=content, headers=header)
        if "%2F" in path and reply.status_code == 404 and "no route" in reply.json()["message"]:
            continue  # a slash in a path segment makes it another route: a 404, never a write elsewhere
        if reply.status_code not in (400, 422) or field not in reply.json()["message"]:
            failures.append(f"{method} {path} {str(body)[:70]}: {reply.status_code} {reply.text[:160]}")
    assert not failures, "\n".join(failures)


def test_identifiers_compare_exactly_on_every_backend(served: tuple[TestClient, Secrets, Path], stores: Stores) -> None:
    """MariaDB's PAD SPACE collations make 'alpha ' equal 'alpha'; every backend must tell them apart."""
    client, secrets, _ = served
    assert stores.endpoints.get("alpha ", "ep1") is None
    assert stores.endpoints.get("alpha", "ep1 ") is None
    assert stores.endpoints.records("alpha ") == []
    # Series names are stored as given: 'lat' and 'lat ' (written by a caller below the API) stay apart.
    stores.series.write("alpha", "ep1", SeriesKind.metric, [Point("lat", NOW, 1.0)])
    stores.series.write("alpha", "ep1", SeriesKind.metric, [Point("lat ", NOW, 2.0)])
    names = stores.series.names("alpha", "ep1", SeriesKind.metric)
    assert "lat" in names and "lat " in names
    # A key for project "alpha " cannot be made, and a query for it is refused rather than answered.
    with pytest.raises(ValueError, match="project"):
        stores.keys.create("padded", ["alpha "], "read")
    header = {"X-V3io-Session-Key": secrets.all_read}
    reply = client.get("/api/v1/projects/alpha%20/model-endpoints", headers=header)
    assert reply.status_code == 400 and "project" in reply.json()["message"]
    target = {"targets": [{"target": "target_endpoint=list_endpoints;project=al pha"}]}
    reply = client.post("/api/grafana-proxy/model-endpoints/query", json=target, headers=header)
    assert reply.status_code == 400 and "project" in reply.json()["message"]


_text = st.one_of(st.sampled_from([*BAD_KEYS, *BAD_NAMES[:-2], "ep1", "a:b", "f1"]), st.text(max_size=12))
_number = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([1e308, -1e308, 1e18, 1e19, 0]),
)
_time = st.one_of(_number, st.sampled_from([NOW, NOW / 1000, NOW * 1000, "2030-01-01T00:00:00Z", *BAD_TIMES]))
_scalar = st.one_of(_number, _text, st.booleans(), st.none())
_random_event = st.fixed_dictionaries(
    {"request_id": _text, "timestamp": _time},
    optional={
        "endpoint_id": _text,
        "function_uri": _text,
        "model": _text,
        "inputs": st.one_of(
            st.lists(st.lists(_scalar, max_size=3), max_size=3),
            st.dictionaries(_text, _scalar, max_size=3),
            st.lists(_scalar, max_size=3),
        ),
        "feature_names": st.lists(_text, max_size=3),
        "outputs": st.recursive(_scalar, lambda inner: st.lists(inner, max_size=2), max_leaves=40),
        "latency": _number,
        "error": st.one_of(st.none(), _text),
        "labels": st.dictionaries(_text, _text, max_size=2),
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_random_event, min_size=1, max_size=4))
def test_random_events_are_refused_or_folded_never_stuck(
    served: tuple[TestClient, Secrets, Path], events: list[dict[str, Any]]
) -> None:
    """Whatever the events API acknowledges folds into the stores on every backend: no dead letter, no
    backlog, so no acknowledged event is stuck behind a record the stores refuse."""
    client, secrets, _ = served
    reply = _post_events(client, secrets.alpha_write, events)
    assert reply.status_code in (202, 400), reply.text[:300]
    if reply.status_code == 400:  # a bad event is named; a body that is not JSON (lone surrogate) says so
        body = reply.json()
        assert {"message", "index", "field"} <= set(body) or body["error"] == "invalid JSON", body
    pipeline = ingest_of(client)
    pipeline.drain()
    assert pipeline.dead_lettered() == 0 and pipeline.backlog_records() == 0


@pytest.mark.parametrize("uid", ["..", "../beta", "a/b", ".hidden", "x\x00", ""])
def test_archive_partitions_refuse_what_would_leave_the_root(uid: str, tmp_path: Path) -> None:
    """Second line of defence: even a caller that skipped validation cannot name a path outside the root."""
    from grafana_proxy.archive.layout import UnsafePath, partition_path
    from grafana_proxy.archive.reader import archived_days

    with pytest.raises(UnsafePath):
        partition_path(str(tmp_path), "alpha", uid, "2026-01-01")
    with pytest.raises(UnsafePath):
        partition_path(str(tmp_path), uid, "ep1", "2026-01-01")
    (tmp_path / "project=alpha" / "endpoint_id=x" / "date=2026-01-01").mkdir(parents=True)
    assert archived_days(str(tmp_path / "project=alpha" / "endpoint_id=x"), "..", "..") == frozenset()
    assert partition_path(str(tmp_path), "alpha", "ep1", "2026-01-01").startswith(str(tmp_path) + "/project=alpha/")
