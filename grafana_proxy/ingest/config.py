"""Typed view of the pipeline knobs (issue 3).

The fields below are proposed for ``grafana_proxy.settings.Settings``; until they land there, each one is read
from the settings object when present and otherwise takes the default here, so swapping this accessor for
plain ``settings.<field>`` reads later is mechanical."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_proxy.settings import Settings


@dataclass(frozen=True)
class PipelineConfig:
    spool_dir: Path
    spool_segment_bytes: int
    ingest_max_batch_events: int
    dedup_retention_hours: float
    archive_url: str
    archive_batch_events: int
    archive_batch_seconds: float
    window_period_seconds: float
    window_lateness_seconds: float
    sample_window: int
    gateway_connect_timeout: float
    gateway_read_timeout: float
    gateway_queue_size: int
    gateway_max_connections: int

    @property
    def period_ms(self) -> int:
        return int(self.window_period_seconds * 1000)

    @property
    def lateness_ms(self) -> int:
        return int(self.window_lateness_seconds * 1000)


def _get(settings: Settings, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value is None else value


def pipeline_config(settings: Settings) -> PipelineConfig:
    data_dir = Path(settings.data_dir)
    return PipelineConfig(
        spool_dir=Path(_get(settings, "spool_dir", data_dir / "spool")),
        spool_segment_bytes=int(_get(settings, "spool_segment_bytes", 64 * 1024 * 1024)),
        ingest_max_batch_events=int(_get(settings, "ingest_max_batch_events", 10_000)),
        dedup_retention_hours=float(_get(settings, "dedup_retention_hours", 168.0)),
        archive_url=str(_get(settings, "archive_url", str((data_dir / "archive").resolve()))),
        archive_batch_events=int(_get(settings, "archive_batch_events", 10_000)),
        archive_batch_seconds=float(_get(settings, "archive_batch_seconds", 60.0)),
        window_period_seconds=float(_get(settings, "window_period_seconds", 30.0)),
        window_lateness_seconds=float(_get(settings, "window_lateness_seconds", 30.0)),
        sample_window=int(_get(settings, "sample_window", 10)),
        gateway_connect_timeout=float(_get(settings, "gateway_connect_timeout", 2.0)),
        gateway_read_timeout=float(_get(settings, "gateway_read_timeout", 30.0)),
        gateway_queue_size=int(_get(settings, "gateway_queue_size", 10_000)),
        gateway_max_connections=int(_get(settings, "gateway_max_connections", 100)),
    )
