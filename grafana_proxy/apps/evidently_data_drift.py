"""``evidently-data-drift``: Evidently's data-drift preset on each window against the reference rows,
the example of ``EvidentlyApplication`` (needs ``pip install 'grafana-proxy[evidently]'``).

Outputs: every value of the preset as a metric (``evidently.DriftedColumnsCount.share``,
``evidently.ValueDrift.<column>``: a p-value or a distance, per Evidently's choice of test for the
column), the result ``drifted_columns_share`` (kind data_drift; detected at 0.5, Evidently's own
dataset-drift share, potential at 0.25) and the HTML report as the window's artifact."""

from __future__ import annotations

from typing import Any

from grafana_proxy.apps.evidently_base import EvidentlyApplication, EvidentlyResult
from grafana_proxy.model import ResultKind
from grafana_proxy.monitoring.applications import ApplicationContext
from grafana_proxy.vocabulary import EVIDENTLY_DATA_DRIFT


class EvidentlyDataDrift(EvidentlyApplication):
    name = EVIDENTLY_DATA_DRIFT
    results = (
        EvidentlyResult("DriftedColumnsCount", "drifted_columns_share", ResultKind.data_drift, 0.25, 0.5, key="share"),
    )

    def metrics(self, context: ApplicationContext) -> list[Any]:
        from evidently.presets import DataDriftPreset

        return [DataDriftPreset()]
