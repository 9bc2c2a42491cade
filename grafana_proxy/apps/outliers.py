"""``outliers``: the share of a window's rows that lie far outside the reference distribution, by
Tukey's far-out fences per numerical feature (``grafana_proxy.monitoring.outliers`` says why this score).

Outputs: metric ``outlier_share`` and ``outlier_share.<feature>``; result ``outlier_share`` (kind
mm_app_anomaly, MLRun's kind for anomalies an application finds: outlying rows are anomalies rather
than a shift of the whole distribution), potential at 0.01, detected at 0.05, extra_data the per-feature
shares and the fence factor.

Parameters (endpoint label > project > global): ``outlier_share_potential`` (0.01),
``outlier_share_detected`` (0.05), ``outlier_fence`` (3, the IQR multiple; 1.5 is Tukey's "outside")."""

from __future__ import annotations

from grafana_proxy.apps._thresholds import status_of, threshold_pair
from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
)
from grafana_proxy.monitoring.outliers import FENCE, find_outliers
from grafana_proxy.vocabulary import OUTLIER_SHARE, OUTLIERS

RESULT = OUTLIER_SHARE


class Outliers(MonitoringApplication):
    name = OUTLIERS

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        pair = threshold_pair(context, RESULT, 0.01, 0.05)
        fence = context.float_param("outlier_fence", FENCE)
        if fence <= 0:
            raise ValueError(f"monitoring parameter 'outlier_fence' must be positive, got {fence}")
        report = find_outliers(context.features, context.feature_stats, fence)
        if not report.features:
            reason = "no numerical reference feature with quartiles is in this window"
            return [ResultValue(RESULT, 0.0, ResultKind.mm_app_anomaly, ResultStatus.irrelevant, {"reason": reason})]
        share = report.share or 0.0
        out: list[Output] = [MetricValue(RESULT, share)]
        out += [MetricValue(f"{RESULT}.{name}", value) for name, value in report.features.items()]
        extra = {
            "features": report.features,
            "outlier_rows": report.outlier_rows,
            "rows": report.rows,
            "fence_iqr": fence,
            "potential": pair[0],
            "detected": pair[1],
        }
        out.append(ResultValue(RESULT, share, ResultKind.mm_app_anomaly, status_of(share, pair), extra))
        return out
