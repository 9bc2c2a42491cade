"""Typed view of the monitoring knobs: controller period and delays, applications and their parameters.

Built once from the settings (``MonitoringConfig.from_settings``) so the controller and applications
take one small typed object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grafana_proxy.archive.config import ArchiveConfig
from grafana_proxy.monitoring.drift import DriftThresholds, Segment, TestChoice, choose_tests
from grafana_proxy.settings import Settings


@dataclass(frozen=True)
class MonitoringConfig:
    """Built by ``from_settings``: every default lives in ``Settings`` (tests ``replace`` fields)."""

    base_period_minutes: float
    applications: tuple[str, ...]  # enabled, by name
    application_paths: tuple[str, ...]  # user apps as "package.module:Class"
    # Application parameters: defaults for every project, then per project; endpoint labels win over both.
    params: Mapping[str, Any]
    project_params: Mapping[str, Mapping[str, Any]]
    thresholds: DriftThresholds
    tests: tuple[TestChoice, ...]
    segments: tuple[Segment, ...]
    # A window is analysed only this long after it ends, so events still in the ingest spool or an
    # archive batch (archive_batch_seconds) have landed in the archive.
    window_delay_seconds: float
    max_windows_per_pass: int
    archive_url: str

    def __post_init__(self) -> None:
        if self.base_period_minutes <= 0:
            raise ValueError("monitoring_base_period_minutes must be positive")
        if self.max_windows_per_pass < 1:
            raise ValueError("monitoring_max_windows_per_pass must be at least 1")

    @property
    def period_ms(self) -> int:
        return int(self.base_period_minutes * 60_000)

    @property
    def delay_ms(self) -> int:
        return int(self.window_delay_seconds * 1000)

    def params_for(self, project: str) -> dict[str, Any]:
        """Global parameters overlaid with the project's (endpoint labels are applied by the context)."""
        merged = {
            "drift_potential": self.thresholds.potential,
            "drift_detected": self.thresholds.detected,
            "drift_tests": self.tests,
            "drift_segments": self.segments,
        }
        merged.update(self.params)
        merged.update(self.project_params.get(project, {}))
        return merged

    @classmethod
    def from_settings(cls, settings: Settings, archive: ArchiveConfig | None = None) -> MonitoringConfig:
        return monitoring_config(settings, archive or ArchiveConfig.from_settings(settings))


def monitoring_config(settings: Settings, archive: ArchiveConfig) -> MonitoringConfig:
    delay = settings.monitoring_window_delay_seconds
    return MonitoringConfig(
        base_period_minutes=settings.monitoring_base_period_minutes,
        applications=tuple(settings.monitoring_applications),
        application_paths=tuple(settings.monitoring_application_paths),
        params=dict(settings.monitoring_params),
        project_params=dict(settings.monitoring_project_params),
        thresholds=DriftThresholds(settings.drift_potential, settings.drift_detected),
        tests=choose_tests(list(settings.drift_tests), dict(settings.drift_test_thresholds)),
        segments=tuple(Segment.parse(s) for s in settings.drift_segments),
        window_delay_seconds=archive.archive_batch_seconds + 30.0 if delay is None else delay,
        max_windows_per_pass=settings.monitoring_max_windows_per_pass,
        archive_url=archive.archive_url,
    )
