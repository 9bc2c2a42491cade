"""Evidently inside monitoring (MLRun's ``EvidentlyModelMonitoringApplicationBase``): subclass
``EvidentlyApplication``, return Evidently presets or metrics from ``metrics()`` and list in ``results``
which metric values become results. Each window then runs an Evidently ``Report`` on the window's
feature columns against the endpoint's reference rows (kept by ``reference set --from-file``):

- every numeric value of the report becomes a metric ``evidently.<Metric>[.<column>][.<key>]``
  (e.g. ``evidently.DriftedColumnsCount.share``, ``evidently.ValueDrift.age``);
- each ``EvidentlyResult`` turns one of them into a result, its status from two thresholds
  (parameters ``<result>_potential`` / ``<result>_detected`` override the class's);
- the report's HTML becomes the artifact ``evidently-report.html`` of the window.

Evidently is an optional extra (``pip install 'grafana-proxy[evidently]'``, versions ``EVIDENTLY_RANGE``)
with heavy dependencies: it is imported when an application is created (so enabling one without the
extra is refused at start, naming the install command), never when this module is imported::

    class TargetDrift(EvidentlyApplication):
        name = "evidently-value-drift"
        results = (EvidentlyResult("ValueDrift", "age_drift", ResultKind.data_drift, 0.05, 0.1, column="age"),)

        def metrics(self, context):
            from evidently.metrics import ValueDrift
            return [ValueDrift(column="age")]
"""

from __future__ import annotations

import re
import warnings
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar

from grafana_proxy.apps._thresholds import status_of
from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    ArtifactValue,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
)

INSTALL = "pip install 'grafana-proxy[evidently]'"
EVIDENTLY_RANGE = ((0, 7, 15), (0, 8, 0))  # tested: 0.7.15 <= version < 0.8
REPORT_NAME = "evidently-report.html"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:\-]")  # the target grammar splits on ";", "," and "="
_CALL = re.compile(r"^(\w+)\((.*)\)$")  # "ValueDrift(column=a,method=K-S p_value)"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def require_evidently(application: str) -> None:
    """ValueError naming the install command when a supported Evidently cannot be imported."""
    try:
        version = metadata.version("evidently")
    except metadata.PackageNotFoundError:
        raise ValueError(
            f"monitoring application {application!r} needs Evidently, which is not installed: {INSTALL}"
        ) from None
    low, high = EVIDENTLY_RANGE
    if not low <= _version_tuple(version) < high:
        raise ValueError(
            f"monitoring application {application!r} needs Evidently >= {'.'.join(map(str, low))}, "
            f"< {'.'.join(map(str, high))} (installed: {version}): {INSTALL}"
        )
    try:
        import evidently  # noqa: F401
    except ImportError as error:
        raise ValueError(
            f"monitoring application {application!r}: Evidently {version} does not import ({error}): {INSTALL}"
        ) from None


@dataclass(frozen=True)
class EvidentlyResult:
    """One Evidently metric value as a result: the value of metric type ``metric`` (its class name),
    for ``column`` when the metric has one, item ``key`` of a dict value (e.g. ``share``). The status
    is detected at ``detected`` or above, potential at ``potential`` or above."""

    metric: str
    name: str
    kind: ResultKind
    potential: float
    detected: float
    column: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class MetricEntry:
    metric: str
    column: str | None
    key: str | None
    value: float

    @property
    def series_name(self) -> str:
        parts = ["evidently", self.metric, *(p for p in (self.column, self.key) if p is not None)]
        return _UNSAFE.sub("_", ".".join(parts))


def _identify(item: Mapping[str, Any]) -> tuple[str, str | None]:
    """(metric class name, column or None) of one snapshot entry. Evidently 0.7.23 gives a ``config``
    (``{"type": "evidently:metric_v2:ValueDrift", "column": "a"}``); 0.7.15 only a ``metric_id`` such
    as ``ValueDrift(column=a)``."""
    config = item.get("config") or {}
    if "type" in config:
        column = config.get("column")
        return str(config["type"]).rsplit(":", 1)[-1], None if column is None else str(column)
    text = str(item.get("metric_name") or item.get("metric_id") or "metric")
    found = _CALL.match(text)
    if found is None:
        return text, None
    column = re.search(r"(?:^|,)column=([^,]*)", found[2])
    return found[1], None if column is None else column[1]


def flatten(snapshot_metrics: Sequence[Mapping[str, Any]]) -> list[MetricEntry]:
    """The numeric values of a snapshot's ``dict()["metrics"]``: one entry per number (dict values give
    one per numeric key)."""
    entries: list[MetricEntry] = []
    for item in snapshot_metrics:
        metric, column = _identify(item)
        value = item.get("value")
        pairs = value.items() if isinstance(value, Mapping) else [(None, value)]
        for key, number in pairs:
            if isinstance(number, int | float) and not isinstance(number, bool):
                entries.append(MetricEntry(metric, column, None if key is None else str(key), float(number)))
    return entries


class EvidentlyApplication(MonitoringApplication):
    """Base of applications that run an Evidently report per window. Subclasses set ``name`` and
    ``results`` and implement ``metrics``."""

    results: ClassVar[tuple[EvidentlyResult, ...]] = ()

    def __init__(self) -> None:
        require_evidently(self.name)

    @abstractmethod
    def metrics(self, context: ApplicationContext) -> list[Any]:
        """Evidently presets and metrics of the report (e.g. ``[DataDriftPreset()]``)."""

    def _unjudged(self, reason: str) -> list[Output]:
        return [ResultValue(r.name, 0.0, r.kind, ResultStatus.irrelevant, {"reason": reason}) for r in self.results]

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        reference = context.reference_data
        if reference is None:
            return self._unjudged(
                "the endpoint has no reference rows; keep them with "
                "`grafana-proxy reference set --project P --endpoint UID --from-file training.csv`"
            )
        columns = [c for c in context.window.feature_names if c in reference.columns]
        if not columns:
            return self._unjudged("no feature of the window is a column of the reference rows")
        from evidently import Report

        report = Report(self.metrics(context))
        with warnings.catch_warnings():  # Evidently's statistics warn on degenerate columns; not ours to raise
            warnings.simplefilter("ignore")
            snapshot = report.run(current_data=context.features[columns], reference_data=reference[columns])
            entries = flatten(snapshot.dict().get("metrics", []))
            html = snapshot.get_html_str(as_iframe=False)
        out: list[Output] = [MetricValue(e.series_name, e.value) for e in entries]
        out += self._results(context, entries, len(columns))
        out.append(ArtifactValue(REPORT_NAME, html.encode(), "text/html; charset=utf-8"))
        return out

    def _results(self, context: ApplicationContext, entries: list[MetricEntry], columns: int) -> list[Output]:
        out: list[Output] = []
        for spec in self.results:
            found = next(
                (
                    e
                    for e in entries
                    if e.metric == spec.metric
                    and (spec.column is None or e.column == spec.column)
                    and (spec.key is None or e.key == spec.key)
                ),
                None,
            )
            if found is None:
                out.append(
                    ResultValue(
                        spec.name,
                        0.0,
                        spec.kind,
                        ResultStatus.irrelevant,
                        {"reason": f"the report has no value for {spec.metric}"},
                    )
                )
                continue
            pair = (
                context.float_param(f"{spec.name}_potential", spec.potential),
                context.float_param(f"{spec.name}_detected", spec.detected),
            )
            extra = {"metric": found.series_name, "potential": pair[0], "detected": pair[1], "columns": columns}
            out.append(ResultValue(spec.name, found.value, spec.kind, status_of(found.value, pair), extra))
        return out
