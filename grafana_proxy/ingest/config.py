"""Typed view of the ingest knobs: the spool, de-duplication, stream windows and the archive batches
the fold writes. Field names are the settings' names (``Settings.derive`` fills them), so the ingest
modules take one small typed object instead of the whole settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grafana_proxy.settings import Settings


@dataclass(frozen=True)
class IngestConfig:
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

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestConfig:
        return settings.derive(cls, spool_dir=settings.spool_path, archive_url=settings.archive_location)

    @property
    def period_ms(self) -> int:
        return int(self.window_period_seconds * 1000)

    @property
    def lateness_ms(self) -> int:
        return int(self.window_lateness_seconds * 1000)
