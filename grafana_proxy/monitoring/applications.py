"""Monitoring applications: the base class, what they receive (``ApplicationContext``) and what they
return (``ResultValue``, ``MetricValue``, ``EndpointUpdate``), after MLRun's
``ModelMonitoringApplicationBase.do_tracking(monitoring_context)``.

A user application::

    class LatencyBudget(MonitoringApplication):
        name = "latency-budget"

        def do_tracking(self, context: ApplicationContext) -> list[Output]:
            p99 = float(context.events["latency"].quantile(0.99))
            budget = context.float_param("latency_budget_us", 50_000)
            status = ResultStatus.detected if p99 > budget else ResultStatus.no_detection
            return [MetricValue("latency_p99", p99),
                    ResultValue("latency_budget", p99, ResultKind.system_performance, status)]

registered by entry point (group ``grafana_proxy.applications``) or a dotted path in settings.
The controller turns results into ``AppResult`` rows, metrics into metric-series points at the window
end, and ``EndpointUpdate`` into a partial update of the endpoint record."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from grafana_proxy.model import AppResult, EndpointRecord, ResultKind, ResultStatus
from grafana_proxy.monitoring.stats import FeatureStats, window_stats
from grafana_proxy.stores.base import GroundTruthStore, Point

if TYPE_CHECKING:  # pandas is loaded with the first window that holds events (see controller.WindowReader)
    import pandas as pd


@dataclass(frozen=True)
class ResultValue:
    """A verdict (MLRun's ``ModelMonitoringApplicationResult``)."""

    name: str
    value: float
    kind: ResultKind
    status: ResultStatus
    extra_data: Mapping[str, Any] = field(default_factory=dict)

    def to_app_result(self, endpoint_uid: str, application: str, start: int, end: int) -> AppResult:
        return AppResult(
            endpoint_uid=endpoint_uid,
            application=application,
            name=self.name,
            kind=int(self.kind),
            status=int(self.status),
            value=float(self.value),
            start_infer_time=start,
            end_infer_time=end,
            extra_data=dict(self.extra_data),
        )


@dataclass(frozen=True)
class MetricValue:
    """A number worth plotting (MLRun's ``ModelMonitoringApplicationMetric``); stored as a metric series."""

    name: str
    value: float

    def to_point(self, end: int) -> Point:
        return Point(name=self.name, timestamp=end, value=float(self.value))


@dataclass(frozen=True)
class EndpointUpdate:
    """Fields to write onto the endpoint record (e.g. current_stats, drift_measures, drift_status)."""

    fields: Mapping[str, Any]


@dataclass(frozen=True)
class ArtifactValue:
    """A file to keep for the window (an HTML report, a JSON document, a PNG plot): stored in the archive
    storage with a database row, served by the api and listed by the ``list_artifacts`` target.
    ``name`` is 1 to 128 letters, digits, ``_``, ``.`` or ``-``; ``content_type`` a media type."""

    name: str
    content: bytes
    content_type: str


Output = ResultValue | MetricValue | EndpointUpdate | ArtifactValue

# Columns of an archived window that are event fields, not model inputs (grafana_proxy/archive/reader.py).
EVENT_COLUMNS = frozenset(
    {
        "timestamp",
        "request_id",
        "row",
        "latency",
        "error",
        "output",
        "prediction",
        "raw",
        "project",
        "endpoint_id",
        "date",
        "batch_id",
    }
)


class Window:
    """One window of one endpoint, shared by every application analysing it: the events are read once
    and the live feature stats computed once, on first use."""

    def __init__(
        self,
        events: pd.DataFrame,
        endpoint: EndpointRecord,
        reference_loader: Callable[[], pd.DataFrame | None] | None = None,
    ) -> None:
        self.events = events
        self.endpoint = endpoint
        self._reference_loader = reference_loader

    @cached_property
    def reference_data(self) -> pd.DataFrame | None:
        """Rows of the endpoint's training set kept by ``reference set --from-file`` (a sample of at
        most ``REFERENCE_SAMPLE_ROWS``), read once per window on first use; None when none was kept."""
        return None if self._reference_loader is None else self._reference_loader()

    @cached_property
    def feature_names(self) -> list[str]:
        """Model inputs: the endpoint's feature names present in the window, else the reader's list, else
        every column that is not an event field."""
        listed = [n for n in self.endpoint.feature_names if n in self.events.columns]
        if listed:
            return listed
        attrs = [str(n) for n in self.events.attrs.get("feature_names", []) if n in self.events.columns]
        return attrs or [str(c) for c in self.events.columns if c not in EVENT_COLUMNS]

    @cached_property
    def features(self) -> pd.DataFrame:
        return self.events[self.feature_names]

    @cached_property
    def stats(self) -> FeatureStats:
        return window_stats(self.features, self.endpoint.feature_stats)


@dataclass
class ApplicationContext:
    """What an application sees for one (endpoint, window); names follow MLRun's context."""

    project: str
    application: str
    window: Window
    start_infer_time: int
    end_infer_time: int
    params: Mapping[str, Any] = field(default_factory=dict)  # global < project (endpoint labels win)
    ground_truth: GroundTruthStore | None = None

    @property
    def endpoint(self) -> EndpointRecord:
        return self.window.endpoint

    @property
    def events(self) -> pd.DataFrame:
        """The window's raw events (MLRun's ``sample_df``)."""
        return self.window.events

    @property
    def features(self) -> pd.DataFrame:
        return self.window.features

    @property
    def feature_stats(self) -> FeatureStats:
        """Reference (training) statistics of the endpoint."""
        return self.endpoint.feature_stats

    @property
    def reference_data(self) -> pd.DataFrame | None:
        """Training rows of the endpoint, for applications that compare rows (Evidently); None if absent."""
        return self.window.reference_data

    @property
    def window_stats(self) -> FeatureStats:
        """Live statistics of the window on the reference bins (MLRun's ``sample_df_stats``)."""
        return self.window.stats

    def param(self, name: str, default: Any = None) -> Any:
        """An endpoint label named ``name`` wins over the project's and global parameters."""
        labels = self.endpoint.labels or {}
        if name in labels:
            return labels[name]
        return self.params.get(name, default)

    def float_param(self, name: str, default: float) -> float:
        raw = self.param(name, default)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"monitoring parameter {name!r} must be a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"monitoring parameter {name!r} must be finite, got {raw!r}")
        return value


class MonitoringApplication(ABC):
    """Subclass, set ``name`` and implement ``do_tracking``. Instances are created once per controller
    with no arguments and may be called for many endpoints and windows, so keep no per-window state."""

    name: ClassVar[str]
    # The parameters the application reads, name -> type (float accepts any number). When declared, a
    # project's parameters for it are checked when it is set (unknown names and wrong types are refused),
    # not at the next controller pass. None: the application takes any parameter.
    params_schema: ClassVar[Mapping[str, type] | None] = None

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the first parameter the application cannot use. Override to check
        more (ranges, combinations); call ``super().check_params`` to keep the type checks."""
        schema = cls.params_schema
        if schema is None:
            return
        for key, value in params.items():
            expected = schema.get(key)
            if expected is None:
                known = ", ".join(sorted(schema)) or "none"
                raise ValueError(f"{cls.name}: unknown parameter {key!r} (known: {known})")
            if expected is float:
                ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            else:
                ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            if not ok:
                raise ValueError(f"{cls.name}: parameter {key!r} must be {expected.__name__}, got {value!r}")

    def delay_ms(self, params: Mapping[str, Any]) -> int:
        """Extra wait after a window ends before analysing it (e.g. for ground truth to arrive)."""
        return 0

    @abstractmethod
    def do_tracking(self, context: ApplicationContext) -> Sequence[Output]:
        """Analyse one window; raise to report a failure (recorded as an error result)."""
