"""Artifacts through the controller: an application's files are kept per window with their rows, a bad
one is the application's error, retention runs every pass, and deleting an endpoint removes them."""

from __future__ import annotations

import gzip
from dataclasses import replace
from functools import partial
from pathlib import Path

from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.archive.artifacts import ArtifactKeeper
from grafana_proxy.archive.reader import read_window
from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    ArtifactValue,
    MonitoringApplication,
    Output,
    ResultValue,
)
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.monitoring.controller import ERROR_RESULT, Controller
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.monitoring.conftest import MINUTE, PERIOD, T0, event_row, write_archive

P, UID = "shop", "ep1"


class Summary(MonitoringApplication):
    name = "summary"

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        rows = len(context.events)
        body = f'{{"rows": {rows}}}'.encode()
        return [
            ResultValue("rows", rows, ResultKind.mm_app_anomaly, ResultStatus.no_detection),
            ArtifactValue("summary.json", body, "application/json"),
        ]


class BadName(MonitoringApplication):
    name = "bad-name"

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        return [ArtifactValue("../../etc/passwd", b"x", "text/plain")]


def controller(stores: Stores, archive: str, retention_ms: int | None = None) -> Controller:
    ground_truth, schedules = (stores.ground_truth, stores.schedules)
    return Controller(
        stores,
        schedules,
        partial(read_window, archive),
        [Summary(), BadName()],
        replace(MonitoringConfig.from_settings(Settings()), window_delay_seconds=60),
        ground_truth,
        artifacts=ArtifactKeeper(archive, stores.artifacts),
        artifact_retention_ms=retention_ms,
    )


def seed(stores: Stores, archive: str) -> None:
    stores.endpoints.upsert(P, UID, {"name": UID, "first_request": T0})
    write_archive(archive, P, UID, [event_row(T0 + m * MINUTE + 1, f"r{m}", {"x": 1.0}) for m in range(30)])


def test_artifacts_per_window_bad_ones_are_errors_and_retention_runs_each_pass(
    sqlite_stores: Stores, tmp_path: Path
) -> None:
    archive = str(tmp_path / "archive")
    seed(sqlite_stores, archive)
    summary = controller(sqlite_stores, archive).run_once(now=T0 + 3 * PERIOD + 60_000)
    assert summary.artifacts == 3 and len(summary.failures) == 3
    kept = sqlite_stores.artifacts.query(P)
    assert [(a.application, a.name, a.end_infer_time, a.size) for a in kept] == [
        ("summary", "summary.json", T0 + k * PERIOD, 12) for k in (3, 2, 1)
    ]
    assert gzip.decompress((tmp_path / "archive" / kept[0].path).read_bytes()) == b'{"rows": 10}'
    errors = sqlite_stores.results.latest(P, [UID], "bad-name")
    assert [r.name for r in errors] == [ERROR_RESULT] and "artifact name" in errors[0].extra_data["error"]
    assert not list((tmp_path / "archive").rglob("passwd"))
    # A later pass with a retention shorter than the artifacts' age removes rows and files.
    later = controller(sqlite_stores, archive, retention_ms=60_000).run_once(now=T0 + 3 * PERIOD + 120_000)
    assert later.windows == 0
    assert sqlite_stores.artifacts.query(P) == [] and not (tmp_path / "archive" / kept[0].path).exists()


def test_deleting_an_endpoint_removes_its_artifacts(sqlite_stores: Stores, tmp_path: Path) -> None:
    data = tmp_path / "data"  # sqlite_stores' data dir: the app's archive is data/archive
    archive = str(data / "archive")
    seed(sqlite_stores, archive)
    controller(sqlite_stores, archive).run_once(now=T0 + 2 * PERIOD + 60_000)
    kept = sqlite_stores.artifacts.query(P)
    assert len(kept) == 2
    writer = sqlite_stores.keys.create("w", [P], "write")[1]
    with TestClient(create_app(Runtime.build(Settings(data_dir=data), sqlite_stores))) as http:
        headers = {"X-V3io-Session-Key": writer}
        assert http.delete(f"/api/v1/projects/{P}/model-endpoints/{UID}", headers=headers).status_code == 200
        listed = http.get(f"/api/v1/projects/{P}/model-endpoints/{UID}/artifacts", headers=headers)
        assert listed.status_code == 200 and listed.json() == []
    assert not any((data / "archive" / a.path).exists() for a in kept)
