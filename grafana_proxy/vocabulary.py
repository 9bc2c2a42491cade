"""The names the parts of the program must agree on: series written by the stream windows, the
built-in monitoring applications, and the results they write. The ingest fold writes them, the
applications produce them, targets and dashboards ask for them; each spells them from here."""

from __future__ import annotations

# Series written by the stream windows (kind "metric"), one point per window period.
PREDICTIONS_COUNT_5M = "predictions_count_5m"
PREDICTIONS_COUNT_1H = "predictions_count_1h"
PREDICTIONS_PER_SECOND = "predictions_per_second"  # MLRun: predictions_count_5m / 300
LATENCY_AVG_5M = "latency_avg_5m"
LATENCY_AVG_1H = "latency_avg_1h"
ERROR_COUNT = "error_count"  # failed requests of the window period
ERROR_RATE = "error_rate"  # failed / all requests of the 5-minute window, 0..1
WINDOW_SERIES = (
    PREDICTIONS_COUNT_5M,
    PREDICTIONS_COUNT_1H,
    PREDICTIONS_PER_SECOND,
    LATENCY_AVG_5M,
    LATENCY_AVG_1H,
    ERROR_COUNT,
    ERROR_RATE,
)

# The built-in monitoring applications, by name.
HISTOGRAM_DATA_DRIFT = "histogram-data-drift"
SYSTEM_PERFORMANCE = "system-performance"
MODEL_PERFORMANCE = "model-performance"
DATA_QUALITY = "data-quality"
OUTLIERS = "outliers"
BUILTIN_APPLICATIONS = (HISTOGRAM_DATA_DRIFT, SYSTEM_PERFORMANCE, MODEL_PERFORMANCE, DATA_QUALITY, OUTLIERS)
# Optional (the evidently extra): not enabled by default.
EVIDENTLY_DATA_DRIFT = "evidently-data-drift"

# Results and metrics of the drift application.
GENERAL_DRIFT = "general_drift"
DRIFT_METRICS = ("tvd_mean", "hellinger_mean", "kld_mean")
# Results of the outliers application.
OUTLIER_SHARE = "outlier_share"
# What the controller records when an application raises or returns something the stores refuse.
APPLICATION_ERROR = "application_error"
