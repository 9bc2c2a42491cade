"""Every name the dashboards, the provisioning files and the `provision` command must agree on:
dashboard uids (MLRun's, so existing bookmarks keep working), datasource uids and plugin ids, the
datasource route prefix, and the metric/application names the panels ask the service for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grafana_proxy import vocabulary as v

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

# Series, application and result names the panels ask for: the service's vocabulary.
PREDICTIONS_PER_SECOND = v.PREDICTIONS_PER_SECOND
LATENCY_5M = v.LATENCY_AVG_5M
LATENCY_1H = v.LATENCY_AVG_1H
COUNT_5M = v.PREDICTIONS_COUNT_5M
COUNT_1H = v.PREDICTIONS_COUNT_1H
ERROR_COUNT = v.ERROR_COUNT
DRIFT_METRICS = v.DRIFT_METRICS
ERROR_RATE = v.ERROR_RATE
DRIFT_APP = v.HISTOGRAM_DATA_DRIFT
DRIFT_RESULT = v.GENERAL_DRIFT
MODEL_PERFORMANCE_APP = v.MODEL_PERFORMANCE
DATA_QUALITY_APP = v.DATA_QUALITY
OUTLIERS_APP = v.OUTLIERS
OUTLIER_RESULT = v.OUTLIER_SHARE
