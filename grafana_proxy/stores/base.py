"""The small interfaces every store implements. Callers (targets, ingest, monitoring, CLI) depend on
these protocols only; the SQLAlchemy implementations live beside them. Values in and out are the
plain types of ``grafana_proxy.model`` (never ORM rows). All times are epoch milliseconds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from grafana_proxy.model import (
    AccessKey,
    ApplicationConfig,
    ApplicationStatus,
    AppResult,
    Artifact,
    Batch,
    DeadLetter,
    EndpointFilter,
    EndpointRecord,
    EndpointSummary,
    GroundTruth,
    ProjectMonitoring,
    SeriesData,
    SeriesKind,
    TimeRange,
    Upload,
)

Aggregation = Literal["avg", "min", "max", "sum", "count", "last"]


@dataclass(frozen=True)
class Point:
    """One raw sample of a named series."""

    name: str
    timestamp: int
    value: float


class StoreUnavailable(Exception):
    """The database cannot be reached; the API answers 503 and the caller may retry."""


class EndpointStore(Protocol):
    def upsert(self, project: str, uid: str, fields: Mapping[str, Any]) -> EndpointRecord:
        """Create the record or update the given fields only (partial update); return the result.
        Unknown field names raise ``ValueError`` naming the field."""

    def get(self, project: str, uid: str) -> EndpointRecord | None: ...

    def records(self, project: str, flt: EndpointFilter | None = None) -> list[EndpointRecord]: ...

    def summaries(self, project: str, flt: EndpointFilter | None = None) -> list[EndpointSummary]:
        """The endpoints table, fast: reads only the summary columns (10,000 rows in a few ms)."""

    def summary_rows(self, project: str, flt: EndpointFilter | None, fields: Sequence[str]) -> list[tuple[Any, ...]]:
        """``summaries`` as plain tuples of the named ``EndpointSummary`` fields, in that order: for
        tables of thousands of rows, where building one object per row costs more than the query."""

    def uids(self, project: str) -> list[str]: ...

    def projects(self) -> list[str]:
        """Every project that has at least one endpoint, sorted."""

    def delete(self, project: str, uid: str) -> bool:
        """Remove the record, its series and its results; False when it did not exist."""


class SeriesStore(Protocol):
    def write(self, project: str, endpoint_uid: str, kind: SeriesKind, points: Iterable[Point]) -> int:
        """Store raw points and update every rollup tier in one transaction; return how many points
        were new. Re-sending a point with the same (name, timestamp) is ignored (idempotent)."""

    def names(self, project: str, endpoint_uid: str | None, kind: SeriesKind) -> list[str]:
        """Series names of one endpoint (or of every endpoint of the project when None), sorted."""

    def query(
        self,
        project: str,
        endpoint_uids: Sequence[str] | None,
        kind: SeriesKind,
        names: Sequence[str] | None,
        time_range: TimeRange,
        step_ms: int,
        agg: Aggregation = "avg",
        max_points: int | None = None,
    ) -> list[SeriesData]:
        """Bucketed series: one entry per (endpoint, name) that has data in the range, buckets of at
        least ``step_ms`` (rounded up to the chosen tier's size) aligned to multiples of the step.
        Reads the coarsest tier whose bucket size is <= step_ms, so long ranges never scan raw points.
        ``None`` for uids/names means all. With ``max_points`` the step grows (by whole tier buckets)
        until no series has more than ``max_points`` buckets."""

    def latest(
        self, project: str, endpoint_uids: Sequence[str] | None, kind: SeriesKind, names: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, float]]:
        """Last (timestamp, value) per (endpoint_uid, name)."""

    def prune(self, now_ms: int) -> dict[str, int]:
        """Apply retention per tier; return deleted row counts per tier."""


class ResultStore(Protocol):
    def write(self, project: str, results: Sequence[AppResult]) -> int:
        """Store results; a result with the same (endpoint, application, name, end_infer_time) replaces
        the earlier one. Returns the number written."""

    def query(
        self,
        project: str,
        time_range: TimeRange,
        endpoint_uids: Sequence[str] | None = None,
        application: str | None = None,
        names: Sequence[str] | None = None,
        min_status: int | None = None,
    ) -> list[AppResult]:
        """Results whose end_infer_time lies in the range, ordered by end_infer_time."""

    def latest(
        self, project: str, endpoint_uids: Sequence[str] | None = None, application: str | None = None
    ) -> list[AppResult]:
        """The newest result per (endpoint, application, name)."""

    def applications(self, project: str, endpoint_uid: str | None = None) -> list[str]: ...

    def names(self, project: str, endpoint_uid: str | None = None, application: str | None = None) -> list[str]: ...


class KeyStore(Protocol):
    def create(self, name: str, projects: Sequence[str] | None, scope: str) -> tuple[AccessKey, str]:
        """Create a key; return it with its secret, which is never stored and cannot be shown again."""

    def adopt(self, secret: str, name: str, projects: Sequence[str] | None, scope: str) -> AccessKey:
        """Register a secret generated elsewhere (e.g. a provisioning bootstrap key); idempotent."""

    def verify(self, secret: str) -> AccessKey | None:
        """The live key for this secret (hash compared in constant time), or None."""

    def all(self) -> list[AccessKey]: ...

    def revoke(self, key_id: str) -> bool: ...


class GroundTruthStore(Protocol):
    """True labels posted later (``POST /api/v1/projects/{p}/ground-truth``), joined by the
    model-performance application on ``request_id``."""

    def write(self, project: str, labels: Sequence[GroundTruth]) -> int:
        """Store labels; a later label for the same (project, request_id) replaces the earlier one."""

    def get(self, project: str, request_ids: Sequence[str]) -> dict[str, GroundTruth]:
        """The labels known for these request ids (missing ones are absent from the dict)."""


class ScheduleStore(Protocol):
    """Where the monitoring controller got to: the end of the last analysed window per (application,
    endpoint), MLRun's ``monitoring_schedules.last_analyzed``."""

    def last_analyzed(self, project: str, endpoint_uid: str | None = None) -> dict[tuple[str, str], int]:
        """(application, endpoint_uid) -> end (epoch ms, exclusive) of the last analysed window (of one
        endpoint only, when given)."""

    def advance(self, project: str, application: str, endpoint_uid: str, end_ms: int) -> None:
        """Record that windows up to ``end_ms`` are done; never moves an entry backwards."""


@dataclass(frozen=True)
class Lease:
    """A unit of monitoring work held by one controller: ``token`` fences its writes (it grows at every
    claim, so a write with an older one fails), ``expires_ms`` is on the database's clock."""

    project: str
    unit: str
    holder: str
    token: int
    expires_ms: int


class LeaseStore(Protocol):
    """How several controllers share the due work (``SqlLeaseStore``). A unit is free when it has no row
    yet or its lease expired; claiming it takes it over (a dead controller's units after the expiry)."""

    def claim(self, project: str, units: Sequence[str], holder: str, limit: int, lease_ms: int) -> list[Lease]:
        """Take at most ``limit`` of the free ``units``, skipping those another controller is claiming."""

    def renew(self, lease: Lease, lease_ms: int) -> Lease | None:
        """Extend the lease; None when it was taken over (the holder must stop working on the unit)."""

    def release(self, leases: Sequence[Lease], forget: bool = False) -> None:
        """Make units free again (``forget``: remove their rows, for units that never come back)."""

    def advance(self, lease: Lease, application: str, endpoint_uid: str, end_ms: int, lease_ms: int) -> bool:
        """``ScheduleStore.advance`` and a renewal in one transaction, only while the lease is held;
        False (and nothing written) when it was taken over."""

    def finish_batch(self, lease: Lease, batch_id: str, when: int) -> bool:
        """Mark the batch analysed and remove its lease in one transaction, only while it is held."""

    def leases(self, project: str | None = None) -> list[Lease]:
        """The lease rows (held or not), for status pages and tests."""


class MonitoringStore(Protocol):
    """Per-project monitoring: a project's settings and applications, what the controller did with each
    application, and submitted batches (``SqlMonitoringStore``)."""

    def project(self, project: str) -> ProjectMonitoring | None: ...

    def projects(self) -> dict[str, ProjectMonitoring]: ...

    def put_project(self, settings: ProjectMonitoring, defaults: Sequence[ApplicationConfig] = ()) -> bool:
        """Store a project's settings; True when the project had none (``defaults`` become its applications)."""

    def applications(self, project: str) -> list[ApplicationConfig]: ...

    def application(self, project: str, name: str) -> ApplicationConfig | None: ...

    def put_application(self, config: ApplicationConfig) -> None: ...

    def delete_application(self, project: str, name: str) -> bool: ...

    def statuses(self, project: str) -> dict[str, ApplicationStatus]: ...

    def record_run(
        self,
        project: str,
        name: str,
        ran_at: int,
        windows: int,
        results: int,
        errors: int,
        last_window_end: int | None,
        last_error: str | None,
    ) -> None: ...

    def add_batch(self, batch: Batch) -> None: ...

    def batches(self, project: str, endpoint_uid: str | None = None, pending_only: bool = False) -> list[Batch]: ...

    def batch(self, project: str, batch_id: str) -> Batch | None: ...

    def pending_batches(self) -> list[int]:
        """Submission times of the batches not analysed yet, every project."""

    def mark_analysed(self, project: str, batch_id: str, when: int) -> None: ...


class UploadStore(Protocol):
    """Files staged by the api role for the ingest role (``SqlUploadStore``: the claim protocol)."""

    def add(self, upload: Upload) -> None: ...

    def get(self, project: str, upload_id: str) -> Upload | None: ...

    def claim(self, now: int, lease_ms: int) -> Upload | None:
        """The oldest waiting upload, claimed for ``lease_ms`` (its ``attempts`` is the claim's token)."""

    def renew(self, upload: Upload, now: int) -> bool:
        """Extend the claim; False when it was lost to another process."""

    def finish(self, upload: Upload, now: int, result: dict[str, Any]) -> bool: ...

    def fail(self, upload: Upload, now: int, error: str) -> bool: ...

    def prune(self, finished_before: int) -> int: ...


class ArtifactStore(Protocol):
    """Rows describing the files monitoring applications keep (``ArtifactKeeper`` writes the bytes)."""

    def put(self, artifact: Artifact) -> None:
        """Insert the row, or replace the one with the same id (the same window analysed again)."""

    def get(self, project: str, endpoint_uid: str, artifact_id: str) -> Artifact | None:
        """The artifact, only when it belongs to this project and endpoint."""

    def query(
        self,
        project: str,
        time_range: TimeRange | None = None,
        endpoint_uids: Sequence[str] | None = None,
        application: str | None = None,
        names: Sequence[str] | None = None,
    ) -> list[Artifact]:
        """Artifacts whose window ends in the range (all when None), newest first."""

    def older_than(self, cutoff_ms: int, limit: int = 1000) -> list[Artifact]:
        """Artifacts of windows that ended before ``cutoff_ms`` (the oldest first), for retention."""

    def delete(self, artifact_ids: Sequence[str]) -> int: ...

    def delete_endpoint(self, project: str, endpoint_uid: str) -> list[Artifact]:
        """Remove the rows of one endpoint; return them so their files can be removed too."""


class DeadLetterStore(Protocol):
    """What an ingest consumer and the CLI need; ``source`` tells consumers apart."""

    def add(self, source: str, position: str, payload: bytes, error: str, attempts: int) -> int:
        """Keep a record; adding the same (source, position) again keeps the first and returns its id."""

    def letters(self, source: str | None = None) -> list[DeadLetter]: ...

    def get(self, letter_id: int) -> DeadLetter | None: ...

    def request_replay(self, letter_id: int) -> bool:
        """Flag a record for its consumer to apply again; False when there is no such record."""

    def take_replays(self, source: str) -> list[DeadLetter]:
        """The flagged records of ``source``; the consumer calls ``remove`` once each is re-queued."""

    def remove(self, letter_ids: Sequence[int]) -> int: ...

    def count(self, source: str | None = None) -> int: ...


@dataclass(frozen=True)
class FoldItem:
    """One event as the stream fold counts it: its idempotency key and position (stream sequence << 20 |
    index in the message), and what it adds to its endpoint's window bucket and totals."""

    project: str
    request_id: str
    position: int
    endpoint_uid: str
    timestamp: int
    bucket_start: int
    count: int
    latency_sum: float
    latency_n: int
    errors: int


@dataclass(frozen=True)
class FoldOutcome:
    """Per item of a fold: ``fresh`` = counted by this fold (the request id's first occurrence);
    ``own`` = the id's first occurrence is at this item's position, now or in an earlier delivery of the
    same message (whose effects outside the database, such as the archive, may need redoing)."""

    fresh: list[bool]
    own: list[bool]


@dataclass(frozen=True)
class WindowMark:
    """An endpoint's emission mark and stream totals, claimed by one process for emitting."""

    project: str
    endpoint_uid: str
    emitted_until: int | None
    error_count: int
    first_request: int
    last_request: int
    version: int


BucketValues = tuple[int, float, int, int, int]  # count, latency_sum, latency_n, errors, requests


class FoldStore(Protocol):
    """The stream fold's shared state: request ids seen, window buckets and marks, written by several
    ingest processes at once."""

    def fold(self, items: Sequence[FoldItem], now_ms: int) -> FoldOutcome:
        """In one transaction: record the items' request ids and add the first occurrences to their
        buckets and endpoint totals. Safe against concurrent folds of overlapping ids (each id counts once);
        lock conflicts are retried."""

    def claim(
        self, owner: str, now_ms: int, horizon: int, period_ms: int, span_ms: int, lease_ms: int, limit: int
    ) -> list[WindowMark]:
        """Claim (for ``lease_ms``) endpoints with points due up to ``horizon`` or totals newer than their
        record, skipping those another process holds."""

    def buckets(self, project: str, endpoint_uid: str) -> dict[int, BucketValues]:
        """The endpoint's buckets by start."""

    def release(self, owner: str, mark: WindowMark, emitted_until: int | None, prune_before: int | None) -> bool:
        """Store the new mark, note the totals written, drop buckets older than ``prune_before``, end the
        claim; False when the claim was lost (expired and taken by another process)."""

    def prune(self, older_than_ms: int) -> int:
        """Forget request ids first seen before this time."""


@dataclass(frozen=True)
class Stores:
    """Everything the service reads and writes, opened from one database URL."""

    endpoints: EndpointStore
    series: SeriesStore
    results: ResultStore
    keys: KeyStore
    ground_truth: GroundTruthStore
    schedules: ScheduleStore
    artifacts: ArtifactStore

    monitoring: MonitoringStore

    dead_letters: DeadLetterStore

    folds: FoldStore
    leases: LeaseStore
    uploads: UploadStore

    def close(self) -> None:
        """Release connections; an implementation that holds some overrides this."""
