"""Endpoint records as the ingest sees them: registration on first sight, feature names, record updates."""

from __future__ import annotations

from typing import Any

from grafana_proxy.ingest.events import split_function_uri
from grafana_proxy.ingest.windows import EndpointWindows, LiveStats
from grafana_proxy.model import EndpointRecord, NormalEvent
from grafana_proxy.stores.base import EndpointStore

# Key in the record's ``metrics`` JSON: per spool, the error_count the record held before that spool's
# first event. The record's total is that base plus the spool's own count, which replays deterministically.
ERROR_BASE_KEY = "ingest_error_base"


class EndpointRegistry:
    def __init__(self, endpoints: EndpointStore, spool_id: str) -> None:
        self._endpoints = endpoints
        self._spool_id = spool_id
        self._names: dict[tuple[str, str], list[str]] = {}
        self._error_base: dict[tuple[str, str], int] = {}
        self._metrics: dict[tuple[str, str], dict[str, Any]] = {}

    def feature_names(self, event: NormalEvent) -> list[str]:
        """The names the event's values belong to, registering the endpoint on first sight. Positional
        inputs take the record's names when they fit (a client may send vectors after registering names)."""
        key = (event.project, event.endpoint_uid)
        if key not in self._names:
            self._load_or_register(event)
        known = self._names[key]
        if event.named:
            if not known and event.feature_names:
                self._endpoints.upsert(
                    event.project,
                    event.endpoint_uid,
                    {"feature_names": event.feature_names},
                )
                self._names[key] = list(event.feature_names)
            return event.feature_names
        if known and len(known) == len(event.feature_names):
            return known
        return event.feature_names

    def _load_or_register(self, event: NormalEvent) -> None:
        record = self._endpoints.get(event.project, event.endpoint_uid)
        if record is None:
            _, function, _ = split_function_uri(event.project, event.function_uri)
            model_name = event.model.partition(":")[0]
            fields: dict[str, Any] = {
                "function_uri": f"{event.project}/{event.function_uri}"
                if event.function_uri and "/" not in event.function_uri
                else event.function_uri,
                "model": event.model,
                "model_class": event.model_class,
                "feature_names": event.feature_names if event.named else [],
                "labels": event.labels,
                "metrics": {ERROR_BASE_KEY: {self._spool_id: 0}},
            }
            if function or model_name:
                fields["name"] = model_name or function
            record = self._endpoints.upsert(event.project, event.endpoint_uid, fields)
        self._remember(record)

    def _remember(self, record: EndpointRecord) -> None:
        """Cache the record's names and this spool's error base (recording the base on first contact)."""
        key = (record.project, record.uid)
        metrics = dict(record.metrics)
        bases = dict(metrics.get(ERROR_BASE_KEY) or {})
        if self._spool_id not in bases:
            bases[self._spool_id] = record.error_count
            metrics[ERROR_BASE_KEY] = bases
            self._endpoints.upsert(record.project, record.uid, {"metrics": metrics})
        self._names[key] = list(record.feature_names)
        self._error_base[key] = int(bases[self._spool_id])
        self._metrics[key] = metrics

    def forget_record(self, project: str, uid: str) -> None:
        """Read the record again before the next ``update``: another process may have written it since."""
        self._metrics.pop((project, uid), None)

    def update(self, project: str, uid: str, state: EndpointWindows, live: LiveStats | None) -> None:
        """Write totals and, when a new point was emitted, the live stats onto the record."""
        key = (project, uid)
        if key not in self._metrics:
            # Known from the snapshot but not seen since this process started: load its base first.
            record = self._endpoints.get(project, uid) or self._endpoints.upsert(project, uid, {})
            self._remember(record)
        fields: dict[str, Any] = {
            "error_count": self._error_base.get(key, 0) + state.error_count,
            "first_request": state.first_request,
            "last_request": state.last_request,
        }
        if live is not None:
            fields.update(
                predictions_per_second=live.predictions_per_second,
                predictions_count_5m=live.predictions_count_5m,
                predictions_count_1h=live.predictions_count_1h,
                latency_avg_5m=live.latency_avg_5m,
                latency_avg_1h=live.latency_avg_1h,
            )
            metrics = dict(self._metrics.get(key) or {})
            metrics["generic"] = {
                "latency_avg_5m": live.latency_avg_5m or 0,
                "latency_avg_1h": live.latency_avg_1h or 0,
                "predictions_per_second": live.predictions_per_second,
                "predictions_count_5m": live.predictions_count_5m,
                "predictions_count_1h": live.predictions_count_1h,
            }
            self._metrics[key] = metrics
            fields["metrics"] = metrics
        self._endpoints.upsert(project, uid, fields)
