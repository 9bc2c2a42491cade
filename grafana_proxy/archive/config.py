"""Typed view of the archive knobs: where the Parquet archive lives and how often the fold flushes
to it. The controller reads it (windows are analysed only after a flush can have landed them)."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_proxy.settings import Settings


@dataclass(frozen=True)
class ArchiveConfig:
    archive_url: str
    archive_batch_events: int
    archive_batch_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveConfig:
        return settings.derive(cls, archive_url=settings.archive_location)
