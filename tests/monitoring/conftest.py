"""Helpers for the monitoring tests: a real Parquet archive on tmp_path, written with the archive's own
layout functions, and controllers over real stores."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from grafana_proxy.archive.layout import day, open_root, partition_path, rows_to_table, write_atomic
from grafana_proxy.archive.reader import read_window
from grafana_proxy.monitoring.applications import MonitoringApplication
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.monitoring.controller import Controller, WindowReader
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores

MINUTE = 60_000
PERIOD = 10 * MINUTE
# A period-aligned instant two days back (every store tier still keeps it).
T0 = (int(time.time() * 1000) - 2 * 86_400_000) // PERIOD * PERIOD


def event_row(ts: int, request_id: str, features: dict[str, Any], **extra: Any) -> dict[str, Any]:
    row = {
        "timestamp": ts,
        "request_id": request_id,
        "row": 0,
        "latency": 1000.0,
        "error": None,
        "output": 1,
        "raw": None,
        "features": features,
    }
    row.update(extra)
    return row


def write_archive(url: str, project: str, uid: str, rows: Sequence[dict[str, Any]], tag: str = "t") -> None:
    """Append rows as one Parquet file per day partition (what the ingest's archive buffer does)."""
    fs, root = open_root(url)
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_day[day(row["timestamp"])].append(row)
    for date, day_rows in by_day.items():
        write_atomic(fs, f"{partition_path(root, project, uid, date)}/part-{tag}.parquet", rows_to_table(day_rows))


@pytest.fixture
def archive_url(tmp_path: Path) -> str:
    return str(tmp_path / "archive")


MakeController = Callable[..., Controller]


@pytest.fixture
def make_controller(sqlite_stores: Stores, archive_url: str) -> MakeController:
    return controller_factory(sqlite_stores, archive_url)


def controller_factory(stores: Stores, archive_url: str) -> MakeController:
    def make(
        applications: Sequence[MonitoringApplication],
        reader: WindowReader | None = None,
        **config: Any,
    ) -> Controller:
        config.setdefault("window_delay_seconds", 60)
        ground_truth, schedules = (stores.ground_truth, stores.schedules)
        return Controller(
            stores,
            schedules,
            reader or partial(read_window, archive_url),
            applications,
            replace(MonitoringConfig.from_settings(Settings()), **config),
            ground_truth,
        )

    return make
