"""Where the raw-event archive lives and how its files are named and typed.

Hive-style partitions ``project=<p>/endpoint_id=<uid>/date=<YYYY-MM-DD>/part-<tag>.parquet`` so
``pandas.read_parquet(<root>)`` (or pyarrow, Spark, DuckDB) sees project, endpoint_id and date as columns.
Files being written start with ``.`` which pyarrow's discovery ignores, so readers never see half files.

pyarrow is imported inside the functions that build or write tables: the controller imports this
module to list archived days, and a process that only lists should not pay pyarrow's ~40 MB resident
(benchmarks/RESULTS.md, M1)."""

from __future__ import annotations

import functools
import math
import os
import posixpath
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import fsspec
import orjson
from fsspec.implementations.local import LocalFileSystem

from grafana_proxy.identifiers import problem

if TYPE_CHECKING:
    import pyarrow as pa

FEATURE_PREFIX = "feature."
# Column naming the batch of rows submitted as a batch (grafana_proxy.batch); served traffic has none. The
# controller analyses a batch's rows as that batch's window and leaves them out of the period windows.
BATCH_COLUMN = "batch_id"
# Key in a compacted file's Parquet metadata listing the files it replaces (see compact.py).
REPLACES_KEY = b"grafana_proxy.replaces"

# The columns every archive file has, in order, before the ``feature.<name>`` columns (types: base_fields).
BASE_COLUMNS: tuple[str, ...] = ("timestamp", "request_id", "row", "latency", "error", "output", "prediction", "raw")


@functools.cache
def base_fields() -> tuple[pa.Field, ...]:
    """The Arrow fields of ``BASE_COLUMNS``."""
    import pyarrow as pa

    return (
        pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
        pa.field("request_id", pa.string()),
        pa.field("row", pa.int32()),
        pa.field("latency", pa.float64()),
        pa.field("error", pa.string()),
        pa.field("output", pa.string()),
        pa.field("prediction", pa.float64()),
        pa.field("raw", pa.string()),
    )


def open_root(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """Any fsspec URL (``/path``, ``file://``, ``s3://bucket/prefix``, ``memory://``) -> (filesystem, root)."""
    fs, root = fsspec.core.url_to_fs(url)
    return fs, str(root).rstrip("/")


@functools.lru_cache(maxsize=64)
def _day_of(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86_400, tz=UTC).strftime("%Y-%m-%d")


def day(timestamp_ms: int) -> str:
    """The UTC date partition of a time (cached per day: this runs once per archived event)."""
    return _day_of(timestamp_ms // 86_400_000)


class UnsafePath(ValueError):
    """An archive path that would not name a partition directory inside the archive root."""


def partition_path(root: str, project: str, endpoint_uid: str, date: str) -> str:
    """The partition directory, built only from valid identifiers and checked to stay inside ``root``
    (the identifier rule already excludes ``/`` and a leading ``.``; this is the second line)."""
    for reason in (problem("project", project), problem("endpoint_id", endpoint_uid)):
        if reason is not None:
            raise UnsafePath(f"archive partition refused: {reason}")
    relative = f"project={project}/endpoint_id={endpoint_uid}/date={date}"
    parts = relative.split("/")
    if posixpath.normpath(relative) != relative or len(parts) != 3 or any(p.startswith(".") for p in parts):
        raise UnsafePath(f"archive partition {relative!r} would not stay inside the archive root {root!r}")
    return f"{root}/{relative}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value))


def _feature_array(values: Sequence[Any]) -> pa.Array:
    """Numeric (and boolean) features become float64; anything else is kept as text for categoricals."""
    from grafana_proxy.archive.arrow import float_array, string_array

    present = [v for v in values if v is not None]
    if all(_is_number(v) or isinstance(v, bool) for v in present):
        return float_array([None if v is None else float(v) for v in values])
    return string_array([None if v is None else str(v) for v in values])


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _prediction(output: Any) -> float | None:
    """A numeric view of a row's output: the scalar itself or the first element of a numeric list."""
    if isinstance(output, list) and output:
        output = output[0]
    if isinstance(output, bool) or not isinstance(output, int | float):
        return None
    return float(output)


class ArchiveColumns:
    """Archive rows held column by column until they are written: one list per column instead of a dict per
    row (a buffer of 10,000 rows or more costs about a third of the memory). Feature columns are padded
    with None so every column has one value per row."""

    def __init__(self) -> None:
        self.timestamp: list[int] = []
        self.request_id: list[str] = []
        self.row: list[int] = []
        self.latency: list[float | None] = []
        self.error: list[str | None] = []
        self.output: list[Any] = []
        self.raw: list[Any] = []
        self.features: dict[str, list[Any]] = {}  # in order of first appearance

    def __len__(self) -> int:
        return len(self.timestamp)

    def append(
        self,
        timestamp: int,
        request_id: str,
        row: int,
        latency: float | None,
        error: str | None,
        output: Any,
        raw: Any,
        features: Mapping[str, Any],
    ) -> None:
        count = len(self.timestamp)
        self.timestamp.append(timestamp)
        self.request_id.append(request_id)
        self.row.append(row)
        self.latency.append(latency)
        self.error.append(error)
        self.output.append(output)
        self.raw.append(raw)
        if features.keys() == self.features.keys():  # the usual case: the same features as the rows before
            for name, value in features.items():
                self.features[name].append(value)
            return
        for name, value in features.items():
            column = self.features.get(name)
            if column is None:
                column = self.features[name] = [None] * count
            column.append(value)
        for column in self.features.values():
            if len(column) == count:  # a feature this row does not have
                column.append(None)


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Archive rows (``timestamp`` ms, ``request_id``, ``row``, ``latency``, ``error``, ``output``, ``features``
    dict, optional ``raw``) -> an Arrow table with one ``feature.<name>`` column per feature seen."""
    columns = ArchiveColumns()
    for r in rows:
        columns.append(
            r["timestamp"],
            r["request_id"],
            r["row"],
            r["latency"],
            r["error"],
            r["output"],
            r.get("raw"),
            r["features"],
        )
    return columns_to_table(columns)


def columns_to_table(columns: ArchiveColumns) -> pa.Table:
    """The Arrow table of buffered archive rows."""
    import numpy as np
    import pyarrow as pa

    from grafana_proxy.archive.arrow import float_array, int_array, string_array

    arrays: list[pa.Array] = [
        int_array(columns.timestamp, np.int64, pa.timestamp("ms", tz="UTC")),
        string_array(columns.request_id),
        int_array(columns.row, np.int32, pa.int32()),
        float_array(columns.latency),
        string_array(columns.error),
        string_array([None if o is None else _json(o) for o in columns.output]),
        float_array([_prediction(o) for o in columns.output]),
        string_array([None if r is None else _json(r) for r in columns.raw]),
    ]
    fields = list(base_fields())
    for name, values in columns.features.items():
        array = _feature_array(values)
        arrays.append(array)
        fields.append(pa.field(FEATURE_PREFIX + name, array.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_atomic(
    fs: fsspec.AbstractFileSystem,
    path: str,
    table: pa.Table,
    metadata: dict[bytes, bytes] | None = None,
) -> None:
    """Write to a hidden temporary name in the same directory, then rename: a reader sees all or nothing.
    (On object stores a PUT is already atomic; the rename there is a copy of a complete object.)"""
    import pyarrow.parquet as pq

    directory, _, name = path.rpartition("/")
    fs.makedirs(directory, exist_ok=True)
    tmp = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    if isinstance(fs, LocalFileSystem):
        # Local disk: fsync before the rename so the spool can be dropped safely even across power loss.
        with open(tmp, "wb") as local:
            pq.write_table(table, local, compression="zstd")
            local.flush()
            os.fsync(local.fileno())
        os.replace(tmp, path)
        return
    with fs.open(tmp, "wb") as f:
        pq.write_table(table, f, compression="zstd")
    fs.mv(tmp, path)
