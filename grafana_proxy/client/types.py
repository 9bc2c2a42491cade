"""What the client returns: typed views of the server's JSON. Endpoint records and results use the
service's own types (``EndpointRecord``, ``AppResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grafana_proxy.model import ENDPOINT_FIELDS, EndpointRecord


def endpoint_from_json(data: dict[str, Any]) -> EndpointRecord:
    return EndpointRecord(**{k: v for k, v in data.items() if k in ENDPOINT_FIELDS})


@dataclass(frozen=True)
class MonitoringSettings:
    project: str
    enabled: bool
    base_period_minutes: float
    configured: bool  # False: the project has no settings of its own (the global ones apply)
    updated_at: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MonitoringSettings:
        return cls(
            data["project"], data["enabled"], float(data["base_period_minutes"]), data["configured"], data["updated_at"]
        )


@dataclass(frozen=True)
class Application:
    name: str
    application: str
    params: dict[str, Any]
    endpoints: list[str] | None
    configured: bool
    last_run: int | None = None
    last_window_end: int | None = None
    last_error: str | None = None
    last_error_at: int | None = None
    windows: int = 0
    results: int = 0
    errors: int = 0
    updated_at: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Application:
        counts = data.get("counts", {})
        return cls(
            name=data["name"],
            application=data["application"],
            params=dict(data.get("params") or {}),
            endpoints=data.get("endpoints"),
            configured=bool(data.get("configured")),
            last_run=data.get("last_run"),
            last_window_end=data.get("last_window_end"),
            last_error=data.get("last_error"),
            last_error_at=data.get("last_error_at"),
            windows=int(counts.get("windows", 0)),
            results=int(counts.get("results", 0)),
            errors=int(counts.get("errors", 0)),
            updated_at=data.get("updated_at"),
        )


@dataclass(frozen=True)
class BatchReport:
    """What a submitted batch became: rows stored, their time range ``[start, end)``, labels stored."""

    batch_id: str
    endpoint_id: str
    rows: int
    start: int
    end: int
    features: list[str] = field(default_factory=list)
    labels: int = 0
    files: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchReport:
        return cls(
            data["batch_id"],
            data["endpoint_id"],
            int(data["rows"]),
            int(data["start"]),
            int(data["end"]),
            list(data.get("features") or []),
            int(data.get("labels") or 0),
            int(data.get("files") or 0),
        )


@dataclass(frozen=True)
class BatchInfo:
    """A batch as the controller sees it; ``analysed_at`` is set once it analysed the batch."""

    batch_id: str
    endpoint_id: str
    start: int
    end: int
    rows: int
    submitted_at: int
    analysed_at: int | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchInfo:
        return cls(
            data["batch_id"],
            data["endpoint_id"],
            int(data["start"]),
            int(data["end"]),
            int(data["rows"]),
            int(data["submitted_at"]),
            data.get("analysed_at"),
        )


@dataclass(frozen=True)
class UploadState:
    """What became of an upload so far: ``pending``/``running``, ``done`` (``result``) or ``failed``
    (``message``: what to fix)."""

    upload_id: str
    project: str
    status: str
    status_url: str
    result: dict[str, Any] | None = None
    message: str | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadState:
        return cls(
            data["upload_id"],
            data["project"],
            data["status"],
            data["status_url"],
            data.get("result"),
            data.get("message"),
            data.get("error"),
        )
