"""Typed view of the monitoring knobs (issue 3 §5–§6).

The fields are proposed for ``grafana_proxy.settings.Settings`` (names in ``monitoring_config``); until
they land there each one is read from the settings object when present and otherwise takes the default
here, the same accessor pattern as ``ingest/config.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_proxy.ingest.config import pipeline_config
from grafana_proxy.monitoring.drift import DriftThresholds, Segment, TestChoice, choose_tests
from grafana_proxy.settings import Settings

BUILTIN_APPLICATIONS = ("histogram-data-drift", "system-performance", "model-performance")


@dataclass(frozen=True)
class MonitoringConfig:
    base_period_minutes: float = 10.0
    applications: tuple[str, ...] = BUILTIN_APPLICATIONS  # enabled, by name
    application_paths: tuple[str, ...] = ()  # user apps as "package.module:Class"
    # Application parameters: defaults for every project, then per project; endpoint labels win over both.
    params: Mapping[str, Any] = field(default_factory=dict)
    project_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    tests: tuple[TestChoice, ...] = ()
    segments: tuple[Segment, ...] = ()
    # A window is analysed only this long after it ends, so events still in the ingest spool or an
    # archive batch (archive_batch_seconds) have landed in the archive.
    window_delay_seconds: float = 90.0
    max_windows_per_pass: int = 1000
    archive_url: str = ""

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


def _get(settings: Settings, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value is None else value


def monitoring_config(settings: Settings) -> MonitoringConfig:
    pipeline = pipeline_config(settings)
    tests = choose_tests(list(_get(settings, "drift_tests", [])), dict(_get(settings, "drift_test_thresholds", {})))
    return MonitoringConfig(
        base_period_minutes=float(_get(settings, "monitoring_base_period_minutes", 10.0)),
        applications=tuple(_get(settings, "monitoring_applications", BUILTIN_APPLICATIONS)),
        application_paths=tuple(_get(settings, "monitoring_application_paths", ())),
        params=dict(_get(settings, "monitoring_params", {})),
        project_params=dict(_get(settings, "monitoring_project_params", {})),
        thresholds=DriftThresholds(
            float(_get(settings, "drift_potential", 0.5)), float(_get(settings, "drift_detected", 0.7))
        ),
        tests=tests,
        segments=tuple(Segment.parse(s) for s in _get(settings, "drift_segments", [])),
        window_delay_seconds=float(
            _get(settings, "monitoring_window_delay_seconds", pipeline.archive_batch_seconds + 30.0)
        ),
        max_windows_per_pass=int(_get(settings, "monitoring_max_windows_per_pass", 1000)),
        archive_url=pipeline.archive_url,
    )
