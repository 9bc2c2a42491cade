"""``histogram-data-drift``: MLRun's built-in drift application, same formulas and
thresholds.

Per window: live stats on the reference bins, TVD / Hellinger / KLD per feature, their sums and means,
general drift = (tvd_mean + hellinger_mean) / 2 classified with the drift thresholds. Outputs:
- metrics ``tvd_mean``, ``hellinger_mean``, ``kld_mean``, ``missing_share_mean``,
  ``missing_share.<feature>`` and ``infinite_share_mean`` (±inf cells, counted apart like nulls); with
  extra tests, ``<test>_drift_share`` (share of drifted features among those the test could run on);
- result ``general_drift`` (kind data_drift) whose extra_data holds ``drift_status`` (MLRun's "0"/"1"/"2"),
  ``drift_measures``, and the features that could not be compared (``not_comparable``: feature ->
  reason; they never count as drift); with extra tests, one result
  ``<test>_drift`` per test (drift detected when the drifted share >= ``drift_share``, Evidently's 0.5);
- the endpoint record's ``current_stats``, ``drift_measures`` and ``drift_status``.
Each segment (``drift_segments``) yields the same metrics and results named ``<name>[<segment>]``; the
record is only updated from the whole window.

Parameters (endpoint label > project > global, see ``MonitoringConfig``): ``drift_potential`` (0.5),
``drift_detected`` (0.7), ``drift_tests``, ``drift_test_thresholds``, ``drift_share`` (0.5),
``drift_segments``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    EndpointUpdate,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
)
from grafana_proxy.monitoring.drift import (
    DriftReport,
    DriftThresholds,
    Segment,
    TestChoice,
    analyze,
    choose_tests,
    compare,
)
from grafana_proxy.vocabulary import DRIFT_METRICS, GENERAL_DRIFT, HISTOGRAM_DATA_DRIFT

RESULT = GENERAL_DRIFT
_UNSAFE = str.maketrans({";": "_", ",": "_"})  # the target grammar splits on these


def _tests(ctx: ApplicationContext) -> tuple[TestChoice, ...]:
    raw = ctx.param("drift_tests", ())
    if isinstance(raw, str):  # an endpoint label: "ks,psi"
        raw = [t.strip() for t in raw.split(",") if t.strip()]
    if all(isinstance(t, TestChoice) for t in raw):
        return tuple(raw)
    return choose_tests([str(t) for t in raw], ctx.param("drift_test_thresholds", {}))


def _segments(ctx: ApplicationContext) -> list[Segment]:
    raw: Sequence[Any] = ctx.param("drift_segments", ())
    return [s if isinstance(s, Segment) else Segment.parse(s) for s in raw]


def _name(base: str, segment: str | None) -> str:
    return base if segment is None else f"{base}[{segment.translate(_UNSAFE)}]"


def outputs_of(report: DriftReport, drift_share: float, segment: str | None = None) -> list[Output]:
    """Metrics and results of one report (the whole window, or one segment of it)."""
    out: list[Output] = []
    for metric in DRIFT_METRICS:
        value = report.aggregates.get(metric)
        if value is not None:
            out.append(MetricValue(_name(metric, segment), value))
    if report.missing_share_mean is not None:
        out.append(MetricValue(_name("missing_share_mean", segment), report.missing_share_mean))
    if report.infinite_share_mean is not None:
        out.append(MetricValue(_name("infinite_share_mean", segment), report.infinite_share_mean))
    for feature, measures in report.features.items():
        if measures["missing_share"] is not None:
            out.append(MetricValue(_name(f"missing_share.{feature}", segment), measures["missing_share"]))
    extra: dict[str, Any] = {
        "drift_status": str(int(max(report.status, ResultStatus.no_detection))),
        "drift_measures": report.drift_measures(),
        "rows": report.rows,
    }
    for key in ("unreferenced", "not_comparable"):
        if getattr(report, key):
            extra[key] = getattr(report, key)
    if segment is not None:
        extra["segment"] = segment
    if report.general_drift is None:
        extra["reason"] = "no feature of the reference has a finite value in this window"
    out.append(
        ResultValue(_name(RESULT, segment), report.general_drift or 0.0, ResultKind.data_drift, report.status, extra)
    )
    for test, share in report.test_shares.items():
        if share is None:
            continue
        out.append(MetricValue(_name(f"{test}_drift_share", segment), share))
        status = ResultStatus.detected if share >= drift_share else ResultStatus.no_detection
        out.append(
            ResultValue(
                _name(f"{test}_drift", segment), share, ResultKind.data_drift, status, {"drift_share": drift_share}
            )
        )
    return out


def record_fields(report: DriftReport) -> Mapping[str, Any]:
    """What MLRun's writer copies onto the endpoint record."""
    return {
        "current_stats": report.current_stats,
        "drift_measures": report.drift_measures(),
        "drift_status": int(report.status),
    }


class HistogramDataDrift(MonitoringApplication):
    name = HISTOGRAM_DATA_DRIFT
    params_schema: ClassVar[Mapping[str, type] | None] = {
        "drift_potential": float,
        "drift_detected": float,
        "drift_share": float,
        "drift_tests": list,
        "drift_test_thresholds": dict,
        "drift_segments": list,
    }

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        super().check_params(params)
        # One threshold alone is checked against the range only: the other comes from the project's or the
        # global settings, which may differ from the defaults.
        for key in ("drift_potential", "drift_detected"):
            if key in params and not 0 < params[key] <= 1:
                raise ValueError(f"{cls.name}: {key} must be in (0, 1], got {params[key]}")
        potential, detected = params.get("drift_potential"), params.get("drift_detected")
        if potential is not None and detected is not None and not potential < detected:
            raise ValueError(
                f"{cls.name}: need 0 < drift_potential < drift_detected <= 1 (got {potential}, {detected})"
            )
        choose_tests([str(t) for t in params.get("drift_tests", [])], params.get("drift_test_thresholds", {}))
        for raw in params.get("drift_segments", []):
            if not isinstance(raw, dict):
                raise ValueError(f"{cls.name}: each of drift_segments must be an object, got {raw!r}")
            Segment.parse(raw)

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        reference = context.feature_stats
        if not reference:
            return [
                ResultValue(
                    RESULT,
                    0.0,
                    ResultKind.data_drift,
                    ResultStatus.irrelevant,
                    {"reason": "the endpoint has no reference statistics (feature_stats)"},
                )
            ]
        thresholds = DriftThresholds(
            context.float_param("drift_potential", 0.5), context.float_param("drift_detected", 0.7)
        )
        tests = _tests(context)
        drift_share = context.float_param("drift_share", 0.5)
        report = compare(reference, context.window_stats, len(context.events), thresholds, tests)
        report.unreferenced = [n for n in context.window.feature_names if n not in reference]
        out = outputs_of(report, drift_share)
        out.append(EndpointUpdate(record_fields(report)))
        for segment in _segments(context):
            mask = segment.mask(context.events)
            if mask is None:
                out.append(
                    ResultValue(
                        _name(RESULT, segment.name),
                        0.0,
                        ResultKind.data_drift,
                        ResultStatus.irrelevant,
                        {"segment": segment.name, "reason": f"no column {segment.column!r}"},
                    )
                )
                continue
            part = analyze(context.features[mask], reference, thresholds, tests)
            out.extend(outputs_of(part, drift_share, segment.name))
        return out
