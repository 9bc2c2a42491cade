"""The same answer on SQLite, PostgreSQL and MariaDB for what used to differ between them:

- lists of ~100,000 endpoint uids (PostgreSQL refuses more than 65,535 bound parameters; this was a 503
  "database unavailable") through every store query that takes a list, and through the HTTP API;
- ``model=``/``function=`` filters match case-sensitively and literally (LIKE was case-insensitive on
  SQLite and treats ``%``/``_`` as wildcards) — one table of cases, compared across the three backends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.model import AppResult, EndpointFilter, SeriesKind, TimeRange
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Point, Stores
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.conftest import MARIADB_ADMIN_URL, MARIADB_START, _pg_schema, _server_database
from tests.http_fixtures import make_keys

T0 = (int(time.time()) - 7200) // 3600 * 3_600_000  # recent: inside the raw points' retention
MANY = [f"missing-{i:06d}" for i in range(100_000)]


def _seed(stores: Stores) -> None:
    for uid in ("ep1", "ep2", "ep3"):
        stores.endpoints.upsert("alpha", uid, {"name": uid})
        stores.series.write("alpha", uid, SeriesKind.metric, [Point("lat", T0 + i * 60_000, 1.0) for i in range(10)])
    stores.results.write("alpha", [AppResult("ep2", "app", "drift", 0, 1, 0.5, T0, T0 + 60_000)])


def test_a_hundred_thousand_uids_on_every_backend(stores: Stores) -> None:
    _seed(stores)
    uids = [*MANY[:50_000], "ep2", *MANY[50_000:], "ep3"]
    flt = EndpointFilter(uids=tuple(uids))
    assert [r.uid for r in stores.endpoints.records("alpha", flt)] == ["ep2", "ep3"]
    assert [s.uid for s in stores.endpoints.summaries("alpha", flt)] == ["ep2", "ep3"]
    assert stores.endpoints.summary_rows("alpha", flt, ["name"]) == [("ep2",), ("ep3",)]
    rng = TimeRange(T0, T0 + 3_600_000)
    data = stores.series.query("alpha", uids, SeriesKind.metric, ["lat"], rng, 60_000, "avg")
    assert [(d.endpoint_uid, len(d.times)) for d in data] == [("ep2", 10), ("ep3", 10)]
    assert set(stores.series.latest("alpha", uids, SeriesKind.metric, ["lat"])) == {("ep2", "lat"), ("ep3", "lat")}
    names = [*MANY, "lat"]
    assert len(stores.series.query("alpha", ["ep1"], SeriesKind.metric, names, rng, 60_000, "avg")) == 1
    assert [r.endpoint_uid for r in stores.results.query("alpha", rng, uids)] == ["ep2"]
    assert [r.endpoint_uid for r in stores.results.latest("alpha", uids)] == ["ep2"]
    # Writing 20,000 series at once resolves and locks their ids in parts, too.
    wide = [Point(f"f{i}", T0, float(i)) for i in range(20_000)]
    assert stores.series.write("alpha", "ep1", SeriesKind.feature, wide) == 20_000
    assert stores.endpoints.delete("alpha", "ep1")


def test_a_hundred_thousand_uids_over_http(stores: Stores, tmp_path: Path) -> None:
    _seed(stores)
    keys = make_keys(stores)
    app = create_app(Runtime.build(Settings(data_dir=tmp_path, max_body_bytes=4_000_000), stores))
    target = "target_endpoint=list_endpoints;project=alpha;uids=" + ",".join([*MANY, "ep3"])
    with TestClient(app, raise_server_exceptions=False) as client:
        reply = client.post(
            "/api/grafana-proxy/model-endpoints/query",
            json={"targets": [{"target": target, "refId": "A"}]},
            headers={"X-V3io-Session-Key": keys.all_read},
        )
    assert reply.status_code == 200, reply.text[:300]
    [table] = reply.json()
    assert [row[0] for row in table["rows"]] == ["ep3"]


MATCH_RECORDS = {
    "m1": {"model": "Churn:1", "function_uri": "alpha/Serving:latest"},
    "m2": {"model": "churn:2", "function_uri": "alpha/serving:v2"},
    "m3": {"model": "chu%n:1", "function_uri": "alpha/ser_ing"},
    "m4": {"model": "churn", "function_uri": "other/serving:v1"},
}
MATCH_CASES = [
    ("model", "churn"),
    ("model", "Churn"),
    ("model", "CHURN"),
    ("model", "chu%n"),
    ("model", "chu_n"),
    ("model", "ch"),
    ("function", "serving"),
    ("function", "Serving"),
    ("function", "ser_ing"),
    ("function", "ser%"),
    ("function", "alpha/serving"),
    ("function", "other/serving"),
]
# What every backend must answer: exact, case-sensitive, no wildcards.
EXPECTED = {
    ("model", "churn"): ["m2", "m4"],
    ("model", "Churn"): ["m1"],
    ("model", "CHURN"): [],
    ("model", "chu%n"): ["m3"],
    ("model", "chu_n"): [],
    ("model", "ch"): [],
    ("function", "serving"): ["m2"],
    ("function", "Serving"): ["m1"],
    ("function", "ser_ing"): ["m3"],
    ("function", "ser%"): [],
    ("function", "alpha/serving"): ["m2"],
    ("function", "other/serving"): ["m4"],
}


@pytest.fixture
def three_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Stores]]:
    """Migrated stores on SQLite, PostgreSQL and MariaDB at once, so one test can compare their answers."""
    with ExitStack() as stack:
        urls = {
            "sqlite": f"sqlite:///{tmp_path / 'parity.db'}",
            "postgresql": stack.enter_context(contextmanager(_pg_schema)(request.getfixturevalue("_pg_database"))),
            "mariadb": stack.enter_context(
                contextmanager(_server_database)(MARIADB_ADMIN_URL, MARIADB_START, "mariadb")
            ),
        }
        opened = {name: open_stores(Settings(db_url=url, data_dir=tmp_path / name)) for name, url in urls.items()}
        try:
            yield opened
        finally:
            for bundle in opened.values():
                close_stores(bundle)


def test_model_and_function_filters_match_alike_on_the_three_backends(three_stores: dict[str, Stores]) -> None:
    answers = {}
    for backend, stores in three_stores.items():
        for uid, fields in MATCH_RECORDS.items():
            stores.endpoints.upsert("alpha", uid, fields)
        answers[backend] = {
            (key, value): [s.uid for s in stores.endpoints.summaries("alpha", EndpointFilter(**{key: value}))]
            for key, value in MATCH_CASES
        }
    assert answers["sqlite"] == answers["postgresql"] == answers["mariadb"]
    assert answers["sqlite"] == EXPECTED
