"""Typed view of the ingest pipeline knobs (spool, dedup, archive, stream windows, gateway).

Resolves the defaults that depend on the data directory (spool, archive) once, so the pipeline
modules take one small typed object instead of the whole settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grafana_proxy.settings import Settings


@dataclass(frozen=True)
class PipelineConfig:
    spool_dir: Path
    spool_segment_bytes: int
    ingest_max_batch_events: int
    ingest_max_attempts: int
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


def pipeline_config(settings: Settings) -> PipelineConfig:
    data_dir = Path(settings.data_dir)
    return PipelineConfig(
        spool_dir=settings.spool_dir or data_dir / "spool",
        spool_segment_bytes=settings.spool_segment_bytes,
        ingest_max_batch_events=settings.ingest_max_batch_events,
        ingest_max_attempts=settings.ingest_max_attempts,
        dedup_retention_hours=settings.dedup_retention_hours,
        archive_url=settings.archive_url or str((data_dir / "archive").resolve()),
        archive_batch_events=settings.archive_batch_events,
        archive_batch_seconds=settings.archive_batch_seconds,
        window_period_seconds=settings.window_period_seconds,
        window_lateness_seconds=settings.window_lateness_seconds,
        sample_window=settings.sample_window,
        gateway_connect_timeout=settings.gateway_connect_timeout,
        gateway_read_timeout=settings.gateway_read_timeout,
        gateway_queue_size=settings.gateway_queue_size,
        gateway_max_connections=settings.gateway_max_connections,
    )
