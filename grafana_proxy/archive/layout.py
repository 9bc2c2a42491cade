"""Where the raw-event archive lives and how its files are named and typed.

Hive-style partitions ``project=<p>/endpoint_id=<uid>/date=<YYYY-MM-DD>/part-<tag>.parquet`` so
``pandas.read_parquet(<root>)`` (or pyarrow, Spark, DuckDB) sees project, endpoint_id and date as columns.
Files being written start with ``.`` which pyarrow's discovery ignores, so readers never see half files.

pyarrow is imported inside the functions that build or write tables: the serve process imports this
module through the ingest pipeline, and a server that only answers queries should not pay pyarrow's
~40 MB resident (benchmarks/RESULTS.md, M1)."""

from __future__ import annotations

import functools
import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import fsspec
import orjson
from fsspec.implementations.local import LocalFileSystem

if TYPE_CHECKING:
    import pyarrow as pa

FEATURE_PREFIX = "feature."
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


def partition_path(root: str, project: str, endpoint_uid: str, date: str) -> str:
    return f"{root}/project={project}/endpoint_id={endpoint_uid}/date={date}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value))


def _feature_array(values: Sequence[Any]) -> pa.Array:
    """Numeric (and boolean) features become float64; anything else is kept as text for categoricals."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if all(_is_number(v) or isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _prediction(output: Any) -> float | None:
    """A numeric view of a row's output: the scalar itself or the first element of a numeric list."""
    if isinstance(output, list) and output:
        output = output[0]
    if isinstance(output, bool) or not isinstance(output, int | float):
        return None
    return float(output)


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Archive rows (``timestamp`` ms, ``request_id``, ``row``, ``latency``, ``error``, ``output``, ``features``
    dict) -> an Arrow table with one ``feature.<name>`` column per feature seen."""
    import pyarrow as pa

    rows = list(rows)
    names: list[str] = []
    for row in rows:
        names.extend(n for n in row["features"] if n not in names)
    columns: list[pa.Array] = [
        pa.array([r["timestamp"] for r in rows], type=pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        pa.array([r["request_id"] for r in rows], type=pa.string()),
        pa.array([r["row"] for r in rows], type=pa.int32()),
        pa.array([r["latency"] for r in rows], type=pa.float64()),
        pa.array([r["error"] for r in rows], type=pa.string()),
        pa.array(
            [None if r["output"] is None else _json(r["output"]) for r in rows],
            type=pa.string(),
        ),
        pa.array([_prediction(r["output"]) for r in rows], type=pa.float64()),
        pa.array(
            [None if r.get("raw") is None else _json(r["raw"]) for r in rows],
            type=pa.string(),
        ),
    ]
    fields = list(base_fields())
    for name in names:
        array = _feature_array([r["features"].get(name) for r in rows])
        columns.append(array)
        fields.append(pa.field(FEATURE_PREFIX + name, array.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


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
