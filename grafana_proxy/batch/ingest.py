"""A batch of inferences (batch inference) into an endpoint's data, like served traffic: rows into the
Parquet archive (the controller's input), sampled feature values and prediction counts into the series,
labels into ground truth (joined on the rows' request ids), first/last request and feature names onto
the record. The batch is then registered for the controller, which analyses it as one window.

Rows are handled one Arrow record batch at a time, column by column, so memory stays bounded by the
chunk size whatever the file size. A batch id names its archive files and request ids, so submitting the
same batch id again replaces its rows instead of doubling them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from grafana_proxy.archive.layout import (
    BATCH_COLUMN,
    FEATURE_PREFIX,
    base_fields,
    open_root,
    partition_path,
    write_atomic,
)
from grafana_proxy.batch.reader import BadBatch, BatchFormat, chunks
from grafana_proxy.model import Batch, GroundTruth, SeriesKind
from grafana_proxy.stores.base import GroundTruthStore, MonitoringStore, Point, Stores

if TYPE_CHECKING:
    import pyarrow as pa

BUCKET_MS = 300_000  # predictions_count_5m points, as the stream windows write them
SAMPLE_MS = 60_000  # at most one feature sample per minute of event time
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class BatchSpec:
    """Which columns are what. Features default to every column that is not a prediction, the label or the
    timestamp; the timestamp column defaults to ``timestamp`` when present, else ``time`` (or now) is the
    time of every row; the label defaults to ``label`` when present."""

    predictions: tuple[str, ...] = ("prediction",)
    label: str | None = None
    timestamp: str | None = None
    time: int | None = None
    features: tuple[str, ...] | None = None


@dataclass
class BatchReport:
    batch_id: str
    endpoint_uid: str
    rows: int = 0
    start_ms: int | None = None
    end_ms: int | None = None
    features: list[str] = field(default_factory=list)
    labels: int = 0
    files: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "endpoint_id": self.endpoint_uid,
            "rows": self.rows,
            "start": self.start_ms,
            "end": self.end_ms,
            "features": self.features,
            "labels": self.labels,
            "files": self.files,
        }


@dataclass(frozen=True)
class _Columns:
    features: tuple[str, ...]
    predictions: tuple[str, ...]
    label: str | None
    timestamp: str | None


def resolve_columns(names: list[str], spec: BatchSpec) -> _Columns:
    present = set(names)
    missing = [c for c in spec.predictions if c not in present]
    if missing:
        raise BadBatch(f"prediction column(s) {', '.join(missing)} not in the batch; its columns: {', '.join(names)}")
    label = spec.label if spec.label is not None else ("label" if "label" in present else None)
    if label is not None and label not in present:
        raise BadBatch(f"label column {label!r} not in the batch; its columns: {', '.join(names)}")
    timestamp = spec.timestamp
    if timestamp is None and spec.time is None and "timestamp" in present:
        timestamp = "timestamp"
    if timestamp is not None and timestamp not in present:
        raise BadBatch(f"timestamp column {timestamp!r} not in the batch; its columns: {', '.join(names)}")
    taken = {*spec.predictions, label, timestamp}
    features = spec.features if spec.features is not None else tuple(n for n in names if n not in taken)
    unknown = [f for f in features if f not in present]
    if unknown:
        raise BadBatch(f"feature column(s) {', '.join(unknown)} not in the batch; its columns: {', '.join(names)}")
    if not features:
        raise BadBatch("the batch has no feature columns besides the prediction, label and timestamp")
    return _Columns(tuple(features), spec.predictions, label, timestamp)


def _times(chunk: pa.RecordBatch, column: str | None, default: int) -> pa.Array:
    """Epoch-ms int64 times of the rows: from a timestamp, integer (epoch ms) or ISO-text column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column is None:
        return pa.array([default] * chunk.num_rows, type=pa.int64())
    values = chunk.column(column)
    try:
        if pa.types.is_integer(values.type):
            out = values.cast(pa.int64())
        else:
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                values = pc.cast(values, pa.timestamp("ms", tz="UTC"))
            out = values.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise BadBatch(f"timestamp column {column!r}: not epoch ms, a timestamp or ISO 8601 text ({error})") from None
    if out.null_count:
        raise BadBatch(f"timestamp column {column!r} has empty values")
    return out


def _feature(values: pa.Array) -> pa.Array:
    """Numbers and booleans as float64, anything else as text (categoricals), like served features."""
    import pyarrow as pa

    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_boolean(values.type):
        return values.cast(pa.float64())
    if pa.types.is_string(values.type):
        return values
    try:
        return values.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in values.to_pylist()], type=pa.string())


def _outputs(chunk: pa.RecordBatch, columns: tuple[str, ...]) -> tuple[pa.Array, pa.Array]:
    """(output as JSON text, prediction as float64) per row."""
    import pyarrow as pa

    lists = [chunk.column(c).to_pylist() for c in columns]
    rows = lists[0] if len(lists) == 1 else [list(r) for r in zip(*lists, strict=True)]
    text = pa.array([None if v is None else orjson.dumps(v).decode() for v in rows], type=pa.string())
    first = chunk.column(columns[0])
    numeric = pa.types.is_integer(first.type) or pa.types.is_floating(first.type) or pa.types.is_boolean(first.type)
    prediction = first.cast(pa.float64()) if numeric else pa.nulls(chunk.num_rows, type=pa.float64())
    return text, prediction


class BatchWriter:
    """Writes one batch chunk by chunk; ``finish`` updates the record and registers the batch."""

    def __init__(
        self,
        stores: Stores,
        ground_truth: GroundTruthStore,
        monitoring: MonitoringStore,
        archive_url: str,
        project: str,
        uid: str,
        batch_id: str,
        spec: BatchSpec,
        now: int,
        sample_every: int = 10,
    ) -> None:
        self.stores, self.ground_truth, self.monitoring = stores, ground_truth, monitoring
        self.fs, self.root = open_root(archive_url)
        self.project, self.uid, self.spec, self.now = project, uid, spec, now
        self.sample_every = max(1, sample_every)
        self.report = BatchReport(batch_id, uid)
        self._columns: _Columns | None = None
        self._buckets: Counter[int] = Counter()
        self._chunk = 0

    def add(self, chunk: pa.RecordBatch) -> int:
        """Write one chunk; returns its row count."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if self._columns is None:
            self._columns = resolve_columns(list(chunk.schema.names), self.spec)
            self.report.features = list(self._columns.features)
        cols = self._columns
        n: int = chunk.num_rows
        if n == 0:
            return 0
        offset = self.report.rows
        times = _times(chunk, cols.timestamp, self.spec.time if self.spec.time is not None else self.now)
        ids = pa.array([f"{self.report.batch_id}-{i}" for i in range(offset, offset + n)], type=pa.string())
        output, prediction = _outputs(chunk, cols.predictions)
        features = [_feature(chunk.column(name)) for name in cols.features]
        arrays = [
            times.cast(pa.timestamp("ms", tz="UTC")),
            ids,
            pa.array([0] * n, type=pa.int32()),
            pa.nulls(n, type=pa.float64()),
            pa.nulls(n, type=pa.string()),
            output,
            prediction,
            pa.nulls(n, type=pa.string()),
            pa.array([self.report.batch_id] * n, type=pa.string()),
            *features,
        ]
        fields = [
            *base_fields(),
            pa.field(BATCH_COLUMN, pa.string()),
            *(pa.field(FEATURE_PREFIX + name, a.type) for name, a in zip(cols.features, features, strict=True)),
        ]
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        self._archive(table, times)
        low, high = pc.min_max(times).values()
        self._extend_range(int(low.as_py()), int(high.as_py()))
        self._samples(times, cols.features, features, offset)
        self._buckets.update((times.to_numpy() // BUCKET_MS).tolist())
        if cols.label is not None:
            self._labels(ids, times, chunk.column(cols.label))
        self.report.rows += n
        self._chunk += 1
        return n

    def _archive(self, table: pa.Table, times: pa.Array) -> None:
        import pyarrow.compute as pc

        days = pc.divide(times, _DAY_MS)
        numbers = pc.unique(days).to_pylist()
        for day_number in numbers:
            part = table if len(numbers) == 1 else table.filter(pc.equal(days, day_number))
            date = _date(int(day_number))
            name = f"part-batch-{self.report.batch_id}-{self._chunk:06d}.parquet"
            write_atomic(self.fs, f"{partition_path(self.root, self.project, self.uid, date)}/{name}", part)
            self.report.files += 1

    def _extend_range(self, low: int, high: int) -> None:
        r = self.report
        r.start_ms = low if r.start_ms is None else min(r.start_ms, low)
        r.end_ms = high + 1 if r.end_ms is None else max(r.end_ms, high + 1)

    def _samples(self, times: pa.Array, names: tuple[str, ...], values: list[pa.Array], offset: int) -> None:
        """Every ``sample_every``-th row's numeric features, at most one per minute of event time: a
        batch carries hours of rows at once, and the series is a view of the values, not a copy of them
        (the archive has every row)."""
        import pyarrow as pa

        first = (-offset) % self.sample_every
        picked: dict[int, tuple[int, int]] = {}  # minute -> (time, row) of its first sampled row
        for index, when in enumerate(times.to_pylist()[first :: self.sample_every]):
            picked.setdefault(int(when) // SAMPLE_MS, (int(when), first + index * self.sample_every))
        if not picked:
            return
        rows = pa.array([row for _, row in picked.values()], type=pa.int64())
        points: list[Point] = []
        when = [t for t, _ in picked.values()]
        for name, array in zip(names, values, strict=True):
            if not pa.types.is_floating(array.type):
                continue
            for t, v in zip(when, array.take(rows).to_pylist(), strict=True):
                if v is not None and v == v and abs(v) != float("inf"):
                    points.append(Point(name, t, float(v)))
        if points:
            self.stores.series.write(self.project, self.uid, SeriesKind.feature, points)

    def _labels(self, ids: pa.Array, times: pa.Array, labels: pa.Array) -> None:
        rows = [
            GroundTruth(request_id, value, when, self.uid)
            for request_id, when, value in zip(ids.to_pylist(), times.to_pylist(), labels.to_pylist(), strict=True)
            if value is not None
        ]
        self.report.labels += self.ground_truth.write(self.project, rows)

    def finish(self, record_fields: dict[str, Any] | None = None) -> BatchReport:
        """Update the endpoint record and register the batch for the controller."""
        r = self.report
        if r.rows == 0 or r.start_ms is None or r.end_ms is None or self._columns is None:
            raise BadBatch("the batch has no rows")
        points = [
            Point("predictions_count_5m", (b + 1) * BUCKET_MS, float(c)) for b, c in sorted(self._buckets.items())
        ]
        self.stores.series.write(self.project, self.uid, SeriesKind.metric, points)
        record = self.stores.endpoints.get(self.project, self.uid)
        fields: dict[str, Any] = dict(record_fields or {})
        last = r.end_ms - 1
        fields["first_request"] = (
            r.start_ms if record is None or record.first_request is None else min(record.first_request, r.start_ms)
        )
        fields["last_request"] = (
            last if record is None or record.last_request is None else max(record.last_request, last)
        )
        if record is None or not record.feature_names:
            fields["feature_names"] = list(self._columns.features)
        if self._columns.label is not None and (record is None or not record.label_names):
            fields["label_names"] = [self._columns.label]
        self.stores.endpoints.upsert(self.project, self.uid, fields)
        self.monitoring.add_batch(Batch(self.project, r.batch_id, self.uid, r.start_ms, r.end_ms, r.rows, self.now))
        return r


def _date(day_number: int) -> str:
    from grafana_proxy.archive.layout import day

    return day(day_number * _DAY_MS)


def job_endpoint(project: str, job: str, model: str | None = None) -> tuple[str, dict[str, Any]]:
    """The endpoint of a batch job submitted without one: its uid derived from the job name (and model) the
    way a served endpoint's is from its function and model, so every run of the job lands on it."""
    from grafana_proxy.ingest.events import endpoint_uid
    from grafana_proxy.model import EndpointType

    model_name = model or job
    uid = endpoint_uid(project, job, model_name)
    return uid, {
        "name": model_name,
        "function_uri": f"{project}/{job}",
        "model": model_name,
        "endpoint_type": int(EndpointType.batch_ep),
    }


def ingest_file(
    writer: BatchWriter,
    path: Path,
    fmt: BatchFormat,
    record_fields: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> BatchReport:
    """Read a batch file chunk by chunk into ``writer``; ``progress(rows)`` after each chunk."""
    for chunk in chunks(path, fmt):
        added = writer.add(chunk)
        if progress is not None:
            progress(added)
    return writer.finish(record_fields)
