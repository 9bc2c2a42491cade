"""The benchmark's data: the project's own generator (``seed_project``) writes into a fresh SQLite data
dir through the stores' bulk writer, and the series Prometheus gets are copied from exactly the
arrays the generator hands to the store, so both servers answer from the same samples."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import insert

from benchmarks.prometheus import OpenMetricsChunks
from grafana_proxy.model import EndpointType, SeriesKind
from grafana_proxy.seeding import SeedOptions, seed_project
from grafana_proxy.settings import Settings
from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, engine_of, open_stores
from grafana_proxy.stores.rollup import FloatArray, IntArray
from grafana_proxy.stores.series import SqlSeriesStore

PROJECT = "bench"
WIDE_PROJECT = "wide"
METRIC = "latency_avg_5m"


class CopyingSeriesStore(SqlSeriesStore):
    """The SQL series store, plus a copy of one metric's arrays into OpenMetrics files as they are written."""

    def __init__(self, inner: SqlSeriesStore, sink: OpenMetricsChunks, metric: str) -> None:
        super().__init__(inner.db, inner.retention, inner.clock)
        self.sink = sink
        self.metric = metric

    def write_frame(
        self, project: str, endpoint_uid: str, kind: SeriesKind, times: IntArray, columns: Mapping[str, FloatArray]
    ) -> int:
        written = super().write_frame(project, endpoint_uid, kind, times, columns)
        if kind == SeriesKind.metric and self.metric in columns:
            self.sink.add({"project": project, "endpoint_id": endpoint_uid}, times, columns[self.metric])
        return written


@dataclass(frozen=True)
class SeededData:
    data_dir: Path
    start_ms: int
    end_ms: int
    endpoint_uids: tuple[str, ...]
    single_uid: str  # the endpoint of Q1/Q2
    points: int
    seed_seconds: float
    openmetrics_files: tuple[Path, ...]
    openmetrics_samples: int
    wide_endpoints: int
    wide_seconds: float


def settings_for(data_dir: Path, db_url: str | None = None) -> Settings:
    # Built directly, not from the environment: the run must not pick up a developer's .env or DB URL.
    return Settings(data_dir=data_dir, db_url=db_url)


def seed_main(data_dir: Path, om_dir: Path, endpoints: int, days: float) -> SeededData:
    """``endpoints`` endpoints with ``days`` of 1-minute data in project ``bench``; OpenMetrics copy of
    ``METRIC`` in ``om_dir``."""
    stores = open_stores(settings_for(data_dir))
    try:
        assert isinstance(stores.series, SqlSeriesStore)
        sink = OpenMetricsChunks(om_dir, METRIC)
        copying = replace(stores, series=CopyingSeriesStore(stores.series, sink, METRIC))
        began = time.perf_counter()
        report = seed_project(copying, SeedOptions(project=PROJECT, endpoints=endpoints, days=days))
        seconds = time.perf_counter() - began
        files = sink.close()
        summaries = stores.endpoints.summaries(PROJECT)
        plain = [s.uid for s in summaries if s.endpoint_type != EndpointType.router]
        return SeededData(
            data_dir=data_dir,
            start_ms=report.start_ms,
            end_ms=report.end_ms,
            endpoint_uids=tuple(s.uid for s in summaries),
            single_uid=plain[0] if plain else summaries[0].uid,
            points=report.points,
            seed_seconds=seconds,
            openmetrics_files=tuple(files),
            openmetrics_samples=sink.samples,
            wide_endpoints=0,
            wide_seconds=0.0,
        )
    finally:
        close_stores(stores)


def seed_wide(data: SeededData, endpoints: int, templates: int = 100) -> SeededData:
    """Project ``wide`` with ``endpoints`` full endpoint records (reference stats, drift, live values) for
    the table of Q4. The generator writes ``templates`` endpoints (one hour of 10-minute data each);
    the rest are copies of their records under new uids and names.
    Why: the generator costs ~70 ms per endpoint (reference samples), 12 minutes for 10,000, while the
    table only reads the records."""
    stores = open_stores(settings_for(data.data_dir))
    try:
        began = time.perf_counter()
        options = SeedOptions(project=WIDE_PROJECT, endpoints=min(endpoints, templates), days=1 / 24, step_seconds=600)
        seed_project(stores, options)
        records = stores.endpoints.records(WIDE_PROJECT)
        copies = []
        for index in range(len(records), endpoints):
            template = records[index % len(records)]
            uid = hashlib.sha1(f"{template.uid}-{index}".encode()).hexdigest()
            copies.append(replace(template, uid=uid, name=f"{template.name}-{index:05d}").to_dict())
        # Multi-row INSERTs on the store's own tables and engine (the store has no bulk upsert, and one
        # transaction per record costs ~20 ms here). Each table takes the fields it has a column for:
        # the narrow record in ``endpoints``, the JSON documents (if split off) in ``endpoint_documents``.
        tables = [t for t in (schema.endpoints, getattr(schema, "endpoint_documents", None)) if t is not None]
        if copies:
            with engine_of(stores).begin() as conn:
                for table in tables:
                    names = set(table.c.keys())
                    conn.execute(insert(table), [{k: v for k, v in c.items() if k in names} for c in copies])
        return replace(data, wide_endpoints=endpoints, wide_seconds=time.perf_counter() - began)
    finally:
        close_stores(stores)


def create_keys(data_dir: Path, db_url: str | None = None) -> tuple[str, str]:
    """(read key, write key) for all projects: the benchmark goes through the same key check as Grafana.
    ``db_url``: the database of the stores (default: the SQLite file in ``data_dir``), migrated first."""
    stores: Stores = open_stores(settings_for(data_dir, db_url))
    try:
        _read, read_secret = stores.keys.create("bench-read", None, "read")
        _write, write_secret = stores.keys.create("bench-write", None, "write")
        return read_secret, write_secret
    finally:
        close_stores(stores)
