"""Typed view of the stream knobs (field names are the settings' names, filled by ``Settings.derive``)."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_proxy.settings import Settings


@dataclass(frozen=True)
class StreamConfig:
    stream_url: str
    stream_name: str
    stream_subject_prefix: str
    stream_replicas: int
    stream_max_age_hours: float
    stream_max_bytes: int
    stream_duplicate_window_seconds: float
    stream_publish_timeout_seconds: float
    stream_consumer: str
    stream_ack_wait_seconds: float
    ingest_max_attempts: int

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamConfig:
        return settings.derive(cls)

    @property
    def enabled(self) -> bool:
        """False: the embedded spool (one machine)."""
        return bool(self.stream_url.strip())

    @property
    def servers(self) -> list[str]:
        return [url.strip() for url in self.stream_url.split(",") if url.strip()]

    @property
    def subjects(self) -> str:
        """The stream's subject filter: every project's subject."""
        return f"{self.stream_subject_prefix}.*"

    def subject(self, project: str) -> str:
        """The subject of one project's batches (project names are identifiers: no dots or wildcards)."""
        return f"{self.stream_subject_prefix}.{project}"
