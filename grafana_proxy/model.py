"""Plain typed values shared by every layer: endpoint records, points, results, time ranges.

Time inside the program is always UTC epoch milliseconds (``int``); parsing and formatting happen
at the edges (protocol/, api/, cli/)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class ResultKind(IntEnum):
    """MLRun's ``ResultKindApp``."""

    data_drift = 0
    concept_drift = 1
    model_performance = 2
    system_performance = 3
    mm_app_anomaly = 4


class ResultStatus(IntEnum):
    """MLRun's ``ResultStatusApp``."""

    irrelevant = -1
    no_detection = 0
    potential_detection = 1
    detected = 2


class EndpointType(IntEnum):
    """MLRun's endpoint types; routers are filtered by ``filter_router``."""

    node_ep = 1
    router = 2
    leaf_ep = 3
    batch_ep = 4


class SeriesKind(StrEnum):
    """A named numeric series of an endpoint is either a metric or an incoming feature."""

    metric = "metric"
    feature = "feature"


# Fields of an endpoint record that hold JSON (dicts or lists), never strings.
JSON_FIELDS: tuple[str, ...] = (
    "labels",
    "feature_names",
    "label_names",
    "feature_stats",
    "current_stats",
    "drift_measures",
    "metrics",
)


@dataclass
class EndpointRecord:
    """One model endpoint (MLRun's field names). ``first_request``/``last_request`` are epoch ms."""

    project: str
    uid: str
    name: str = ""
    function_uri: str = ""
    model: str = ""
    model_class: str = ""
    model_uri: str = ""
    labels: dict[str, Any] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)
    feature_stats: dict[str, Any] = field(default_factory=dict)
    current_stats: dict[str, Any] = field(default_factory=dict)
    drift_measures: dict[str, Any] = field(default_factory=dict)
    drift_status: int = int(ResultStatus.irrelevant)
    error_count: int = 0
    first_request: int | None = None
    last_request: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    endpoint_type: int = int(EndpointType.node_ep)
    active: bool = True
    monitoring_mode: str = "enabled"
    state: str = "ready"
    sampling_percentage: float = 100.0
    # Live stats written by the stream windows (MLRun keeps them on the record, too).
    predictions_per_second: float | None = None
    latency_avg_5m: float | None = None
    latency_avg_1h: float | None = None
    predictions_count_5m: float | None = None
    predictions_count_1h: float | None = None
    accuracy: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ENDPOINT_FIELDS}


ENDPOINT_FIELDS: tuple[str, ...] = tuple(EndpointRecord.__dataclass_fields__)
# Fields a client may set through the write API (project and uid come from the path).
WRITABLE_ENDPOINT_FIELDS: tuple[str, ...] = tuple(f for f in ENDPOINT_FIELDS if f not in ("project", "uid"))


@dataclass(frozen=True)
class EndpointFilter:
    """Which endpoints of a project a listing returns (``list_endpoints`` parameters)."""

    model: str | None = None
    function: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    uids: tuple[str, ...] = ()
    exclude_routers: bool = False


@dataclass(frozen=True)
class EndpointSummary:
    """The columns the endpoints table shows; read without touching the large JSON fields."""

    uid: str
    name: str
    function_uri: str
    model: str
    model_class: str
    first_request: int | None
    last_request: int | None
    accuracy: float | None
    error_count: int
    drift_status: int
    predictions_per_second: float | None
    latency_avg_1h: float | None
    latency_avg_5m: float | None
    sampling_percentage: float
    endpoint_type: int


@dataclass(frozen=True)
class TimeRange:
    """A half-open interval ``[start, end)`` in epoch milliseconds."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("time range end is before its start")

    @property
    def span(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class SeriesData:
    """One series read from the store, already bucketed: ``times`` ascending, same length as ``values``."""

    endpoint_uid: str
    name: str
    times: Sequence[int]
    values: Sequence[float | None]


@dataclass(frozen=True)
class AppResult:
    """One verdict of a monitoring application for one window of one endpoint."""

    endpoint_uid: str
    application: str
    name: str
    kind: int
    status: int
    value: float
    start_infer_time: int
    end_infer_time: int
    extra_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroundTruth:
    """The true label of an earlier inference (``request_id``), posted after the fact. ``value`` is one
    label, or a list with one label per row of a multi-row request."""

    request_id: str
    value: Any
    timestamp: int
    endpoint_uid: str | None = None


@dataclass(frozen=True)
class AccessKey:
    """An access key as stored: never the secret itself."""

    key_id: str
    name: str
    projects: tuple[str, ...] | None  # None = every project
    scope: str  # "read" or "write"
    created_at: int
    revoked_at: int | None = None

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    def allows(self, project: str) -> bool:
        return self.projects is None or project in self.projects


# A feature or label value as the events API accepts it.
Scalar = float | int | str | bool | None


@dataclass
class NormalEvent:
    """A validated event in the form the pipeline works on (and the spool stores)."""

    project: str
    endpoint_uid: str
    request_id: str
    timestamp: int
    feature_names: list[str]
    # True when the names came from the client (or named inputs), False when positional defaults.
    named: bool
    rows: list[list[Scalar]]
    outputs: list[Any]
    latency: float | None
    error: str | None
    function_uri: str = ""
    model: str = ""
    model_class: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # The request as sent when its shape was not understood (gateway only); archived as JSON text.
    raw: Any = None

    def to_json(self) -> dict[str, Any]:
        # Shallow on purpose: the values are already JSON types (dataclasses.asdict deep-copies, 10x slower).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NormalEvent:
        return cls(**data)


@dataclass(frozen=True)
class ProjectMonitoring:
    """A project's own monitoring settings (absent: the global settings apply)."""

    project: str
    enabled: bool
    base_period_minutes: float
    updated_at: int


@dataclass(frozen=True)
class ApplicationConfig:
    """A monitoring application set on a project: results are written under ``name``; ``application`` is a
    built-in name or ``package.module:Class``; ``endpoints`` None = every endpoint of the project."""

    project: str
    name: str
    application: str
    params: dict[str, Any] = field(default_factory=dict)
    endpoints: tuple[str, ...] | None = None
    updated_at: int = 0


@dataclass(frozen=True)
class ApplicationStatus:
    """What the controller did with one application of a project, over all passes."""

    name: str
    last_run: int | None = None
    last_window_end: int | None = None
    windows: int = 0
    results: int = 0
    errors: int = 0
    last_error: str | None = None
    last_error_at: int | None = None


@dataclass(frozen=True)
class Batch:
    """Rows submitted together (batch inference), analysed by the controller as one window
    ``[start_ms, end_ms)``."""

    project: str
    batch_id: str
    endpoint_uid: str
    start_ms: int
    end_ms: int
    rows: int
    submitted_at: int
    analysed_at: int | None = None


class UploadKind(StrEnum):
    """What an upload becomes: a batch of inferences, or an endpoint's training rows."""

    batch = "batch"
    reference_rows = "reference-rows"


class UploadStatus(StrEnum):
    """pending: staged, waiting for an ingest process; running: one is reading it (``claimed_at`` is its
    last sign of life); done: stored (``result``); failed: ``error`` says what to fix."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


@dataclass(frozen=True)
class Upload:
    """A file the api role accepted and staged in the archive storage (``path``, relative to its root) for
    the ingest role to read: the api never reads it with pandas or pyarrow itself. ``params`` are how to
    read it (a batch's columns and id); ``result`` and ``error`` what became of it."""

    upload_id: str
    project: str
    endpoint_uid: str
    kind: UploadKind
    fmt: str
    path: str
    size: int
    params: dict[str, Any]
    created_at: int
    status: UploadStatus = UploadStatus.pending
    attempts: int = 0
    claimed_at: int | None = None
    finished_at: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Artifact:
    """A file a monitoring application kept for one window of one endpoint (an HTML report, a JSON
    document, a PNG plot). The bytes live in the archive storage at ``path`` (relative to its root)."""

    artifact_id: str
    project: str
    endpoint_uid: str
    application: str
    name: str
    start_infer_time: int
    end_infer_time: int
    content_type: str
    size: int
    path: str
    created_at: int


@dataclass(frozen=True)
class DeadLetter:
    id: int
    source: str
    position: str
    payload: bytes
    error: str
    attempts: int
    created_at: int
    replay_requested_at: int | None
