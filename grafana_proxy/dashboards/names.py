"""Every name the dashboards, the provisioning files and the `provision` command must agree on:
dashboard uids (MLRun's, so existing bookmarks keep working), datasource uids and plugin ids, the
datasource route prefix, and the metric/application names the panels ask the service for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FlavourName = Literal["simplejson", "infinity"]
FLAVOURS: tuple[FlavourName, ...] = ("simplejson", "infinity")

# The datasource contract's route prefix (docs/TEAM-NOTES.md); Grafana's datasource URL ends with it.
ROUTE_PREFIX = "/api/grafana-proxy/model-endpoints"
KEY_HEADER = "X-V3io-Session-Key"

SCHEMA_VERSION = 39
FOLDER_TITLE = "Model monitoring"
FOLDER_UID = "model-monitoring"
ALERT_GROUP = "model-monitoring"
DS_INPUT = "DS_MODEL_MONITORING"
DS_NAME = "model-monitoring"


# What the compose stack pins and the version matrix in docs/grafana.md documents: Grafana 13.2 with
# Infinity (installed before provisioning runs), and the legacy Grafana 10.4 with SimpleJSON.
GRAFANA_VERSION = "13.2.3"
INFINITY_VERSION = "3.11.1"
LEGACY_GRAFANA_VERSION = "10.4.19"
SIMPLEJSON_VERSION = "1.4.2"


@dataclass(frozen=True)
class DatasourceKind:
    flavour: FlavourName
    plugin_id: str
    plugin_name: str
    plugin_version: str
    uid: str
    name: str


DATASOURCES: dict[FlavourName, DatasourceKind] = {
    "simplejson": DatasourceKind(
        "simplejson",
        "grafana-simple-json-datasource",
        "SimpleJson",
        "1.4.2",
        "grafana-proxy-simplejson",
        "model-monitoring (SimpleJSON)",
    ),
    "infinity": DatasourceKind(
        "infinity",
        "yesoreyeram-infinity-datasource",
        "Infinity",
        "3.0.0",
        "grafana-proxy-infinity",
        "model-monitoring (Infinity)",
    ),
}


@dataclass(frozen=True)
class DashboardId:
    uid: str
    title: str
    slug: str


OVERVIEW = DashboardId("g0M4uh0Mz", "Model Monitoring - Overview", "model-monitoring-overview")
DETAILS = DashboardId("AohIXhAMk", "Model Monitoring - Details", "model-monitoring-details")
PERFORMANCE = DashboardId("9CazA-UGz", "Model Monitoring - Performance", "model-monitoring-performance")
APPLICATIONS = DashboardId("gVrVlU7Iz", "Model Monitoring - Applications", "model-monitoring-applications")
ALL_DASHBOARDS: tuple[DashboardId, ...] = (OVERVIEW, DETAILS, PERFORMANCE, APPLICATIONS)

# Series names written by the stream windows (ingest) and the histogram-data-drift application.
PREDICTIONS_PER_SECOND = "predictions_per_second"
LATENCY_5M = "latency_avg_5m"
LATENCY_1H = "latency_avg_1h"
COUNT_5M = "predictions_count_5m"
COUNT_1H = "predictions_count_1h"
ERROR_COUNT = "error_count"
DRIFT_METRICS = ("tvd_mean", "hellinger_mean", "kld_mean")
# Written by the stream windows: failed / all requests of the 5-minute window, 0..1.
ERROR_RATE = "error_rate"
DRIFT_APP = "histogram-data-drift"
DRIFT_RESULT = "general_drift"
# The built-in model-performance application (accuracy/F1 or MAE/RMSE from ground truth).
MODEL_PERFORMANCE_APP = "model-performance"
# The built-in data-quality, outliers and Evidently applications.
DATA_QUALITY_APP = "data-quality"
OUTLIERS_APP = "outliers"
OUTLIER_RESULT = "outlier_share"
