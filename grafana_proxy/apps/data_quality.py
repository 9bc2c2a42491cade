"""``data-quality``: the quality of a window's inputs against the reference (training) statistics, and
its row count against the expected rate. No extra package needed.

Per window (see ``grafana_proxy.monitoring.quality`` for the definitions):
- metrics ``data_quality.<check>.<feature>`` for every check that applies to the feature;
- one result per check, the worst feature's share, with every feature's share in extra_data
  (``features``) and the features over the potential threshold (``flagged``):

  | result | kind | potential | detected |
  |---|---|---|---|
  | ``missing_share`` | data_drift | 0.05 | 0.2 |
  | ``wrong_type_share`` | data_drift | 0.01 | 0.05 |
  | ``out_of_range_share`` | data_drift | 0.05 | 0.2 |
  | ``unseen_category_share`` | data_drift | 0.05 | 0.2 |
  | ``row_count`` | system_performance | ratio 2 | ratio 5 |

  MLRun's result kinds have no data-quality kind; problems of the model's inputs are closest to
  ``data_drift`` (MLRun raises ``data_drift_suspected``/``_detected`` alerts on them), and a traffic
  volume off the expected rate to ``system_performance``.
- ``row_count``: value = rows of the window; the status compares it with ``expected_rows_per_second`` x
  the window length, by the ratio ``max(rows/expected, expected/rows)`` (an empty expectation: status
  irrelevant). Windows with no rows at all are never analysed, so a stopped endpoint shows as missing
  results, not as a row count of 0.

Parameters (endpoint label > project > global): ``<result>_potential`` / ``<result>_detected`` for each
result above (``row_count_potential`` 2, ``row_count_detected`` 5), ``expected_rows_per_second``."""

from __future__ import annotations

from typing import Any

from grafana_proxy.apps._thresholds import status_of, threshold_pair
from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
)
from grafana_proxy.monitoring.quality import CHECKS, QualityReport, check_quality
from grafana_proxy.vocabulary import DATA_QUALITY

DEFAULTS: dict[str, tuple[float, float]] = {
    "missing_share": (0.05, 0.2),
    "wrong_type_share": (0.01, 0.05),
    "out_of_range_share": (0.05, 0.2),
    "unseen_category_share": (0.05, 0.2),
}
ROW_COUNT_DEFAULTS = (2.0, 5.0)


def check_results(ctx: ApplicationContext, report: QualityReport) -> list[Output]:
    out: list[Output] = []
    for check in CHECKS:
        shares = {name: getattr(q, check) for name, q in report.features.items()}
        for name, share in shares.items():
            if share is not None:
                out.append(MetricValue(f"data_quality.{check}.{name}", share))
        pair = threshold_pair(ctx, check, *DEFAULTS[check])
        worst, value = report.worst(check)
        extra: dict[str, Any] = {
            "features": {n: s for n, s in shares.items() if s is not None},
            "potential": pair[0],
            "detected": pair[1],
            "rows": report.rows,
        }
        if worst is not None:
            extra["worst_feature"] = worst
            extra["flagged"] = sorted(n for n, s in shares.items() if s is not None and s >= pair[0])
        else:
            extra["reason"] = "no feature of the reference can be checked this way"
        if check == "missing_share" and report.absent:
            extra["absent_features"] = report.absent
        out.append(ResultValue(check, value or 0.0, ResultKind.data_drift, status_of(value, pair), extra))
    return out


def row_count_result(ctx: ApplicationContext, rows: int) -> ResultValue:
    pair = threshold_pair(ctx, "row_count", *ROW_COUNT_DEFAULTS)
    rate = ctx.float_param("expected_rows_per_second", 0.0)
    seconds = (ctx.end_infer_time - ctx.start_infer_time) / 1000
    extra: dict[str, Any] = {"potential_ratio": pair[0], "detected_ratio": pair[1]}
    if rate <= 0:
        extra["reason"] = "no expected_rows_per_second parameter"
        return ResultValue("row_count", float(rows), ResultKind.system_performance, ResultStatus.irrelevant, extra)
    expected = rate * seconds
    ratio = max(rows / expected, expected / rows) if rows else float("inf")
    extra.update(expected_rows=expected, ratio=ratio if rows else None)
    status = status_of(ratio, pair) if rows else ResultStatus.detected
    return ResultValue("row_count", float(rows), ResultKind.system_performance, status, extra)


class DataQuality(MonitoringApplication):
    name = DATA_QUALITY

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        rows = len(context.events)
        out: list[Output] = [row_count_result(context, rows)]
        reference = context.feature_stats
        if not reference:
            reason = {"reason": "the endpoint has no reference statistics (feature_stats)"}
            return [
                *out,
                *(ResultValue(c, 0.0, ResultKind.data_drift, ResultStatus.irrelevant, reason) for c in CHECKS),
            ]
        return out + check_results(context, check_quality(context.features, reference))
